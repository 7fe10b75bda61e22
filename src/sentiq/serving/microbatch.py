"""Dynamic micro-batching: concurrent requests share one model call.

Requests put their texts on an asyncio queue; one worker task takes the first waiting
request, then keeps gathering until ``max_batch_size`` texts are together or
``max_wait_ms`` has passed, runs the model once in a dedicated thread (the event loop
stays free to accept and gather the next batch meanwhile) and hands each request its
slice of the results. Under load the batches grow, so throughput grows with load; a lone
request pays at most ``max_wait_ms``.

With batching off every request is run on its own, one after another, in the same thread.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

log = logging.getLogger(__name__)

PredictFn = Callable[[list[str]], Sequence]


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Gathers ``submit`` calls into batches for ``predict`` (a blocking function of a list of texts)."""

    def __init__(self, predict: PredictFn, *, max_batch_size: int = 32, max_wait_ms: float = 5.0,
                 enabled: bool = True, on_batch: Callable[[int], None] | None = None):
        self._predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.enabled = enabled
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Job] | None = None
        self._held: _Job | None = None  # a request that did not fit the previous batch
        self._task: asyncio.Task | None = None
        # One thread: model calls never overlap, so they do not fight over the CPU cores.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentiq-predict")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="sentiq-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def submit(self, texts: list[str]) -> list:
        """The predictions for ``texts``, in order, once their batch has run."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        await self._queue.put(job)
        return await job.future

    async def _next_batch(self) -> list[_Job]:
        first = self._held or await self._queue.get()
        self._held = None
        jobs, size = [first], len(first.texts)
        if not self.enabled:
            return jobs
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while size < self.max_batch_size:
            timeout = deadline - asyncio.get_running_loop().time()
            try:
                job = self._queue.get_nowait() if timeout <= 0 else await asyncio.wait_for(self._queue.get(), timeout)
            except (asyncio.QueueEmpty, asyncio.TimeoutError):
                break
            if size + len(job.texts) > self.max_batch_size:
                self._held = job  # starts the next batch; requests are never split
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._next_batch()
            jobs = [job for job in jobs if not job.future.done()]  # clients that went away
            if not jobs:
                continue
            texts = [text for job in jobs for text in job.texts]
            if self._on_batch:
                self._on_batch(len(texts))
            try:
                results = await loop.run_in_executor(self._executor, self._predict, texts)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
                if len(jobs) == 1:
                    log.error("prediction failed for a request of %d texts: %r", len(texts), exc)
                    if not jobs[0].future.done():
                        jobs[0].future.set_exception(exc)
                else:
                    await self._isolate(jobs, loop)
                continue
            start = 0
            for job in jobs:
                end = start + len(job.texts)
                if not job.future.done():
                    job.future.set_result(list(results[start:end]))
                start = end

    async def _isolate(self, jobs: list[_Job], loop) -> None:
        """A failed batch is retried request by request, so one bad request fails alone."""
        for job in jobs:
            try:
                result = await loop.run_in_executor(self._executor, self._predict, job.texts)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting request
                log.exception("prediction failed for a request of %d texts", len(job.texts))
                if not job.future.done():
                    job.future.set_exception(exc)
            else:
                if not job.future.done():
                    job.future.set_result(list(result))
