"""Execute one shard of a run: the plan's items with ``seq`` in ``[start, stop)``.

The same executor as a whole run (render, cache, call, score, record through the one
writer), with two differences: it neither marks the run started nor finishes it (the
run's record belongs to the fleet: whoever settles the last shard finishes the run, see
:mod:`evalbook.storage.shards`), and items already recorded without error are skipped, so
a shard delivered twice asks the model nothing twice beyond what was in flight.
"""

from __future__ import annotations

import asyncio
from typing import Any

from evalbook.core.result import ResultStatus
from evalbook.core.run import RunRecord
from evalbook.executor.plan import iter_items
from evalbook.executor.runner import CHUNK, RunExecutor
from evalbook.executor.writer import ResultWriter

__all__ = ["ShardExecutor", "auto_shards"]

#: Items per shard under ``--shards auto``: a few minutes of work at typical latencies
#: (500 items at concurrency 8 and 2 s a call take about two minutes).
AUTO_ITEMS = 500


def auto_shards(items: int, workers_hint: int = 1) -> int:
    """Shards for ``items``: about ``AUTO_ITEMS`` each, at least ``workers_hint``."""
    return max(1, min(items, max(workers_hint, -(-items // AUTO_ITEMS))))


class ShardExecutor(RunExecutor):
    def __init__(self, *args: Any, start: int, stop: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start, self.stop_seq = start, stop

    async def _execute(self) -> RunRecord:
        opts = self.run.options
        cases = self.suite.select(opts.case_ids)
        statuses = await self.io.call(self.store.result_statuses, self.run.id)
        done = {k for k, status in statuses.items() if status != ResultStatus.error.value}
        items = (
            item
            for item in iter_items(cases, opts.epochs, done)
            if self.start <= item.seq < self.stop_seq
        )
        await self.provider.start()
        async with ResultWriter(self.store, self.io) as writer:
            queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max(2 * opts.concurrency, CHUNK))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._produce(items, queue, opts.concurrency))
                for _ in range(opts.concurrency):
                    tg.create_task(self._work(queue, writer))
        return self.run
