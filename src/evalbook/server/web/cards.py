"""The board's cards of finished runs, rendered once.

Why: ``/runs`` and ``/`` show every run finished in the last quarter hour as a card, and
rendering two dozen cards (a thousand grid cells each for large runs) was most of the
runs page's time. A finished run's card changes only when its record does (an archive, a
resume): the key below holds what the card shows of it, and the grid must be the very
object the grid cache gave (``storage.activity.progress_grid``), so a recomputed grid is
rendered again. Cards of runs still going are rendered on every look.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import Markup

from evalbook.server.web.templating import environment
from evalbook.storage.activity import Grid
from evalbook.storage.runs import WorkspaceRun

__all__ = ["card_html", "clear_cards"]

#: Cards kept: a board shows at most two dozen.
KEEP = 96

_CARDS: OrderedDict[Hashable, tuple[Grid, Markup]] = OrderedDict()
_LOCK = threading.Lock()


def card_html(item: WorkspaceRun, grid: Grid) -> Markup | None:
    """The card of a finished run (``_card.html``), from memory when it was rendered
    before in the same state; ``None`` for a run still going (the page renders it)."""
    run = item.run
    if not run.status.finished:
        return None
    c = run.counts
    key = (
        run.id,
        item.state,
        run.finished_at,
        run.archived_at,
        run.score,
        run.stop_reason,
        (c.total, c.passed, c.failed, c.errored),
    )
    with _LOCK:
        found = _CARDS.get(key)
        if found is not None and found[0] is grid:
            _CARDS.move_to_end(key)
            return found[1]
    html = Markup(environment().get_template("_card.html").render(item=item, grid=grid))
    with _LOCK:
        _CARDS[key] = (grid, html)
        while len(_CARDS) > KEEP:
            _CARDS.popitem(last=False)
    return html


def clear_cards() -> None:
    with _LOCK:
        _CARDS.clear()
