"""Optional extras: evalbook imports and runs without them, and the place that needs one
says the pip command that installs it. Each case runs in a fresh interpreter where the
extra's packages cannot be imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

BLOCK = "import sys\nfor name in {blocked!r}:\n    sys.modules[name] = None\n"


def _python(blocked: list[str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=blocked) + code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "ANTHROPIC_API_KEY": "sk-test", "COLUMNS": "200"},
    )


@pytest.mark.parametrize("command", ["serve", "view"])
def test_the_server_commands_name_the_server_extra(command: str) -> None:
    done = _python(
        ["fastapi", "uvicorn", "starlette"],
        f"from evalbook.cli.app import main\nmain([{command!r}])\n",
    )
    assert done.returncode == 1, done.stderr
    assert "pip install 'evalbook[server]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cli_and_the_library_work_without_the_server() -> None:
    done = _python(
        ["fastapi", "uvicorn", "starlette", "anthropic", "redis"],
        "import evalbook\n"
        "from evalbook.cli.app import main\n"
        "assert evalbook.load_suite and evalbook.run\n"
        "main(['--help'])\n",
    )
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout


def test_the_anthropic_provider_names_its_extra() -> None:
    done = _python(
        ["anthropic"],
        "import asyncio\n"
        "from evalbook.core.model_config import ModelConfig\n"
        "from evalbook.errors import MissingExtraError\n"
        "from evalbook.providers.registry import create_provider\n"
        "provider = create_provider(ModelConfig(provider='anthropic', name='claude'))\n"
        "try:\n"
        "    asyncio.run(provider.start())\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "provider 'anthropic' needs the 'anthropic' extra" in done.stdout
    assert "pip install 'evalbook[anthropic]'" in done.stdout


def test_the_redis_cache_names_its_extra() -> None:
    done = _python(
        ["redis"],
        "from evalbook.errors import MissingExtraError\n"
        "from evalbook.storage.redis_cache import RedisCache\n"
        "try:\n"
        "    RedisCache('redis://127.0.0.1:6379/0')\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'evalbook[redis]'" in done.stdout
