"""Group commit for intake and the worker: concurrent submissions share one transaction.

A submission waits until the transaction holding it has committed, so the
channel is answered only after a durable write. If a batch fails, each of its
submissions is retried alone, so one bad row never costs the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Pending(Generic[Item, Result]):
    item: Item
    future: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class BatchWriter(Generic[Item, Result]):
    def __init__(
        self,
        write_batch: Callable[[Sequence[Item]], Awaitable[list[Result]]],
        max_batch: int = 200,
        concurrency: int = 1,
        linger: int = 0,
        whole: bool = False,
    ):
        """`concurrency`: batches in flight at once (a server database overlaps their round trips).
        `linger`: turns of the event loop to wait after the first submission before the batch is
        taken, so that the jobs woken in those turns join it (for a writer whose write does not
        wait itself: SQLite on the loop). `whole`: one task collects at a time, so that the
        submissions of one turn (a worker's cohort) go out as one batch, not one item to each idle
        task."""
        self._write_batch = write_batch
        self._max_batch = max_batch
        self._concurrency = concurrency
        self._linger = linger
        self._queue: asyncio.Queue[_Pending[Item, Result]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._collecting = asyncio.Lock() if whole else contextlib.nullcontext()

    @property
    def started(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name=f"batch-writer-{n}") for n in range(self._concurrency)
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        while not self._queue.empty():  # never leave a caller hanging
            pending = self._queue.get_nowait()
            if not pending.future.done():
                pending.future.set_exception(RuntimeError("store is shutting down"))

    async def submit(self, item: Item) -> Result:
        if not self._tasks:
            raise RuntimeError("batch writer not started")
        pending: _Pending[Item, Result] = _Pending(item)
        self._queue.put_nowait(pending)
        return await pending.future

    async def _run(self) -> None:
        while True:
            async with self._collecting:  # `whole`: submissions of one turn wake every idle get()
                batch = [await self._queue.get()]
                for _ in range(self._linger):
                    await asyncio.sleep(0)
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[_Pending[Item, Result]]) -> None:
        try:
            results = await self._write_batch([p.item for p in batch])
        except Exception as exc:
            if len(batch) == 1:
                if not batch[0].future.done():
                    batch[0].future.set_exception(exc)
                return
            log.warning("batch of %d failed (%s); retrying one by one", len(batch), exc)
            for pending in batch:
                await self._write([pending])
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)
