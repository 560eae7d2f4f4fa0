"""The kernel layers the sandbox can add on this machine, detected at run time.

Resource limits (``setrlimit``) work everywhere. The rest depends on the system and the
user, so each layer is probed and the sandbox records which ones a run actually had:

- **namespaces** (``unshare``): a user namespace (no root on the host), a network
  namespace (only a down loopback: no network at all), a PID namespace (the process
  tree dies with its first process, even children that started their own session) and
  a mount namespace with its own ``/proc`` (the parent's ``/proc/<pid>/environ`` is not
  visible). Many containers and hardened kernels forbid unprivileged user namespaces;
  the probe then falls back to fewer layers, or none.
- **a process limit**: ``RLIMIT_NPROC`` counts every process of the *user*, so for an
  ordinary user it is set to what the user runs now plus the sandbox's allowance. The
  kernel ignores it for root, so as root the sandbox makes a ``pids`` cgroup instead
  when one is writable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import stat
import subprocess
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path

__all__ = [
    "PidsCgroup",
    "kill_tree",
    "namespace_layers",
    "nproc_allowance",
    "preexec",
    "remove_cgroup",
    "remove_tree",
]

_UNSHARE_LADDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount",
            "--mount-proc",
        ),
        ("user-ns", "net-ns", "pid-ns", "mount-ns"),
    ),
    (
        ("--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"),
        ("user-ns", "net-ns", "pid-ns"),
    ),
    (("--user", "--map-root-user", "--net"), ("user-ns", "net-ns")),
)


@cache
def namespace_layers(python: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(argv prefix, layer names)``: the most namespaces under which ``python`` starts.

    Probed once per interpreter (tens of milliseconds); ``((), ())`` when ``unshare`` is
    missing or refused.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return (), ()
    for flags, layers in _UNSHARE_LADDER:
        argv = (unshare, *flags, "--")
        try:
            probe = subprocess.run(
                [*argv, python, "-I", "-S", "-c", "pass"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return argv, layers
    return (), ()


def nproc_allowance(extra: int) -> int | None:
    """The ``RLIMIT_NPROC`` that lets the sandbox start ``extra`` more tasks, or ``None``
    for root, whom the kernel exempts. It counts this user's tasks now, so concurrent
    work of the same user may take some of the allowance (an approximation)."""
    uid = os.getuid()
    if uid == 0:
        return None
    tasks = 0
    try:
        entries = list(os.scandir("/proc"))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                tasks += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return tasks + extra


class PidsCgroup:
    """A ``pids`` cgroup for one sandbox run: a hard cap on its processes and threads,
    and a list of them to kill, even those that left the process group.

    Made only when writable (as root, cgroup v1 ``pids`` or a v2 hierarchy with the
    ``pids`` controller delegated); :meth:`create` returns ``None`` otherwise.
    """

    def __init__(self, path: Path, procs_fd: int) -> None:
        self.path = path
        #: Opened by the parent; the child writes ``0`` (itself) to it before ``exec``.
        self.procs_fd = procs_fd

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        if os.geteuid() != 0:
            return None
        base = _pids_hierarchy()
        if base is None:
            return None
        path = base / f"evalbook-sandbox-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(max_pids))
            fd = os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
        except OSError:
            _rmdir(path)
            return None
        return cls(path, fd)

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroup (repeatedly: a fork bomb forks on)."""
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Close the parent's handle (the child has its own copy until ``exec``)."""
        os.close(self.procs_fd)

    def remove(self) -> bool:
        """Remove the cgroup; ``False`` while exiting processes still hold it."""
        return _rmdir(self.path)


def preexec(
    rlimits: list[tuple[int, int]], cpu_s: int, cgroup: PidsCgroup | None
) -> Callable[[], None]:
    """What the child does between fork and exec: join the cgroup, lower its limits.

    ``rlimits`` are ``(resource, value)`` pairs, capped here at the current hard limits
    (an ordinary user cannot raise those); ``RLIMIT_CPU`` gets ``SIGXCPU`` at ``cpu_s``
    and ``SIGKILL`` a second later. Everything is computed in the parent, so the child
    only makes system calls (``fork`` in a threaded process allows little more).
    """
    settings = []
    for what, wanted in [*rlimits, (resource.RLIMIT_CPU, cpu_s)]:
        _, hard = resource.getrlimit(what)
        value = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        settings.append((what, value, value + 1 if what == resource.RLIMIT_CPU else value))
    procs_fd = cgroup.procs_fd if cgroup is not None else None

    def apply() -> None:
        if procs_fd is not None:
            os.write(procs_fd, b"0")
        for what, soft, hard in settings:
            resource.setrlimit(what, (soft, hard))

    return apply


def kill_tree(pid: int, cgroup: PidsCgroup | None) -> None:
    """SIGKILL the process group ``pid`` leads, and everything left in ``cgroup``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill_all()


async def remove_cgroup(cgroup: PidsCgroup) -> None:
    cgroup.close()
    for _ in range(100):  # killed processes leave the cgroup within milliseconds
        cgroup.kill_all()
        if cgroup.remove():
            return
        await asyncio.sleep(0.01)


def remove_tree(path: Path) -> None:
    """Remove the work directory even where the program made parts of it read-only."""

    def retry(func: Callable[..., object], target: str, _exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            os.chmod(target, stat.S_IRWXU)
            func(target)

    shutil.rmtree(path, onerror=retry)


@cache
def _pids_hierarchy() -> Path | None:
    """This process's cgroup in a hierarchy with the ``pids`` controller."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if len(fields) < 4:
            continue
        mountpoint, fstype, options = fields[1], fields[2], fields[3].split(",")
        if fstype == "cgroup" and "pids" in options:
            relative = _own_path(own, lambda controllers: "pids" in controllers.split(","))
        elif fstype == "cgroup2" and _has_pids(Path(mountpoint)):
            relative = _own_path(own, lambda controllers: controllers == "")
        else:
            continue
        if relative is not None:
            return Path(mountpoint) / relative.lstrip("/")
    return None


def _has_pids(mountpoint: Path) -> bool:
    try:
        return "pids" in (mountpoint / "cgroup.controllers").read_text().split()
    except OSError:
        return False


def _own_path(lines: list[str], matches: Callable[[str], bool]) -> str | None:
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and matches(parts[1]):
            return parts[2]
    return None


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except OSError:
        return False
    return True
