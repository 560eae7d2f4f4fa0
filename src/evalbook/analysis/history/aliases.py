"""Alias grouping: runs under a stable name (``prod``, ``candidate``) across model builds.

An alias is how a team says "whatever production serves". Providers change the model
behind a name without notice, so each run's *served* builds (model + system fingerprint,
as recorded per result) are collected, and an alias whose runs were answered by more
than one build is flagged: its history mixes models.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError
from evalbook.storage.store import Store

__all__ = ["AliasGroup", "AliasRun", "alias_groups", "latest_by_alias", "served_build_names"]


def served_build_names(store: Store, run_id: str) -> list[str]:
    """The served model builds (``model+fingerprint``) that answered a run's cases."""
    names = []
    for model, fingerprint, _n in store.served_builds(run_id):
        name = f"{model}+{fingerprint}" if model and fingerprint else model or fingerprint
        if name and name not in names:
            names.append(name)
    return names


class AliasRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    created_at: datetime
    score: float | None
    model: str
    prompt: str
    served_builds: list[str]


class AliasGroup(BaseModel):
    """The runs of one alias, newest first, and whether its served build drifted."""

    model_config = ConfigDict(extra="forbid")

    alias: str
    runs: list[AliasRun]
    served_builds: list[str]

    @property
    def drift(self) -> bool:
        return len(self.served_builds) > 1


def alias_groups(
    store: Store, suite_id: str | None = None, *, aliases: list[str] | None = None, limit: int = 20
) -> list[AliasGroup]:
    """Completed runs grouped by alias (every alias of the suite unless ``aliases``)."""
    groups = []
    for alias in aliases or store.run_aliases(suite_id):
        runs = store.list_runs(suite_id=suite_id, status="completed", alias=alias, limit=limit)
        members = [
            AliasRun(
                run_id=r.id,
                created_at=r.created_at,
                score=r.score,
                model=f"{r.model.get('provider')}:{r.model.get('name')}",
                prompt=f"{r.prompt_name} v{r.prompt_version}",
                served_builds=served_build_names(store, r.id),
            )
            for r in runs
        ]
        builds: list[str] = []
        for member in reversed(members):  # in order of first appearance
            builds.extend(b for b in member.served_builds if b not in builds)
        groups.append(AliasGroup(alias=alias, runs=members, served_builds=builds))
    return groups


def latest_by_alias(
    store: Store, aliases: list[str], suite_id: str | None = None
) -> list[RunRecord]:
    """The latest completed run of each alias, in the order given."""
    out = []
    for alias in aliases:
        run = store.latest_run(suite_id=suite_id, alias=alias)
        if run is None:
            scope = f" of suite {suite_id!r}" if suite_id else ""
            raise NotFoundError(f"no completed run{scope} under alias {alias!r}")
        out.append(run)
    return out
