"""The seed story's two judges, registered around each analysis test and removed after."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .seed import seed_scorers


@pytest.fixture(autouse=True)
def _judges() -> Iterator[None]:
    with seed_scorers():
        yield
