"""Case images, read and inlined as base64 when the suite loads.

A suite is an instrument that must read the same way next year, so images are copied into
the suite (and stored once by content hash) rather than referenced by URL. An asset is
``{path: img/cat.png}`` (relative to the file that names it; ``media_type`` optional,
else from the extension) or ``{data: <base64>, media_type: image/png}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path
from typing import Any

from evalbook.core.messages import ImagePart

__all__ = ["MEDIA_TYPES", "load_image"]

MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
_KNOWN = sorted(set(MEDIA_TYPES.values()))


def load_image(raw: Any, base_dir: Path | None) -> ImagePart:
    """An :class:`ImagePart` for one asset entry; ``ValueError`` says what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(
            "an asset must be a mapping: {path: img/cat.png} or {data: <base64>,"
            f" media_type: image/png}}, not {type(raw).__name__}"
        )
    if "path" in raw:
        _only(raw, {"path", "media_type"})
        return _from_path(raw["path"], raw.get("media_type"), base_dir)
    if "data" in raw:
        _only(raw, {"data", "media_type"})
        if "media_type" not in raw:
            raise ValueError("an asset given as data needs a media_type (e.g. image/png)")
        return _from_data(raw["data"], raw["media_type"])
    raise ValueError("an asset needs either 'path' or 'data'")


def _only(raw: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(k) for k in set(raw) - allowed)
    if extra:
        raise ValueError(f"unknown asset field(s) {', '.join(extra)} (allowed: {sorted(allowed)})")


def _check_media_type(media_type: Any) -> str:
    if media_type not in _KNOWN:
        raise ValueError(f"unsupported image media_type {media_type!r}; use {', '.join(_KNOWN)}")
    return str(media_type)


def _from_path(value: Any, media_type: Any, base_dir: Path | None) -> ImagePart:
    if not isinstance(value, str) or not value:
        raise ValueError(f"asset path must be a non-empty string, not {value!r}")
    if base_dir is None:
        raise ValueError(
            f"asset path {value!r} needs a base directory: load the suite from a file, or"
            " give the image as {data, media_type}"
        )
    path = base_dir / value
    if media_type is None:
        suffix = path.suffix.lower()
        if suffix not in MEDIA_TYPES:
            raise ValueError(
                f"cannot tell the image type of {value!r} from its extension"
                f" (known: {', '.join(sorted(MEDIA_TYPES))}); give media_type"
            )
        media_type = MEDIA_TYPES[suffix]
    media_type = _check_media_type(media_type)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read image {value!r}: {exc.strerror or exc} ({path})") from exc
    return _part(content, media_type)


def _from_data(value: Any, media_type: Any) -> ImagePart:
    media_type = _check_media_type(media_type)
    if not isinstance(value, str):
        raise ValueError("asset data must be a base64 string")
    try:
        content = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"asset data is not valid base64: {exc}") from exc
    if not content:
        raise ValueError("asset data is empty")
    return _part(content, media_type)


def _part(content: bytes, media_type: str) -> ImagePart:
    return ImagePart(
        media_type=media_type,
        data=base64.b64encode(content).decode("ascii"),
        sha256=hashlib.sha256(content).hexdigest(),
    )
