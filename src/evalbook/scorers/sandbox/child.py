"""The program the sandbox runs in its child process: a supervisor around guarded user code.

This file is never imported by evalbook: :mod:`evalbook.scorers.sandbox.runner` copies it into
the sandbox's temporary directory and runs it with ``python -I -S`` (no site-packages,
no ``PYTHON*`` variables, no script directory on ``sys.path``), so it may use the
standard library only.

Why a supervisor: inside a PID namespace the first process is PID 1, which the kernel
shields from signals it has no handler for (a CPU-limit ``SIGXCPU`` would be ignored),
and whose exit tears the namespace down. So PID 1 only forks the worker, waits, and
exits with the worker's status (``128 + signal`` for a signal). With ``--lockdown`` (in
a mount namespace) it first makes the filesystem read-only outside the work directory.
The worker sets no-new-privileges (and under lockdown drops its capabilities), installs
the network guard and executes ``program.py``. Outside a namespace the extra fork is
harmless.

Exit codes the parent reads: 0 with the done-file holding the nonce means every
statement ran (a program that calls ``os._exit(0)`` early exits 0 without it);
:data:`EXIT_FAILED` an exception (traceback on stderr); :data:`EXIT_MEMORY` a
``MemoryError``; :data:`EXIT_EXITED` ``sys.exit()`` before the end.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import traceback
from typing import Any, NoReturn

EXIT_FAILED = 10
EXIT_MEMORY = 11
EXIT_EXITED = 12
PROGRAM = "program.py"
DONE_FILE = ".evalbook-done"
#: Written by the supervisor when every mount but the work directory is read-only.
READ_ONLY_FILE = ".evalbook-read-only"

_NETWORK_EVENTS = frozenset(
    {
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
        "socket.sethostname",
    }
)
_SOCKET_USE_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"})


def main() -> NoReturn:
    nonce, lockdown = sys.argv[1], "--lockdown" in sys.argv[2:]
    if lockdown and _read_only_mounts(os.getcwd()):
        with open(READ_ONLY_FILE, "w", encoding="utf-8"):
            pass
    pid = os.fork()
    if pid == 0:
        _drop_privileges(lockdown)
        _run_program(nonce)
    _supervise(pid)


def _supervise(pid: int) -> NoReturn:
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status))


def _read_only_mounts(workdir: str) -> bool:
    """In a private mount namespace: make every mount read-only except the work
    directory (bound onto itself) and ``/proc``, whose ``sys`` part is read-only too.

    Against accidents (``rm -rf ~``, overwriting files), not an adversary: the worker
    drops its capabilities so that it cannot remount, but as root it still owns root's
    files where a mount stays writable. ``False`` when any remount failed.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    bind, recursive, remount, read_only = 4096, 16384, 32, 1
    kept = {"nosuid": 2, "nodev": 4, "noexec": 8, "noatime": 1024, "nodiratime": 2048}
    kept |= {"relatime": 1 << 21, "strictatime": 1 << 24}
    for path in (workdir, "/proc/sys"):
        if libc.mount(path.encode(), path.encode(), None, bind | recursive, None) != 0:
            return False
    os.chdir(workdir)  # onto the bind mount: the old cwd is on the read-only mount below
    ok = True
    for target, options in _mounts():
        if target == "/proc" or target == workdir or target.startswith(workdir + "/"):
            continue
        flags = remount | bind | read_only | sum(kept.get(o, 0) for o in options)
        ok = libc.mount(None, target.encode(), None, flags, None) == 0 and ok
    return ok


def _mounts() -> list[tuple[str, list[str]]]:
    """``(mount point, per-mount options)`` from ``/proc/self/mountinfo``."""
    import re

    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
            found.append((target, fields[5].split(",")))
    return found


def _drop_privileges(lockdown: bool) -> None:
    """No new privileges (setuid programs gain nothing) and, inside the namespaces,
    no capabilities, so the code cannot undo the read-only mounts. Best effort."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if not lockdown:
        return
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
            last = int(handle.read())
        for cap in range(last + 1):
            libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inherit")]

    libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)())  # all zero


def _refuse(*_args: object, **_kwargs: object) -> NoReturn:
    raise PermissionError(errno.EACCES, "network access is disabled in the evalbook sandbox")


def install_network_guard() -> None:
    """Refuse every non-Unix socket, connection and name lookup, at the Python level.

    An audit hook (which code cannot remove) catches sockets made through ``_socket``
    too; the patched ``socket`` names give a clear error early. It is not a kernel
    boundary: ``ctypes`` or a non-Python subprocess bypasses it, which is why the
    sandbox adds a network namespace where the system allows one.
    """
    import socket

    local = getattr(socket, "AF_UNIX", None)

    def audit(event: str, args: tuple[Any, ...]) -> None:
        if not event.startswith("socket."):
            return
        if event == "socket.__new__":
            family = args[1]
        elif event in _SOCKET_USE_EVENTS:
            family = getattr(args[0], "family", None)
        else:
            family = None if event in _NETWORK_EVENTS else local
        if family != local:
            _refuse()

    sys.addaudithook(audit)

    class GuardedSocket(socket.socket):
        def __init__(
            self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None
        ) -> None:
            if fileno is None and family != local:
                _refuse()
            super().__init__(family, type, proto, fileno)

    socket.socket = GuardedSocket  # type: ignore[misc]
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse


def _run_program(nonce: str) -> NoReturn:
    code = 0
    try:
        install_network_guard()
        with open(PROGRAM, encoding="utf-8") as handle:
            source = handle.read()
        namespace: dict[str, Any] = {"__name__": "__main__", "__file__": PROGRAM}
        exec(compile(source, PROGRAM, "exec"), namespace)
    except MemoryError:
        print("MemoryError: the program ran out of memory", file=sys.stderr)
        code = EXIT_MEMORY
    except SystemExit as exc:
        print(f"the program called exit({exc.code!r}) before it finished", file=sys.stderr)
        code = EXIT_EXITED
    except BaseException:
        traceback.print_exc()
        code = EXIT_FAILED
    else:
        with open(DONE_FILE, "w", encoding="utf-8") as done:
            done.write(nonce)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
