"""Process-group setup shared by humokit's trainers (priors, video adapters) under ``torchrun``/``accelerate``."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def setup_distributed() -> tuple[int, int, torch.device]:
    """Rank, world size and device from the ``WORLD_SIZE``/``LOCAL_RANK`` environment variables.

    Initialises the process group (NCCL on CUDA, else gloo) when ``WORLD_SIZE`` > 1;
    a single process gets rank 0, world 1, and CUDA ``LOCAL_RANK`` or the CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    if torch.cuda.is_available():
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    return rank, world, dev
