"""A large run's results written by a process of its own, on another core.

Why: Python runs one thread at a time (the GIL). In a fully cached re-run nothing waits
on a model, and the event loop (making results) and the store thread (making their rows
and inserting them) take turns on one core: a cached 100,000-case re-run spent about as
much of the GIL making and writing rows as making the results. A child process writes
them instead, with its own interpreter, while the loop goes on making the next ones.

What crosses the pipe (private to the two processes: the child trusts its parent
alone): the results themselves, pickled as the dicts they hold (a pydantic model's own
pickling costs more than its rows; ``_TRUSTED``), and the batch's response-cache
entries; the database URL, password and all, as the first frame (never on a command
line). The child writes a batch exactly as the store thread would
(:func:`write_batch`: the same rows, the same transaction, the same upsert of a result
delivered twice), and answers with the number written or the error.

When: once a run has queued :func:`~evalbook.config.writer_process_after` results
(``EVALBOOK_WRITER_PROCESS_AFTER``, 2,000 by default; ``off``), or as it starts when its
plan says it will make more (the child is then ready by its first batches), on a
database another process can open (not SQLite in memory). Smaller runs never pay its
start (~0.3 s of the other core) or its memory. The store thread writes until the child
says it is ready, so batches keep their order and no batch waits for the start. One
batch is in flight: the child writes it while this process makes (and pickles) the
next; its ``ItemDone`` events go out once the child confirms it (``executor/writer.py``).

Faults: the child ignores Ctrl-C (the terminal sends it to the whole group; the parent
decides, and flushes what finished through it). A child that cannot start or that dies
leaves the writes to the store thread, the batch in flight written again there (results
are upserted by their item: nothing is lost or doubled); a batch the database refuses
raises in the run as it would on the store thread. The parent's death closes the pipe:
the child finishes the batch it holds and exits.
"""

from __future__ import annotations

import contextlib
import copyreg
import gc
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from evalbook.config import stored_bytes_limit
from evalbook.core.heap import RUN_GC_THRESHOLD
from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.result import (
    Attempt,
    BlobRef,
    Evidence,
    ProviderEvidence,
    Result,
    ScoreRecord,
)
from evalbook.core.trusted import built
from evalbook.errors import StorageError, StorageFull
from evalbook.plain_text import get_logger
from evalbook.storage.stored_values import cacheable

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["WriterProcess", "WriterProcessGone", "can_write_apart", "write_batch"]

log = get_logger("evalbook.executor")

_LENGTH = struct.Struct("!Q")

#: The models of a result, pickled as the dict of their fields and rebuilt without
#: validation: the executor built them (or validated what came from outside) already.
_TRUSTED = (
    Result,
    ScoreRecord,
    Evidence,
    Attempt,
    ProviderEvidence,
    BlobRef,
    Message,
    TextPart,
    ImagePart,
)


def _rebuilt(cls: type[Any], fields: dict[str, Any]) -> Any:
    return built(cls, fields)


def _reduce(obj: Any) -> tuple[Any, ...]:
    return (_rebuilt, (type(obj), obj.__dict__))


_DISPATCH = copyreg.dispatch_table.copy()
for _cls in _TRUSTED:
    _DISPATCH[_cls] = _reduce


def _dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(value)
    return buffer.getvalue()


def write_batch(
    store: Store, results: Sequence[tuple[Result, int]], cache: Sequence[dict[str, Any]]
) -> int:
    """Write a batch of results and response-cache entries; the results written.

    The record first: a paid answer is never lost to a cache that fails (a cache that
    fails costs only reuse; see ``storage.redis_cache``)."""
    entries = cacheable(list(cache), stored_bytes_limit()) if cache else []
    if store.cache_with_results:  # one transaction, the cache in a savepoint
        store.save_results(results, entries)
        return len(results)
    if results:
        store.save_results(results)
    store.cache_put_many(entries)
    return len(results)


def can_write_apart(store: Store) -> bool:
    """Whether another process can open ``store``'s database (not SQLite in memory), and
    this system has the pipes the parent waits on (not Windows: ``select`` there takes
    sockets only)."""
    if os.name == "nt":
        return False
    url = store.engine.url
    if url.get_backend_name() == "sqlite":
        return url.database not in (None, "", ":memory:") and "mode=memory" not in str(url)
    return True


class WriterProcessGone(Exception):
    """The child process ended (or never started)."""


#: A batch as the writer hands it over: its ``(result, plan position)`` pairs and its
#: response-cache entries.
Batch = tuple[Sequence[tuple[Result, int]], Sequence[dict[str, Any]]]


class WriterProcess:
    """The parent's end: start the child, hand it batches, close it.

    One batch stays in flight: :meth:`save` sends a batch, then waits for the child's
    answer to the batch before it, so the child writes one batch while this process
    pickles the next (and the event loop makes the ones after). Not thread-safe: one
    caller at a time (the run's store thread)."""

    def __init__(self, store: Store, *, python: str = sys.executable) -> None:
        # The child imports evalbook from where this process did.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._proc = subprocess.Popen(
            [python, "-m", "evalbook.executor.writer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout
        #: None while starting; True once it said it is ready; False once it is gone.
        self.ready: bool | None = None
        self.pid = self._proc.pid
        #: The batches sent whose answers have not been read, oldest first: the one
        #: before the batch in flight (only while :meth:`save` waits for its answer),
        #: and the batch in flight.
        self._before: Batch | None = None
        self._in_flight: Batch | None = None
        #: Batches the child wrote.
        self.batches = 0
        # The URL (a password in it) goes down the pipe: never on a command line.
        try:
            self._send(store.engine.url.render_as_string(hide_password=False).encode())
        except WriterProcessGone:
            self.ready = False

    def started(self) -> bool:
        """Whether the child is ready for batches (never blocks: while it starts, False)."""
        if self.ready is None:
            readable, _, _ = select.select([self._out], [], [], 0)
            if readable:
                try:
                    status, detail = self._receive()
                except WriterProcessGone:
                    status, detail = "gone", self._exit_status()
                self.ready = status == "ready"
                if not self.ready:
                    log.warning(
                        "the results writer process did not start (%s): the run writes"
                        " its results from its own process",
                        detail,
                    )
        return bool(self.ready)

    def save(
        self, results: Sequence[tuple[Result, int]], cache: Sequence[dict[str, Any]]
    ) -> tuple[int, int]:
        """Send a batch, then read the answer to the batch sent before it: ``(batches,
        results)`` confirmed written by that answer (``(0, 0)`` when none was in flight).

        Raises :class:`StorageFull` or :class:`StorageError` for the batch before, as
        the store would have, and :class:`WriterProcessGone` when the child ended:
        :meth:`unconfirmed` then lists the batches that may not be written."""
        self._before, self._in_flight = self._in_flight, (results, cache)
        self._send(_dumps(self._in_flight))
        if self._before is None:
            return 0, 0
        return 1, self._answer()

    def drain(self) -> tuple[int, int]:
        """Read the answer to the batch in flight: ``(batches, results)`` it confirmed."""
        if self._in_flight is None:
            return 0, 0
        return 1, self._answer()

    def unconfirmed(self) -> list[Batch]:
        """After :class:`WriterProcessGone`: the batches sent that no answer confirmed."""
        return [b for b in (self._before, self._in_flight) if b is not None]

    def _answer(self) -> int:
        """Read the answer to the oldest batch sent without one (answers come in order);
        the results it wrote, or the database's refusal raised."""
        status, detail = self._receive()
        if self._before is not None:
            self._before = None
        else:
            self._in_flight = None
        if status == "ok":
            self.batches += 1
            return int(detail)
        if status == "full":
            raise StorageFull(detail)
        raise StorageError(detail)

    def _send(self, data: bytes) -> None:
        try:
            self._in.write(_LENGTH.pack(len(data)))
            self._in.write(data)
            self._in.flush()
        except (OSError, ValueError) as exc:
            raise WriterProcessGone(str(exc)) from exc

    def _receive(self) -> tuple[str, Any]:
        head = self._out.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            raise WriterProcessGone(self._exit_status())
        size = _LENGTH.unpack(head)[0]
        data = self._out.read(size)
        if len(data) < size:
            raise WriterProcessGone(self._exit_status())
        status, detail = pickle.loads(data)
        return str(status), detail

    def _exit_status(self) -> str:
        code = self._proc.poll()
        return "it is still running" if code is None else f"exit status {code}"

    def gone(self) -> str:
        """End the child after :class:`WriterProcessGone`; why, for a log line."""
        self.ready = False
        self._before = self._in_flight = None
        self.close(timeout=5.0)
        return self._exit_status()

    def close(self, timeout: float = 30.0) -> None:
        """Close the pipe (the child exits after the batch it holds) and reap it."""
        with contextlib.suppress(OSError, ValueError):
            self._in.close()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(OSError, ValueError):
            self._out.close()


def _child() -> None:
    """The child's loop: open the store named by the first frame, then write batches."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Frames go to the parent on the original stdout; anything printed goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer

    def reply(status: str, detail: Any) -> None:
        data = pickle.dumps((status, detail), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_LENGTH.pack(len(data)))
        out.write(data)
        out.flush()

    def frame() -> bytes | None:
        """The next frame; None when the parent closed the pipe (or died sending one:
        that batch is not written, as it would not be by a parent that died)."""
        head = source.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return None
        size = _LENGTH.unpack(head)[0]
        data = source.read(size)
        return data if len(data) == size else None

    url = frame()
    if url is None:
        return
    try:
        from evalbook.storage.store import Store

        store = Store.open(url.decode(), migrate=False)
        # Batches are made of new objects that die with the batch (reference counting
        # frees them): young collections only, none walking what the imports left, and
        # as seldom as a running run's (at Python's 700 new objects a collection came
        # every ~15 results, each walking the batch being written).
        gc.collect()
        gc.freeze()
        gc.set_threshold(RUN_GC_THRESHOLD, *gc.get_threshold()[1:])
    except Exception as exc:
        reply("failed", f"{type(exc).__name__}: {exc}")
        return
    reply("ready", os.getpid())
    try:
        while (data := frame()) is not None:
            results, cache = pickle.loads(data)
            try:
                written = write_batch(store, results, cache)
            except StorageFull as exc:
                reply("full", str(exc))
            except StorageError as exc:
                reply("error", str(exc))
            except Exception as exc:
                reply("error", f"{type(exc).__name__}: {exc}")
            else:
                reply("ok", written)
    finally:
        store.close()


if __name__ == "__main__":
    _child()
