"""Run untrusted Python (model-written code and its tests) in a sandboxed child process.

Why a subprocess with limits rather than ``exec`` in the runner: model code hangs, eats
memory, forks, deletes files and phones home, and one such answer must cost one score,
never the run. Each call gets a fresh temporary directory (removed afterwards) and a
child ``python -I -S`` (no site-packages, no ``PYTHON*`` variables: standard library
only) started with:

- resource limits: address space (``memory_mb``), CPU seconds, file size, open files,
  no core dumps, and a process cap (``RLIMIT_NPROC``, or a ``pids`` cgroup as root);
- its own session, so a timeout kills the whole process group (``SIGKILL``);
- a wall-clock timeout, a minimal environment (no API keys or other secrets of the
  parent), stdin closed and output captured up to a cap;
- a Python-level network guard (an audit hook and patched ``socket`` names). This is
  not a kernel boundary: ``ctypes`` or a non-Python subprocess gets past it.

Where the system allows unprivileged user namespaces (probed at run time), the child
also runs under ``unshare`` in new user, network, PID and mount namespaces: no network
interface at all, a process tree that dies with its first process, a private ``/proc``
and every mount but its directory read-only. :attr:`SandboxResult.isolation` records
which layers a run had. None of this is a container or a VM, and it is meant for
careless code, not code written to escape: the program runs as the user (it can read
what the user can read), and memory is limited per process, not per tree.

Runs are async (the event loop keeps scoring other results) and at most one per CPU runs
at a time (:func:`max_concurrency`).
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from evalbook.scorers.sandbox import child as sandbox_child
from evalbook.scorers.sandbox.isolation import (
    PidsCgroup,
    kill_tree,
    namespace_layers,
    nproc_allowance,
    preexec,
    remove_cgroup,
    remove_tree,
)

__all__ = ["SandboxLimits", "SandboxResult", "SandboxStatus", "max_concurrency", "run_python"]

_CHILD_PATH = "/usr/local/bin:/usr/bin:/bin"
_READ_GRACE_S = 1.0
_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)
_SIGNAL_MEANING: dict[int, str] = {
    signal.SIGXCPU: "exceeded the CPU time limit",
    signal.SIGKILL: "was killed (SIGKILL)",
}


class SandboxStatus(StrEnum):
    passed = "passed"  # the program ran to its end
    failed = "failed"  # it raised (an assertion) or exited early
    timeout = "timeout"  # wall clock or CPU limit
    memory = "memory"  # the memory limit
    error = "error"  # the sandbox could not run it, or it died of a signal


@dataclass(frozen=True)
class SandboxLimits:
    """What one run may use. ``max_processes`` counts the program's own processes and
    threads; ``max_output_bytes`` caps each of stdout and stderr (head and tail kept)."""

    timeout_s: float = 10.0
    memory_mb: int = 512
    max_processes: int = 64
    max_file_mb: int = 16
    max_open_files: int = 128
    max_output_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if not (self.timeout_s > 0 and self.memory_mb >= 32 and self.max_processes >= 2):
            raise ValueError(f"sandbox limits out of range: {self}")


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one run. ``exit_code`` is the child's status (negative: killed by
    that signal; ``None``: it never started); ``detail`` says why in one line."""

    status: SandboxStatus
    exit_code: int | None
    duration_s: float
    stdout: str
    stderr: str
    isolation: tuple[str, ...]
    detail: str
    truncated: bool = False

    @property
    def passed(self) -> bool:
        return self.status is SandboxStatus.passed


def max_concurrency() -> int:
    """Sandboxes run at once per event loop: one per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


async def run_python(
    source: str,
    limits: SandboxLimits | None = None,
    *,
    namespaces: bool = True,
    python: str | None = None,
) -> SandboxResult:
    """Run ``source`` as ``__main__`` in a sandbox and report how it ended.

    ``namespaces=False`` skips the ``unshare`` layers (for tests of the fallback);
    ``python`` is the interpreter (default: this one).
    """
    limits = limits or SandboxLimits()
    python = python or sys.executable
    prefix, layers = await asyncio.to_thread(namespace_layers, python) if namespaces else ((), ())
    loop = asyncio.get_running_loop()
    limiter = _LIMITERS.get(loop)
    if limiter is None:
        limiter = _LIMITERS[loop] = asyncio.Semaphore(max_concurrency())
    async with limiter:
        return await _run(source, limits, python, prefix, layers)


async def _run(
    source: str,
    limits: SandboxLimits,
    python: str,
    prefix: tuple[str, ...],
    layers: tuple[str, ...],
) -> SandboxResult:
    workdir = Path(tempfile.mkdtemp(prefix="evalbook-sandbox-"))
    cgroup = PidsCgroup.create(limits.max_processes)
    nproc = None if cgroup is not None else nproc_allowance(limits.max_processes)
    isolation = _layer_names(layers, False, cgroup, nproc)
    nonce = secrets.token_hex(16)
    start = time.monotonic()
    try:
        (workdir / "bootstrap.py").write_bytes(_child_source())
        (workdir / sandbox_child.PROGRAM).write_text(source, encoding="utf-8")
        argv = [*prefix, python, "-I", "-S", "-B", "-u", "-X", "utf8", "bootstrap.py", nonce]
        if "mount-ns" in layers:
            argv.append("--lockdown")  # read-only mounts, no capabilities
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=_child_env(workdir),
                start_new_session=True,
                preexec_fn=preexec(_rlimits(limits, nproc), _cpu_seconds(limits), cgroup),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = f"the sandbox could not start: {exc}"
            return SandboxResult(SandboxStatus.error, None, 0.0, "", "", isolation, detail)
        out, err = _Capture(limits.max_output_bytes), _Capture(limits.max_output_bytes)
        assert proc.stdout is not None and proc.stderr is not None
        readers = [
            asyncio.ensure_future(out.drain(proc.stdout)),
            asyncio.ensure_future(err.drain(proc.stderr)),
        ]
        timed_out = False
        try:
            await asyncio.wait_for(proc.wait(), limits.timeout_s)
        except TimeoutError:
            timed_out = True
        finally:
            # Always: a program that exits may leave children behind (and on a
            # timeout or a cancellation nothing of it may survive).
            kill_tree(proc.pid, cgroup)
            await proc.wait()
        duration = time.monotonic() - start
        _, unfinished = await asyncio.wait(readers, timeout=_READ_GRACE_S)
        for reader in unfinished:  # an escaped grandchild still holds the pipe
            reader.cancel()
        finished = _read_done(workdir) == nonce
        read_only = (workdir / sandbox_child.READ_ONLY_FILE).exists()
        isolation = _layer_names(layers, read_only, cgroup, nproc)
        status, detail = _classify(proc.returncode, timed_out, finished, limits, err.text())
        return SandboxResult(
            status=status,
            exit_code=proc.returncode,
            duration_s=duration,
            stdout=out.text(),
            stderr=err.text(),
            isolation=isolation,
            detail=detail,
            truncated=out.truncated or err.truncated,
        )
    finally:
        if cgroup is not None:
            await remove_cgroup(cgroup)
        await asyncio.to_thread(remove_tree, workdir)


def _layer_names(
    namespaces: tuple[str, ...], read_only: bool, cgroup: PidsCgroup | None, nproc: int | None
) -> tuple[str, ...]:
    cap = ("pids-cgroup",) if cgroup is not None else ("nproc",) if nproc is not None else ()
    read_only_fs = ("read-only-fs",) if read_only else ()
    return (*namespaces, *read_only_fs, "rlimits", *cap, "no-new-privs", "socket-guard")


@cache
def _child_source() -> bytes:
    return Path(sandbox_child.__file__).read_bytes()


def _child_env(workdir: Path) -> dict[str, str]:
    """Nothing of the parent's environment: no keys, tokens or proxies reach the child."""
    home = str(workdir)
    return {
        "PATH": _CHILD_PATH,
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _rlimits(limits: SandboxLimits, nproc: int | None) -> list[tuple[int, int]]:
    rlimits = [
        (resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024),
        (resource.RLIMIT_FSIZE, limits.max_file_mb * 1024 * 1024),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc is not None:
        rlimits.append((resource.RLIMIT_NPROC, nproc))
    return rlimits


def _cpu_seconds(limits: SandboxLimits) -> int:
    return math.ceil(limits.timeout_s) + 1


def _read_done(workdir: Path) -> str | None:
    try:
        return (workdir / sandbox_child.DONE_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _classify(
    code: int | None, timed_out: bool, finished: bool, limits: SandboxLimits, stderr: str
) -> tuple[SandboxStatus, str]:
    if timed_out:
        return SandboxStatus.timeout, f"timed out after {limits.timeout_s:g} s"
    if code == 0:
        if finished:
            return SandboxStatus.passed, "ran to completion"
        return SandboxStatus.failed, "the program exited (status 0) before it finished"
    if code == sandbox_child.EXIT_MEMORY:
        return SandboxStatus.memory, f"ran out of memory (limit {limits.memory_mb} MB)"
    if code in (sandbox_child.EXIT_FAILED, sandbox_child.EXIT_EXITED):
        return SandboxStatus.failed, _last_line(stderr) or "the program failed"
    signum = -code if code is not None and code < 0 else code - 128 if code and code > 128 else 0
    if signum == signal.SIGXCPU:
        return (
            SandboxStatus.timeout,
            f"exceeded the CPU time limit ({_cpu_seconds(limits)} s)",
        )
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return SandboxStatus.memory, f"ran out of memory (limit {limits.memory_mb} MB)"
    if signum > 0:
        name = signal.Signals(signum).name if signum in signal.valid_signals() else str(signum)
        return SandboxStatus.error, _SIGNAL_MEANING.get(signum, f"was killed by {name}")
    return SandboxStatus.error, f"exited with status {code}: {_last_line(stderr)}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


class _Capture:
    """Keeps the head and the tail of a stream (tracebacks end it), drains the rest."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.total += len(chunk)
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            if chunk:
                self.tail += chunk
                del self.tail[: -self.half]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.head) + len(self.tail)

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.truncated:
            cut = self.total - len(self.head) - len(self.tail)
            return f"{head}\n[… {cut} bytes cut …]\n{tail}"
        return head + tail
