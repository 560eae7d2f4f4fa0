"""The plan: cases × epochs as work items, rendered and cache-checked lazily in chunks.

Items are produced on demand (a bounded queue feeds the workers), so a 100k-case run never
holds 100k rendered prompts or coroutines at once. Each chunk's cache keys are looked up
in one query.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalbook.core.messages import ImagePart, Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import Case, PromptVersion
from evalbook.core.templating import DEFAULT_LIMITS, RenderLimits
from evalbook.errors import TemplateError
from evalbook.executor.cache import CacheKeys, cache_key
from evalbook.executor.events import ItemStarted
from evalbook.prompts.render import render_messages
from evalbook.providers.base import GenerateResponse


@dataclass
class WorkItem:
    """One case × epoch; identity ``(run_id, case.id, epoch)``; ``seq`` is plan order."""

    seq: int
    case: Case
    epoch: int
    messages: list[Message] = field(default_factory=list)
    render_error: TemplateError | None = None
    key: str | None = None
    cached: GenerateResponse | None = None


#: Characters of a question and of an output that progress events carry.
QUESTION_CHARS = 500


def item_started(run_id: str, item: WorkItem) -> ItemStarted:
    """The event saying ``item`` is being asked: its last user message and its images."""
    user = [m for m in item.messages if m.role == "user"]
    question = (user[-1] if user else item.messages[-1]).text if item.messages else ""
    shas = [a.sha256 for a in item.case.assets]
    for message in item.messages:
        if not isinstance(message.content, str):
            shas.extend(p.sha256 for p in message.content if isinstance(p, ImagePart))
    images = tuple(dict.fromkeys(shas))
    return ItemStarted(
        run_id, item.case.id, item.epoch, item.seq, question[:QUESTION_CHARS], images
    )


def iter_items(
    cases: Sequence[Case], epochs: int, skip: set[tuple[str, int]] | None = None
) -> Iterator[WorkItem]:
    """Epoch-major order (every case once before any twice), skipping finished items."""
    seq = 0
    for epoch in range(epochs):
        for case in cases:
            if not skip or (case.id, epoch) not in skip:
                yield WorkItem(seq=seq, case=case, epoch=epoch)
            seq += 1


def render_item(
    item: WorkItem,
    version: PromptVersion,
    config: ModelConfig,
    scope: str,
    *,
    reads_case: bool = False,
    identity: dict[str, Any] | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
    keys: CacheKeys | None = None,
) -> None:
    """Render ``item``'s messages and compute its cache key (with ``keys``, the run's
    :class:`CacheKeys`, when given: the same key, cheaper); a template error is kept on
    the item."""
    try:
        item.messages = render_messages(
            version, item.case, system_prompt=config.system_prompt, limits=limits
        )
    except TemplateError as exc:
        item.render_error = exc
        return
    case = (item.case.id, item.case.vars) if reads_case else None
    if keys is not None:
        item.key = keys.key(item.messages, item.epoch, case)
    else:
        item.key = cache_key(scope, config, item.messages, item.epoch, case, identity)


def chunks(items: Iterable[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    chunk: list[WorkItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def ahead(
    chunks: Iterator[list[WorkItem]],
    prepare: Callable[[list[WorkItem]], Awaitable[list[WorkItem]]],
) -> AsyncGenerator[list[WorkItem], None]:
    """``chunks``, each once ``prepare`` is done with it; the next one is prepared while
    the caller uses this one. One after the other, the workers ran dry at every chunk
    while its cache lookup ran (a fully cached run goes at the lookups' pace)."""
    chunk = next(chunks, None)
    task = None if chunk is None else asyncio.ensure_future(prepare(chunk))
    try:
        while task is not None:
            done = await task
            chunk = next(chunks, None)
            task = None if chunk is None else asyncio.ensure_future(prepare(chunk))
            yield done
    finally:
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])


class WorkQueue(asyncio.Queue[Any]):
    """The workers' queue; its first ``ramp`` items (a run's first wave, one per worker)
    are handed out one per turn of the event loop.

    Why: a chunk queued at once wakes every idle worker in the same turn, and each one
    prepares its request and opens its connection before any gets back to its socket to
    send: with 100 workers the first request left ~55 ms after its connection was opened.
    One item per turn lets the first requests go out while the next ones are prepared;
    the wave's last request leaves no later (the work before it is the same), and past
    the wave a put yields only when the queue is full, as before.
    """

    def __init__(self, maxsize: int, *, ramp: int) -> None:
        super().__init__(maxsize)
        self._ramp = ramp

    async def put(self, item: Any) -> None:
        await super().put(item)
        if self._ramp > 0:
            self._ramp -= 1
            await asyncio.sleep(0)
