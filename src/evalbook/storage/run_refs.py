"""Pick runs by rule: ``latest``, ``alias:NAME`` or an id, as gates and comparisons name them.

Why rules: a CI job does not know the baseline's id. It knows "the last good run of this
suite and prompt" or "whatever production (an alias) ran last". Only *completed* runs are
candidates for a rule, and a rule relative to a run never returns that run or a later one.
"""

from __future__ import annotations

from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.storage.store import Store

__all__ = ["ALIAS_PREFIX", "LATEST", "RUN_HELP", "named_run", "resolve_run"]

LATEST = "latest"
ALIAS_PREFIX = "alias:"
#: The help of a command's RUN argument read by :func:`named_run`.
RUN_HELP = "Run id (or a unique prefix), latest (the newest run) or alias:NAME."


def resolve_run(
    store: Store,
    ref: str,
    *,
    suite_id: str | None = None,
    prompt_name: str | None = None,
    relative_to: RunRecord | None = None,
) -> RunRecord:
    """The run ``ref`` names.

    - ``latest``: the most recent completed run of the suite and prompt name (taken from
      ``relative_to`` when not given), older than ``relative_to``;
    - ``alias:NAME``: the most recent completed run recorded under that alias (of the
      same suite when one is known), older than ``relative_to``;
    - anything else: a run id or unique id prefix.
    """
    if relative_to is not None:
        suite_id = suite_id or relative_to.suite_id
        prompt_name = prompt_name or relative_to.prompt_name
    before = relative_to.created_at if relative_to is not None else None
    exclude = relative_to.id if relative_to is not None else None
    if ref == LATEST:
        if not suite_id:
            raise UserError("'latest' needs a suite: give --suite SUITE_ID (or a run id)")
        run = store.latest_run(
            suite_id=suite_id, prompt_name=prompt_name, before=before, exclude=exclude
        )
        if run is None:
            scope = f"suite {suite_id!r}" + (f", prompt {prompt_name!r}" if prompt_name else "")
            older = " before the candidate" if relative_to is not None else ""
            raise NotFoundError(f"no completed run of {scope}{older}")
        return run
    if ref.startswith(ALIAS_PREFIX):
        alias = ref.removeprefix(ALIAS_PREFIX)
        if not alias:
            raise UserError("write the alias as alias:NAME")
        run = store.latest_run(suite_id=suite_id, alias=alias, before=before, exclude=exclude)
        if run is None:
            scope = f" of suite {suite_id!r}" if suite_id else ""
            raise NotFoundError(f"no completed run{scope} under alias {alias!r}")
        return run
    return store.get_run(ref)


def named_run(store: Store, ref: str) -> RunRecord:
    """The run a command that reads one run (``runs show``, ``export``, ``report``,
    ``judges``) is given: ``latest`` is the newest run whatever its status (the one just
    run, failed or not), ``alias:NAME`` and an id as :func:`resolve_run` reads them."""
    if ref != LATEST:
        return resolve_run(store, ref)
    newest = store.list_runs(limit=1)
    if not newest:
        raise NotFoundError(f"no run recorded in {store.location} yet")
    return newest[0]
