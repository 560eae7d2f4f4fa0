"""The embedded model answers the same prompt the same way, and nothing outside the process
can call it: no prompt cache between prompts, no TCP listener, a bounded thread count."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from evalbook.cli.app import main
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError
from evalbook.providers import GenerateRequest, create_provider
from evalbook.providers.local import LocalProvider, _Loaded, thread_count
from evalbook.storage.store import Store

from ..conftest import model_home

QUICKSTART = Path(__file__).parents[2] / "src" / "evalbook" / "quickstart" / "suite.yaml"

# A long shared few-shot prefix: the case where llama.cpp's prompt cache would reuse the
# previous prompt's states and change the next answer.
_PREFIX = "".join(
    f"Question: What is {a} + {b}?\nAnswer: {a + b}\n\n" for a, b in [(3, 4), (10, 5), (7, 7)]
)
QUESTIONS = [
    "What is 12 + 30?",
    "What is the capital of Italy?",
    "What is 6 + 9?",
    "Name a primary colour.",
    "What is 100 + 1?",
]


def _ask_all(questions: list[str]) -> dict[str, str]:
    async def go() -> dict[str, str]:
        config = ModelConfig(provider="local", name="smollm2-135m", max_tokens=12, temperature=0)
        provider = create_provider(config)
        answers = {}
        for q in questions:
            request = GenerateRequest(
                messages=[Message(role="user", content=f"{_PREFIX}Question: {q}\nAnswer:")],
                config=config,
            )
            answers[q] = (await provider.generate(request)).text
        await provider.aclose()
        return answers

    return asyncio.run(go())


def test_thread_count_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALBOOK_LOCAL_THREADS", raising=False)
    assert 1 <= thread_count() <= 4
    assert thread_count() <= max(1, (os.cpu_count() or 2) // 2)
    monkeypatch.setenv("EVALBOOK_LOCAL_THREADS", "3")
    assert thread_count() == 3
    for bad in ("0", "-2", "two"):
        monkeypatch.setenv("EVALBOOK_LOCAL_THREADS", bad)
        with pytest.raises(ConfigError, match="EVALBOOK_LOCAL_THREADS"):
            thread_count()


class _Recorder:
    def __init__(self) -> None:
        self.payloads: list[dict[str, object]] = []

    def handle_chat_completions(self, payload: dict[str, object]) -> object:
        self.payloads.append(payload)
        return {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}


@pytest.mark.parametrize(("params", "sent"), [({}, False), ({"cache_prompt": True}, True)])
async def test_the_prompt_cache_is_off_unless_asked_for(
    tmp_path: Path, params: dict[str, object], sent: bool
) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF")
    provider = create_provider(ModelConfig(provider="local", name=str(fake), params=params))
    assert isinstance(provider, LocalProvider)
    server = _Recorder()
    provider._model = _Loaded(server=server, lock=threading.Lock(), threads=2)
    request = GenerateRequest(messages=[Message(role="user", content="hi")], config=provider.config)
    reply = await provider.generate(request)
    assert server.payloads[0]["cache_prompt"] is sent
    assert reply.system_fingerprint is not None
    assert "threads=2" in reply.system_fingerprint


_PROBE = """
import asyncio, json, os, sys
from evalbook.core.model_config import ModelConfig
from evalbook.providers import create_provider

def inodes(kind):
    rows = []
    for name in (f"/proc/net/{kind}", f"/proc/net/{kind}6"):
        if os.path.exists(name):
            rows += open(name).read().splitlines()[1:]
    return rows

def own_sockets():
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(link[8:-1])
    return out

async def main():
    provider = create_provider(ModelConfig(provider="local", name="smollm2-135m"))
    await provider.start()
    mine = own_sockets()
    listening = {r.split()[9] for r in inodes("tcp") if r.split()[3] == "0A"}
    unix = [r.split() for r in inodes("unix")]
    paths = [r[7] for r in unix if len(r) > 7 and r[6] in mine]
    print(json.dumps({"tcp_listeners": sorted(mine & listening), "unix_paths": paths}))

asyncio.run(main())
"""


@pytest.mark.model
@pytest.mark.slow
def test_the_model_is_reachable_from_this_process_only(tmp_path: Path) -> None:
    env = {**os.environ, "EVALBOOK_HOME": str(model_home())}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["tcp_listeners"] == []  # llama.cpp's listener is not on a TCP port
    (path,) = [p for p in seen["unix_paths"] if p.endswith("llama.sock")]
    # The socket's directory was private (0700) and is removed when the process exits.
    assert "evalbook-llama-" in path
    assert not Path(path).parent.exists()


@pytest.mark.model
@pytest.mark.slow
def test_answers_do_not_depend_on_what_ran_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(model_home()))
    forward = _ask_all(QUESTIONS)
    backward = _ask_all(list(reversed(QUESTIONS)))
    assert backward == forward
    # A fresh process gives the same answers.
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.providers.test_local_determinism import QUESTIONS, _ask_all;"
        "print(json.dumps(_ask_all(QUESTIONS)))"
    )
    root = str(Path(__file__).parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", script, root],
        capture_output=True,
        text=True,
        env={**os.environ, "EVALBOOK_HOME": str(model_home())},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == forward


def test_the_private_socket_directory_is_0700() -> None:
    from evalbook.providers.local import _private_socket

    path = Path(_private_socket())
    try:
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert not path.exists()  # llama.cpp creates the socket itself
    finally:
        path.parent.rmdir()


@pytest.mark.model
@pytest.mark.slow
def test_noise_on_the_embedded_model_is_zero_at_temperature_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One database is enough: this is about the model, not the storage.
    url = f"sqlite:///{tmp_path / 'noise.db'}"
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", url)
    monkeypatch.setenv("EVALBOOK_HOME", str(model_home()))
    with pytest.raises(SystemExit) as exc:
        main(["noise", str(QUICKSTART), "--runs", "2", "--json"])
    out = capsys.readouterr()
    assert exc.value.code in (0, None), out.err
    estimate = json.loads(out.out)
    assert estimate["metrics"], estimate
    for key, metric in estimate["metrics"].items():
        assert metric["sd"] == 0.0, (key, metric)
        assert metric["floor"] == 0.0
    store = Store.open(url)
    try:
        first, second = (
            {r.case_id: r.output for r in store.iter_results(run_id)} for run_id in estimate["runs"]
        )
    finally:
        store.close()
    assert len(first) == 18
    assert first == second  # the same answers, not only the same scores
