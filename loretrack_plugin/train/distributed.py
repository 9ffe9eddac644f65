"""torchrun / DistributedDataParallel plumbing; the same code runs as one plain process.

``torchrun --nproc_per_node N -m loretrack_plugin train ...`` sets RANK / WORLD_SIZE / LOCAL_RANK; the
process group uses NCCL on GPUs and gloo on CPU. A process group created by the caller (tests spawn
their own) is used as is; its local rank is ``LOCAL_RANK`` when set, else the number of lower ranks on
the same host.

Rules this module enforces (see :func:`resolve_device`):

* every process of a multi-process run drives GPU ``LOCAL_RANK`` (``torch.cuda.set_device`` is called
  whoever created the process group); an explicit ``run.device: cuda:N`` cannot put every rank on
  one GPU: the index is replaced by the local rank, with a warning;
* multi-node runs need ``run.output_dir`` on a filesystem every node sees (only global rank 0 writes
  checkpoints, every rank reads them on resume): :func:`ranks_not_seeing` and
  :func:`shared_dir_probe` detect the case so the trainer can explain it.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

import torch
import torch.distributed as dist

log = logging.getLogger("loretrack")

#: seconds a rank keeps looking for a file another node just wrote (NFS may cache a negative lookup)
VISIBILITY_WAIT_S = 10.0


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we created the process group, so we destroy it
    hosts: Tuple[str, ...] = field(default_factory=lambda: (socket.gethostname(),))  # host of every rank

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def nodes(self) -> int:
        return len(set(self.hosts))


def _gather_hosts(world: int) -> Tuple[str, ...]:
    out: List = [None] * world
    dist.all_gather_object(out, socket.gethostname())
    return tuple(out)


def setup(device_type: str) -> DistInfo:
    """Join (or create, under torchrun) the process group; one process: a plain :class:`DistInfo`.

    For CUDA runs the process's GPU is selected before NCCL starts, also when the caller made the
    group (:func:`resolve_device` picks the index).
    """
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        hosts = _gather_hosts(world) if world > 1 else (socket.gethostname(),)
        env = os.environ.get("LOCAL_RANK")
        local = int(env) if env is not None else hosts[:rank].count(hosts[rank])
        info = DistInfo(rank, world, local, hosts=hosts)
        if device_type == "cuda" and world > 1:
            torch.cuda.set_device(cuda_index(info))
        return info
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but torch.distributed is not available in this build")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(cuda_index(DistInfo(local_rank=local, world=world)))
    dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    world = dist.get_world_size()
    return DistInfo(dist.get_rank(), world, local, owns_group=True, hosts=_gather_hosts(world))


def cuda_index(info: DistInfo) -> int:
    """GPU of this process in a multi-process run: ``local_rank``, or 0 when the process sees one GPU
    only (``CUDA_VISIBLE_DEVICES`` set per process). Raises when the local rank has no GPU."""
    n = torch.cuda.device_count()
    if n == 0:
        raise RuntimeError("run.device asks for CUDA but torch sees no GPU on this host")
    if info.local_rank < n:
        return info.local_rank
    if n == 1:
        return 0
    raise RuntimeError(f"local rank {info.local_rank} has no GPU: only {n} are visible on {socket.gethostname()} "
                       f"(start at most {n} processes per node)")


def parse_device(requested: str) -> torch.device:
    """``run.device`` as a :class:`torch.device` (``auto``: ``cuda`` when a GPU is visible, else ``cpu``)."""
    req = str(requested).strip()
    if req == "auto":
        req = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        return torch.device(req)
    except RuntimeError:
        raise ValueError(f"run.device={requested!r}: expected auto, cpu, cuda or cuda:N") from None


def resolve_device(requested: str, info: DistInfo) -> torch.device:
    """This process's device for ``run.device`` (``auto``, ``cpu``, ``cuda`` or ``cuda:N``).

    * ``auto``: ``cuda`` when a GPU is visible, else ``cpu``;
    * one process: the device as written (``cuda`` = the current GPU, normally ``cuda:0``);
    * several processes on CUDA: ``cuda:LOCAL_RANK`` (:func:`cuda_index`). An explicit ``cuda:N``
      that differs is replaced, with a warning: under torchrun the same config runs on every rank,
      and ``cuda:0`` there would put every process on GPU 0.

    ``torch.cuda.set_device`` is called for a CUDA device, so NCCL and every allocation without an
    explicit device use it.
    """
    dev = parse_device(requested)
    if dev.type != "cuda":
        return dev
    if not torch.cuda.is_available():
        raise ValueError(f"run.device={requested!r} but torch sees no CUDA GPU on this host (use cpu or auto)")
    if info.enabled:
        idx = cuda_index(info)
        if dev.index is not None and dev.index != idx:
            log.warning("run.device=%s ignored for rank %d of %d: every process of a multi-process run uses the GPU "
                        "of its local rank (cuda:%d)", requested, info.rank, info.world, idx)
    else:
        idx = torch.cuda.current_device() if dev.index is None else dev.index
        if idx >= torch.cuda.device_count():
            raise ValueError(f"run.device={requested!r}: only {torch.cuda.device_count()} GPUs are visible")
    torch.cuda.set_device(idx)
    return torch.device("cuda", idx)


def teardown(info: DistInfo) -> None:
    if info.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(t: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_objects(obj, info: DistInfo) -> List:
    if not info.enabled:
        return [obj]
    out = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


# ------------------------------------------------------------------------------------------------
# multi-node: is a path shared?
# ------------------------------------------------------------------------------------------------
def _wait_for(check, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))


def ranks_not_seeing(path: str, info: DistInfo, wait_s: float = 0.0) -> List[int]:
    """Ranks on which ``path`` does not exist (collective; each rank looks for up to ``wait_s`` s)."""
    seen = _wait_for(lambda: os.path.exists(path), wait_s)
    return [r for r, ok in enumerate(all_gather_objects(seen, info)) if not ok]


def describe_ranks(ranks: Sequence[int], info: DistInfo) -> str:
    """``"ranks 2, 3 (host b)"``-style description of some ranks, for error messages."""
    by_host = {}
    for r in ranks:
        by_host.setdefault(info.hosts[r] if r < len(info.hosts) else "?", []).append(r)
    parts = [f"{'rank' if len(rs) == 1 else 'ranks'} {', '.join(map(str, rs))} (host {h})" for h, rs in by_host.items()]
    return "; ".join(parts)


def shared_dir_probe(directory: str, info: DistInfo, wait_s: float = None) -> List[int]:
    """Ranks that cannot read a file global rank 0 writes into ``directory`` (collective).

    Rank 0 creates the folder and a probe file with a random token; every rank looks for the token
    (for up to ``wait_s`` seconds, default :data:`VISIBILITY_WAIT_S`), then rank 0 removes the file.
    An empty list means the folder is shared (always so for one process).
    """
    if not info.enabled:
        return []
    wait_s = VISIBILITY_WAIT_S if wait_s is None else wait_s
    token = all_gather_objects(uuid.uuid4().hex if info.is_main else None, info)[0]
    path = os.path.join(directory, f".shared-probe-{token}")
    if info.is_main:
        os.makedirs(directory, exist_ok=True)
        with open(path, "w") as f:
            f.write(token)
    barrier(info)

    def readable() -> bool:
        try:
            with open(path) as f:
                return f.read() == token
        except OSError:
            return False

    seen = _wait_for(readable, wait_s)
    missing = [r for r, ok in enumerate(all_gather_objects(seen, info)) if not ok]
    if info.is_main:
        try:
            os.remove(path)
        except OSError:
            pass
    return missing
