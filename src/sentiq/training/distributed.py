"""Training under a launcher: ``torchrun --nproc_per_node N`` or ``accelerate launch --num_processes N``.

The launchers start N copies of the same ``sentiq`` command and describe each one in the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); transformers' Trainer reads the same
variables and runs DistributedDataParallel (gloo on the CPU, NCCL on GPUs). What this module
adds is what the Trainer leaves to its caller:

- which process writes: :func:`is_main_process` (rank 0 writes the model directory, the
  report, the run record, progress bars and log lines; the others train and return);
- one global batch: :func:`per_process_batch` splits ``training.batch_size`` over the processes
  so every optimiser step sees the same number of examples whatever N is (which is also what
  lets ``--resume`` continue a run with another N: the step count means the same thing);
- one decision: :func:`any_rank` reduces a per-process flag (a non-finite loss, a stop request)
  so every process raises or stops at the same step instead of leaving the others waiting in
  the next gradient all-reduce;
- work done once: :func:`main_process_first` (the tokenised cache is built by each node's
  first process and read by the others).

Outside a launcher every function is the single-process no-op, and none imports torch until a
process group exists.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager, nullcontext
from typing import Iterator

from sentiq.errors import ConfigError, Errors

log = logging.getLogger(__name__)


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    """This process's global rank (0 without a launcher)."""
    return int(os.environ.get("RANK", "0") or 0)


def is_main_process() -> bool:
    """Whether this process writes outputs: rank 0, or the only process."""
    return rank() == 0


def per_process_batch(global_batch: int, *, what: str = "training.batch_size") -> int:
    """``global_batch`` split evenly over the processes; a clear error when it does not split."""
    n = world_size()
    if global_batch % n:
        lower, upper = global_batch - global_batch % n, global_batch + n - global_batch % n
        raise ConfigError(Errors.E151, what=what, global_batch=global_batch, n=n, lower=lower or upper, upper=upper)
    return global_batch // n


def _group_ready() -> bool:
    if world_size() == 1:
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` holds on any process (an all-reduce: every process must call it at the same point)."""
    if not _group_ready():
        return flag
    import torch
    import torch.distributed as dist

    backend = dist.get_backend()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def barrier() -> None:
    """Wait until every process gets here (no-op in one process)."""
    if _group_ready():
        import torch.distributed as dist

        dist.barrier()


@contextmanager
def main_process_first(*, desc: str) -> Iterator[None]:
    """The block runs on each node's first process before the others enter it (they then find its cache).

    Uses accelerate's process state, the one the Trainer itself sets up; the process group starts here if the
    Trainer has not started it yet. Per node, not global: a cache on a node's local disk is built once per node.
    """
    if world_size() == 1:
        with nullcontext():
            yield
        return
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    log.debug("rank %d: %s (main process first)", rank(), desc)
    with state.local_main_process_first():
        yield


def describe() -> str:
    """``rank r of n, t threads`` for log lines (empty without a launcher)."""
    if world_size() == 1:
        return ""
    import torch

    return f"rank {rank()} of {world_size()}, {torch.get_num_threads()} threads"
