"""Identity is a versioned content hash: sha256 of canonical JSON.

Everything that must be recognised again later (suites, prompt versions, cache keys, work
items) is named by ``content_hash(kind, value)``. The ``kind`` and ``IDENTITY_VERSION`` are
part of the hashed bytes so that two kinds never collide and a change of scheme never
silently matches old keys.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from json import encoder as _encoder
from typing import Any

IDENTITY_VERSION = "v1"

# A fixed namespace so that uuid5 identities of results are stable across machines.
_NAMESPACE = uuid.UUID("6f1c2f9e-6c55-4bb7-9b7c-3c1c7e0b4d21")
_NAMESPACE_BYTES = _NAMESPACE.bytes


#: The one encoder of :func:`canonical_json` (what ``json.dumps`` with these options builds
#: on every call: made once, a hashed case or cache key costs less).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


#: A string as canonical JSON writes it (quoted, escaped, non-ASCII kept).
encode_str: Callable[[str], str] = _encoder.encode_basestring

#: :data:`_CANONICAL`'s C encoder without its guard against cycles: for values decoded
#: from JSON, which hold none (``None`` where Python lacks the accelerator). It returns
#: the pieces of the same text.
_C_MAKE = getattr(_encoder, "c_make_encoder", None)
ROW_ENCODER: Callable[[Any, int], Sequence[str]] | None = (
    None
    if _C_MAKE is None
    else _C_MAKE(None, _CANONICAL.default, encode_str, None, ":", ",", True, False, False)
)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and no NaN: equal values give equal strings."""
    return _CANONICAL.encode(value)


def content_hash(kind: str, value: Any) -> str:
    """Hex sha256 of ``"{IDENTITY_VERSION}:{kind}:"`` + canonical JSON of ``value``."""
    return content_hash_of_text(kind, (canonical_json(value),))


def content_hash_of_text(kind: str, texts: Iterable[str | bytes | memoryview]) -> str:
    """:func:`content_hash` of the value whose canonical JSON is ``texts`` joined (a big
    value is hashed piece by piece, never held as one string); a piece may be given as
    its UTF-8 bytes already."""
    hasher = hashlib.sha256(f"{IDENTITY_VERSION}:{kind}:".encode())
    for text in texts:
        hasher.update(text.encode() if isinstance(text, str) else text)
    return hasher.hexdigest()


def short_hash(kind: str, value: Any, length: int = 12) -> str:
    """A readable prefix of :func:`content_hash`, used for generated case ids."""
    return content_hash(kind, value)[:length]


def _uuid5_digest(*parts: str) -> bytes:
    """The SHA-1 a uuid5 of ``parts`` (joined by U+001F) is cut from."""
    return hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).digest()


def stable_uuid(*parts: str) -> str:
    """A UUID derived from ``parts``: the same parts always give the same id.

    It is ``str(uuid.uuid5(namespace, "\\x1f".join(parts)))``, computed without the
    ``UUID`` object (a third of the cost; every result of a run is named by one).
    """
    digest = bytearray(_uuid5_digest(*parts))
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: Plan positions a result id orders (28 bits); past them ids stay unique by their hash.
_SEQ_SPAN = 1 << 28


def result_id(run_id: str, seq: int, case_id: str, epoch: int) -> str:
    """The id of the result of ``(case_id, epoch)`` at plan position ``seq`` of a run: a
    UUID (version 8) that sorts a run's results together, in plan order.

    ``RRRRRRRR-SSSS-8SSS-VHHH-HHHHHHHHHHHH``: ``R`` the run's (a hash of its id), ``S`` the
    position, ``VHHH-H…`` the last 62 bits of :func:`stable_uuid` of ``(run_id, case_id,
    epoch)`` (a run's ids before this scheme). The same item always gets the same id (a
    re-delivered result upserts its row); two items of a run never share one (their
    positions differ). Why ordered: a hash id put each new result (and its scores) on a
    page of its own anywhere in the primary keys' B-trees; at 100,000 results SQLite spent
    60% of its insert time there, and nearly every batch's commit paid a checkpoint of the
    write-ahead log (the pages it dirtied filled it). A fully cached re-run of 100,000
    cases went from 20.2 to 12.2 s with ids in plan order (``benchmarks/bench_executor.py
    --big``). A run recorded with the earlier ids keeps them: the writer matches a result
    delivered under another id (an errored item a resume asks again, a fleet mid-upgrade)
    to its stored row by its item (``storage/stored_ids.py``).
    """
    # stable_uuid's digest, its last 8 bytes only (one per result: no UUID object, no
    # string of the whole uuid5 to cut up).
    digest = _uuid5_digest(run_id, case_id, str(epoch))
    position = f"{seq % _SEQ_SPAN:07x}"
    variant = (digest[8] & 0x3F) | 0x80  # RFC 4122
    return (
        f"{_run_prefix(run_id)}-{position[:4]}-8{position[4:]}"
        f"-{variant:02x}{digest[9]:02x}-{digest[10:16].hex()}"
    )


@functools.lru_cache(maxsize=64)
def _run_prefix(run_id: str) -> str:
    return hashlib.sha1(_NAMESPACE_BYTES + run_id.encode()).hexdigest()[:8]
