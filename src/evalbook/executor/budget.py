"""``--max-cost``: stop launching items when the projected spend would pass the budget.

Each launched item reserves an estimate of its cost (worst case until a few calls have
finished, then the mean actual cost per call); finishing releases the reservation and adds
the actual cost, judges' calls included (``extra``: the estimate learns them from the
mean, so a judged run stops earlier than an unjudged one). Projected spend = spent +
reserved + the next item's estimate. A judge with an unknown price adds nothing it could
count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evalbook.storage.store import Store


@dataclass
class Budget:
    max_cost: float | None
    spent: float = 0.0
    reserved: float = 0.0
    calls: int = 0
    _reservations: dict[int, float] = field(default_factory=dict)

    def estimate(self, worst_case: float) -> float:
        if self.calls >= 3:
            return max(self.spent / self.calls, 0.0)
        return worst_case

    def try_reserve(self, token: int, worst_case: float) -> bool:
        """Reserve the item's estimate; ``False`` when that would pass the budget."""
        if self.max_cost is None:
            return True
        estimate = self.estimate(worst_case)
        if self.spent + self.reserved + estimate > self.max_cost:
            return False
        self._reservations[token] = estimate
        self.reserved += estimate
        return True

    def settle(self, token: int, actual: float | None, *, called: bool, extra: float = 0.0) -> None:
        self.reserved -= self._reservations.pop(token, 0.0)
        self.spent += extra
        if called and actual is not None:
            self.spent += actual
            self.calls += 1


#: How a stop for the budget begins (a fleet's finisher tells it from a failure by it).
BUDGET_STOP = "max-cost reached"


class SharedBudget:
    """The run's ``max_cost`` shared by the shards of a fleet, wherever they run.

    A shard draws its allowance in slices (about one round of its concurrency) from a
    counter in the database (:func:`evalbook.storage.shards.take_budget`, one atomic
    update), spends it like a local :class:`Budget`, and at its end gives back what it
    did not spend (or charges what it spent beyond). So the fleet never hands out more
    than ``max_cost``; a worker that dies keeps its slice, and the run stops that much
    early, never late.
    """

    def __init__(self, store: Store, run_id: str, max_cost: float) -> None:
        self.store, self.run_id, self.max_cost = store, run_id, max_cost

    def top_up(self, budget: Budget, want: float) -> None:
        """Add up to ``want`` from the run's budget to ``budget``'s allowance."""
        from evalbook.storage import shards

        granted = shards.take_budget(self.store, self.run_id, want, self.max_cost)
        budget.max_cost = (budget.max_cost or 0.0) + granted

    def settle(self, budget: Budget) -> None:
        """Give back the allowance not spent (a negative amount charges an overrun)."""
        left = (budget.max_cost or 0.0) - budget.spent - budget.reserved
        if left:
            from evalbook.storage import shards

            shards.take_budget(self.store, self.run_id, -left, None)
        budget.max_cost = budget.spent + budget.reserved
