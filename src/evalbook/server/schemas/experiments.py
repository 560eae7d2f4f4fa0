"""Experiments on the wire: the list (the matrix's detail is
:class:`evalbook.analysis.experiments.Experiment`, answered as it is)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from evalbook.server.schemas.common import Page
from evalbook.storage.experiments import ExperimentSummary

__all__ = ["ExperimentOut", "ExperimentPage"]


class ExperimentOut(BaseModel):
    """One experiment: its runs (one per combination), their suites, when they were
    recorded, and how many have not finished yet."""

    id: str
    runs: int
    suites: list[str]
    first_at: datetime
    last_at: datetime
    running: int

    @classmethod
    def of(cls, found: ExperimentSummary) -> ExperimentOut:
        return cls(**found.__dict__)


class ExperimentPage(Page[ExperimentOut]):
    pass
