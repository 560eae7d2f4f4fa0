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
