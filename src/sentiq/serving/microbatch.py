"""Dynamic micro-batching: concurrent requests share one model call.

Requests put their texts on an asyncio queue; one worker task takes the first waiting
request and gathers others into its batch until ``max_batch_size`` texts are together,
then runs the model once in a dedicated thread and hands each request its slice of the
results. While a batch runs, the next one gathers, and it starts the moment the model is
free: the model never waits for company while requests are queued (an earlier version
waited ``max_wait_ms`` after every batch, with the model idle). Only when the model is
idle does a request wait, at most ``max_wait_ms``, for others to join it. Under load the
batches grow, so throughput grows with load.

With batching off every request is run on its own, one after another, in the same thread.

The queue is bounded (``max_queue_texts``): a request that would overfill it is refused at
once with :class:`QueueFull` (the service answers 429 with ``Retry-After``), so overload
sheds requests instead of growing every request's latency. A request whose caller stopped
waiting (its future cancelled: the client went away) is dropped before its batch runs.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

log = logging.getLogger(__name__)

PredictFn = Callable[[list[str]], Sequence]


class QueueFull(Exception):
    """The batcher's queue cannot take the request now; ``retry_after`` is a whole number of seconds."""

    def __init__(self, queued: int, limit: int, retry_after: int):
        super().__init__(f"the service is busy: {queued} texts are waiting (limit {limit}); retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future = field(repr=False)


class MicroBatcher:
    """Gathers ``submit`` calls into batches for ``predict`` (a blocking function of a list of texts)."""

    def __init__(
        self,
        predict: PredictFn,
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        enabled: bool = True,
        on_batch: Callable[[int], None] | None = None,
        max_queue_texts: int | None = None,
        on_dropped: Callable[[int], None] | None = None,
    ):
        self._predict = predict
        self.max_queue_texts = max_queue_texts
        self.queued_texts = 0  # texts submitted and not yet taken into a model call
        self._on_dropped = on_dropped  # called with the texts of a request dropped because its caller left
        self._seconds_per_text = 0.05  # running estimate, for Retry-After
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.enabled = enabled
        self._on_batch = on_batch
        self._queue: asyncio.Queue[_Job] | None = None
        self._held: _Job | None = None  # a request that did not fit the previous batch
        self._task: asyncio.Task | None = None
        self._running: asyncio.Task | None = None  # the batch the model is computing now
        # One thread: model calls never overlap, so they do not fight over the CPU cores.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentiq-predict")

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="sentiq-batcher")

    async def stop(self) -> None:
        for task in (self._task, self._running):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def submit(self, texts: list[str]) -> list:
        """The predictions for ``texts``, in order, once their batch has run."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        if (
            self.max_queue_texts is not None
            and self.queued_texts + len(texts) > self.max_queue_texts
            and self.queued_texts > 0
        ):
            wait = (self.queued_texts + len(texts)) * self._seconds_per_text
            raise QueueFull(self.queued_texts, self.max_queue_texts, max(1, math.ceil(wait)))
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        self.queued_texts += len(job.texts)
        self._queue.put_nowait(job)
        return await job.future

    def _model_busy(self) -> bool:
        return self._running is not None and not self._running.done()

    async def _next_job(self, deadline: float) -> _Job | None:
        """The next queued request; None once the model is free again (while it is busy) or, with the model
        idle, once ``deadline`` has passed."""
        loop = asyncio.get_running_loop()
        if not self._queue.empty():
            return self._queue.get_nowait()
        if self._model_busy():
            getter = asyncio.ensure_future(self._queue.get())
            await asyncio.wait({getter, self._running}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                return getter.result()
            getter.cancel()  # a cancelled get leaves its item in the queue
            return None
        timeout = deadline - loop.time()
        if timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def _next_batch(self) -> list[_Job]:
        first = self._held or await self._queue.get()
        self._held = None
        jobs, size = [first], len(first.texts)
        if not self.enabled:
            return jobs
        # The wait for company counts from when the model is free: while it is busy the batch keeps growing.
        deadline = asyncio.get_running_loop().time() + self.max_wait
        while size < self.max_batch_size:
            job = await self._next_job(deadline)
            if job is None:
                break
            if size + len(job.texts) > self.max_batch_size:
                self._held = job  # starts the next batch; requests are never split
                break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self) -> None:
        while True:
            jobs = await self._next_batch()
            if self._running is not None:
                await asyncio.wait({self._running})  # model calls never overlap (one thread, all the cores)
            # Texts count as queued until their model call starts (a gathering batch holds queue places).
            self.queued_texts -= sum(len(job.texts) for job in jobs)
            for job in jobs:
                if job.future.done() and self._on_dropped:  # cancelled: the caller went away
                    self._on_dropped(len(job.texts))
            jobs = [job for job in jobs if not job.future.done()]
            if jobs:
                self._running = asyncio.create_task(self._execute(jobs), name="sentiq-batch")

    async def _execute(self, jobs: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        texts = [text for job in jobs for text in job.texts]
        if self._on_batch:
            self._on_batch(len(texts))
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self._predict, texts)
            self._seconds_per_text = 0.8 * self._seconds_per_text + 0.2 * (time.perf_counter() - started) / len(texts)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(jobs) == 1:
                log.error("prediction failed for a request of %d texts: %r", len(texts), exc)
                if not jobs[0].future.done():
                    jobs[0].future.set_exception(exc)
            else:
                await self._isolate(jobs, loop)
            return
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
