"""The sandbox contains what model-written code does: hangs, memory, forks, network,
secrets and files. Each test that depends on a layer runs with and without namespaces."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from evalbook.scorers.sandbox.runner import (
    SandboxLimits,
    SandboxStatus,
    max_concurrency,
    run_python,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux")

NAMESPACES = pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "plain"])


def marked_pids(marker: str) -> list[int]:
    """Processes whose command line or environment holds ``marker`` (found in /proc, so
    also those in a PID namespace or a session of their own)."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        for part in ("cmdline", "environ"):
            try:
                if needle in Path(f"/proc/{entry}/{part}").read_bytes():
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return found


async def wait_for_pids(marker: str, count: int, timeout_s: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pids = marked_pids(marker)
        if len(pids) >= count:
            return pids
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} processes marked {marker} never appeared")


def unshare_works() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


async def test_isolation_is_detected_and_recorded() -> None:
    result = await run_python("print('hello')")
    assert result.status is SandboxStatus.passed and result.passed
    assert result.stdout == "hello\n" and result.exit_code == 0
    assert ("net-ns" in result.isolation) is unshare_works()
    assert {"rlimits", "socket-guard"} <= set(result.isolation)
    plain = await run_python("pass", namespaces=False)
    assert not any(layer.endswith("-ns") for layer in plain.isolation)
    assert max_concurrency() >= 1


@NAMESPACES
async def test_failures_are_told_apart(namespaces: bool) -> None:
    failed = await run_python("assert 1 + 1 == 3, 'arithmetic'", namespaces=namespaces)
    assert failed.status is SandboxStatus.failed
    assert failed.detail == "AssertionError: arithmetic" and "Traceback" in failed.stderr
    # Leaving before the end is never a pass, even with status 0.
    early = await run_python("import os\nos._exit(0)\nassert False", namespaces=namespaces)
    assert early.status is SandboxStatus.failed and early.exit_code == 0
    exited = await run_python("import sys\nsys.exit(0)", namespaces=namespaces)
    assert exited.status is SandboxStatus.failed and "exit(0)" in exited.detail
    syntax = await run_python("def f(:\n  pass", namespaces=namespaces)
    assert syntax.status is SandboxStatus.failed and "SyntaxError" in syntax.detail


SPAWN_AND_HANG = """
import subprocess, time
env = {{"EVALBOOK_TEST_MARKER": "{marker}"}}
subprocess.Popen(["sleep", "1000"], env=env)
subprocess.Popen(["sleep", "1000"], env=env, start_new_session=True)  # tries to escape
while True:
    pass
"""


@NAMESPACES
async def test_timeout_kills_the_whole_process_tree(namespaces: bool) -> None:
    marker = f"evalbook-{uuid.uuid4().hex}"
    limits = SandboxLimits(timeout_s=1.5)
    task = asyncio.create_task(
        run_python(SPAWN_AND_HANG.format(marker=marker), limits, namespaces=namespaces)
    )
    await wait_for_pids(marker, 2)  # both grandchildren were running
    result = await task
    assert result.status is SandboxStatus.timeout
    assert result.detail == "timed out after 1.5 s"
    assert 1.5 <= result.duration_s < 1.5 + 1.0
    layers = set(result.isolation)
    if layers & {"pid-ns", "pids-cgroup"}:
        assert marked_pids(marker) == []  # even the one in a session of its own
    else:  # pragma: no cover - no PID namespace and not root: only the process group
        leftover = marked_pids(marker)
        assert len(leftover) <= 1
        for pid in leftover:
            os.kill(pid, 9)


async def test_cancelling_a_run_kills_it() -> None:
    marker = f"evalbook-{uuid.uuid4().hex}"
    code = f"import subprocess\nsubprocess.run(['sleep', '1000'], env={{'M': '{marker}'}})"
    task = asyncio.create_task(run_python(code))
    await wait_for_pids(marker, 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert marked_pids(marker) == []


@NAMESPACES
async def test_memory_limit_stops_the_child_not_the_runner(namespaces: bool) -> None:
    code = "blob = bytearray(2 * 1024 ** 3)\nprint(len(blob))"
    limits = SandboxLimits(memory_mb=256)
    result = await run_python(code, limits, namespaces=namespaces)
    assert result.status is SandboxStatus.memory
    assert result.detail == "ran out of memory (limit 256 MB)"
    assert len(bytearray(64 * 1024**2)) > 0  # the runner's own memory is untouched
    assert (await run_python("print(2 ** 10)", namespaces=namespaces)).stdout == "1024\n"


FORK_BOMB = """
import os, sys
print(sys.argv[1], flush=True)  # the sandbox's nonce, on every process's command line
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


@NAMESPACES
async def test_fork_bomb_is_contained(namespaces: bool) -> None:
    probe = await run_python("pass", namespaces=namespaces)
    if not set(probe.isolation) & {"pids-cgroup", "nproc"}:
        pytest.skip("no process cap on this system; a fork bomb would not be contained")
    limits = SandboxLimits(timeout_s=1.5, max_processes=16)
    result = await run_python(FORK_BOMB, limits, namespaces=namespaces)
    assert result.status is SandboxStatus.timeout
    assert result.duration_s < 1.5 + 1.5
    nonce = result.stdout.split()[0]
    assert marked_pids(nonce) == []
    assert (await run_python("print('still fine')")).passed


@NAMESPACES
async def test_network_is_refused(namespaces: bool) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.setblocking(False)
        port = server.getsockname()[1]
        code = f"""
import _socket, socket, subprocess, sys
def attempt(name, fn):
    try:
        fn()
        print(name, "connected")
    except OSError as exc:
        print(name, "refused", exc)
attempt("socket", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2))
attempt("_socket", lambda: _socket.socket().connect(("127.0.0.1", {port})))
attempt("dns", lambda: socket.getaddrinfo("example.com", 80))
# A fresh interpreter has no Python-level guard: only a network namespace stops it.
probe = "import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
child = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True)
print("grandchild", "connected" if child.returncode == 0 else "refused")
"""
        result = await run_python(code, namespaces=namespaces)
        lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
        assert result.passed, result.stderr
        assert all(lines[name].startswith("refused") for name in ("socket", "_socket", "dns"))
        assert "network access is disabled" in lines["socket"]
        if "net-ns" in result.isolation:
            assert lines["grandchild"] == "refused"
            with pytest.raises(BlockingIOError):
                server.accept()  # nothing ever reached the listener
        else:  # the documented limit of the Python-level guard
            assert lines["grandchild"] == "connected"


@NAMESPACES
async def test_parent_secrets_are_not_visible(
    namespaces: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-evalbook-test-secret")
    code = "import json, os\nprint(json.dumps(dict(os.environ)))"
    result = await run_python(code, namespaces=namespaces)
    env = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in env and "sk-evalbook-test-secret" not in result.stdout
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"}


@NAMESPACES
async def test_work_directory_is_fresh_and_removed(namespaces: bool) -> None:
    code = """
import json, os
print(os.getcwd())
print(json.dumps(sorted(os.listdir("."))))
os.makedirs("locked/inner")
open("locked/inner/data.txt", "w").write("x" * 1000)
os.chmod("locked/inner", 0o500)
os.chmod("locked", 0o500)
"""
    result = await run_python(code, namespaces=namespaces)
    assert result.passed, result.stderr
    workdir, listing = result.stdout.splitlines()
    names = [n for n in json.loads(listing) if not n.startswith(".evalbook-")]  # markers
    assert names == ["bootstrap.py", "program.py"]
    assert workdir != os.getcwd() and not Path(workdir).exists()


async def test_files_outside_the_work_directory_are_read_only(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    code = f"""
for path in ({str(victim)!r}, {str(tmp_path / "new.txt")!r}, "/proc/sys/kernel/hostname"):
    try:
        open(path, "w").write("gone")
        print("wrote")
    except OSError as exc:
        print("refused", exc.errno)
status = open("/proc/self/status").read()
print(status.split("CapEff:")[1].split()[0])  # no capabilities: it cannot remount
"""
    result = await run_python(code)
    if "read-only-fs" not in result.isolation:
        pytest.skip("no mount namespace here: files are protected by permissions only")
    assert result.stdout.splitlines() == ["refused 30"] * 3 + ["0000000000000000"]
    assert victim.read_text() == "keep" and not (tmp_path / "new.txt").exists()


async def test_output_and_file_size_are_capped() -> None:
    limits = SandboxLimits(max_output_bytes=4096, max_file_mb=1)
    result = await run_python("print('x' * 1_000_000)\nprint('END')", limits)
    assert result.passed and result.truncated
    assert len(result.stdout) < 4096 + 100 and result.stdout.endswith("END\n")
    big = await run_python("open('big', 'wb').write(b'0' * 2 * 1024 * 1024)", limits)
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing it.
    assert big.status is SandboxStatus.failed and "File too large" in big.detail


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="out of range"):
        SandboxLimits(timeout_s=0)
