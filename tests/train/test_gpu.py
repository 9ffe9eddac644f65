"""The trainer on a CUDA GPU (skipped, with the reason, on hosts without one).

The CPU tests pin ``run.device: cpu`` and compare exact values; these check what only a GPU shows:
the autocast dtype chosen for this GPU, a finite AMP step with a saturated score map, a resume that
matches within GPU tolerance, labels and loss without host synchronisation, and one GPU per rank.
"""
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from loretrack_plugin.data.labels import gaussian_heatmap
from loretrack_plugin.train import Trainer, train
from loretrack_plugin.train.losses import FocalLoss
from loretrack_plugin.train.trainer import amp_dtype, set_train_mode

from .conftest import tiny_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this host)")


def _gpu_config(out, **over):
    cfg = tiny_config(out, **over)
    cfg["run"]["device"] = over.get("run", {}).get("device", "cuda")
    return cfg


def test_autocast_dtype_follows_the_compute_capability():
    dev = torch.device("cuda", 0)
    major = torch.cuda.get_device_capability(dev)[0]
    assert amp_dtype(True, dev) is (torch.bfloat16 if major >= 8 else torch.float16)


def test_amp_step_with_a_saturated_score_map_is_finite(tmp_path):
    prior = 1.0 / (1.0 + math.exp(-12.0))  # every score logit starts at 12
    trainer = Trainer(_gpu_config(tmp_path / "run", model={"score_prior": prior}))
    assert trainer.device.type == "cuda" and trainer.amp_dtype in (torch.bfloat16, torch.float16)
    assert trainer.scaler.is_enabled() == (trainer.amp_dtype == torch.float16)
    assert torch.backends.cudnn.benchmark
    set_train_mode(trainer.student, True)
    batch = next(iter(trainer.loader))
    for _ in range(3):
        stats = trainer.train_step(batch)  # NonFiniteLossError on NaN
        assert all(math.isfinite(v) for v in stats.values())
    assert all(torch.isfinite(p).all() for p in trainer.student.parameters())


def test_resume_on_gpu_matches_within_tolerance(tmp_path):
    over = {"optim": {"amp": False}, "run": {"cudnn_benchmark": False}}
    full = Trainer(_gpu_config(tmp_path / "full", **over))
    full.fit()
    ref = full.step_losses
    part = _gpu_config(tmp_path / "part", **over)
    train(part, max_steps=3)
    again = Trainer(part, resume=True)
    again.fit()
    # GPU kernels (atomics in backward) are not bit-reproducible: equal within a tolerance, not torch.equal
    assert again.step_losses == pytest.approx(ref[3:], rel=1e-3)


def test_labels_and_focal_loss_do_not_synchronise_with_the_host():
    boxes = torch.rand(32, 4, device="cuda") * 0.5
    score = torch.rand(32, 1, 16, 16, device="cuda")
    gaussian_heatmap(boxes, 16)  # warm-up (first kernel launches may sync)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        heat = gaussian_heatmap(boxes, 16)
        loss = FocalLoss()(score, heat)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert heat.is_cuda and torch.isfinite(loss)


def _placement_worker(rank, world, store, out):
    os.environ["LOCAL_RANK"] = str(rank)
    torch.cuda.set_device(rank)
    dist.init_process_group("nccl", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        # the config asks for cuda:0 (a single-GPU config launched as is): every rank must still get its own GPU
        trainer = Trainer(_gpu_config(os.path.join(out, "run"), optim={"batch_size": 2}, run={"device": "cuda:0"}))
        trainer.train_step(next(iter(trainer.loader)))
        torch.save({"device": str(trainer.device), "current": torch.cuda.current_device()},
                   os.path.join(out, f"placement{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_every_rank_gets_its_own_gpu_with_a_caller_made_group(tmp_path):
    mp.spawn(_placement_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        got = torch.load(tmp_path / f"placement{rank}.pt")
        assert got == {"device": f"cuda:{rank}", "current": rank}
