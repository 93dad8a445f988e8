"""Data-parallel training: torchrun + DistributedDataParallel (NCCL on GPUs, gloo on CPU).

A run started by ``torchrun --nproc-per-node N`` (or any launcher that sets RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT) joins a process group; every rank walks the same global batch
order and trains on its own slice of each global batch. DDP averages the gradients over ranks, so
the trainer weights each rank's mean loss by n_rank * world / n_global: the averaged gradient is
then exactly the gradient of the mean loss over the global batch, i.e. what one process computes
on the whole batch (Li et al., "PyTorch Distributed", VLDB 2020, Sec. 3).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from otters.errors import OttersError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the run: rank, world size, local rank, torch device string."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise OttersError(f"environment variable {name}={value!r} is not an integer; check the launcher") from None


def pick_device(requested: str = "auto", local_rank: int = 0) -> str:
    """'cuda:<local_rank>' when CUDA is available (or asked for), else 'cpu'."""
    if requested == "cpu":
        return "cpu"
    if requested.startswith("cuda") or requested == "auto":
        if torch.cuda.is_available():
            return f"cuda:{local_rank}" if requested in ("auto", "cuda") else requested
        if requested != "auto":
            raise OttersError(f"device {requested!r} asked for but CUDA is not available; use --device cpu")
        return "cpu"
    raise OttersError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:<index>")


def init_distributed(device: str = "auto", backend: str | None = None) -> DistInfo:
    """Join the process group described by the torchrun environment, or return a single-process DistInfo.

    Backend: NCCL when the device is a GPU, gloo on CPU (unless ``backend`` is given).
    """
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    dev = pick_device(device, local_rank)
    if world <= 1:
        return DistInfo(0, 1, 0, dev)
    if not 0 <= rank < world:
        raise OttersError(f"RANK={rank} is outside WORLD_SIZE={world}")
    if dev.startswith("cuda"):
        torch.cuda.set_device(torch.device(dev))
    if not dist.is_initialized():
        dist.init_process_group(backend=backend or ("nccl" if dev.startswith("cuda") else "gloo"))
    return DistInfo(rank, world, local_rank, dev)


def shard(indices: np.ndarray, rank: int, world: int) -> np.ndarray:
    """This rank's rows of a global batch: a contiguous block, sizes differing by at most one.

    Contiguous blocks keep a length-bucketed batch's rows of similar length together per rank.
    """
    return np.array_split(np.asarray(indices), world)[rank]


def loss_weight(n_local: int, n_global: int, world: int) -> float:
    """n_local * world / n_global: makes DDP's gradient average equal the global-batch mean gradient."""
    return n_local * world / n_global


def wrap(model, info: DistInfo, find_unused_parameters: bool = False):
    """DistributedDataParallel(model) when the run is distributed, the model itself otherwise."""
    if not info.distributed:
        return model
    ids = [int(info.device.split(":")[1])] if info.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=find_unused_parameters)


def unwrap(model):
    """The module inside a DDP wrapper (or the model itself)."""
    return getattr(model, "module", model)


def all_mean(value: float, info: DistInfo) -> float:
    """Mean of a float over ranks (for logging a global loss)."""
    if not info.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return float(t) / info.world


def gather_objects(obj, info: DistInfo) -> list:
    """[obj of rank 0, ..., obj of rank world-1] on every rank (in memory; nothing is written)."""
    if not info.distributed:
        return [obj]
    out = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj, info: DistInfo):
    """Rank 0's ``obj`` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    if info.distributed:
        dist.barrier()


def shutdown(info: DistInfo) -> None:
    """Leave the process group (call once at the end of a distributed run)."""
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for local multi-process runs and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn_entry(rank: int, world: int, port: int, fn, args) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    fn(*args)


def spawn_local(fn, world: int, args: tuple = ()) -> None:
    """Run ``fn(*args)`` in ``world`` CPU processes on loopback with the torchrun environment set.

    ``fn`` must be importable (a module-level function); it calls :func:`init_distributed` itself.
    """
    if world < 1:
        raise OttersError(f"world size must be >= 1, got {world}")
    mp.spawn(_spawn_entry, args=(world, free_port(), fn, args), nprocs=world, join=True)
