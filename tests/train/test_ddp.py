"""Two gloo processes on CPU give the gradients of one process on the union of their batches."""
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from loretrack_plugin.train import Trainer
from loretrack_plugin.train.trainer import set_train_mode

from .conftest import tiny_config


def _config(out, batch):
    # BatchNorm statistics are per process (as in the official code, no SyncBN on CPU): with the head's
    # BN frozen, a rank's loss is exactly its share of the union's loss
    return tiny_config(out, model={"freeze_bn": True}, optim={"batch_size": batch, "epochs": 1})


def _grads(trainer):
    batch = next(iter(trainer.loader))
    set_train_mode(trainer.student, True, freeze_bn=True)
    stats = trainer.backward(batch)
    grads = {n: p.grad.detach().clone() for n, p in trainer.student.named_parameters() if p.grad is not None}
    return grads, batch["sample_id"], stats


def _worker(rank, world, store, out, teacher):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        trainer = Trainer(_config(os.path.join(out, "run"), batch=2), mode="distill", teacher=teacher)
        grads, ids, stats = _grads(trainer)
        result = trainer.fit()  # one epoch of 2 steps: all-reduce, checkpoint collectives
        weights = {k: v.clone() for k, v in trainer.student.state_dict().items()}
        torch.save({"grads": grads, "ids": ids, "stats": stats, "checkpoint": result["checkpoint"],
                    "weights": weights, "world": trainer.dist.world}, os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_process_gloo_ddp_matches_one_process_on_the_union(tmp_path, teacher_ckpt):
    mp.spawn(_worker, args=(2, str(tmp_path / "store"), str(tmp_path), teacher_ckpt), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=False)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=False)
    assert r0["world"] == 2

    single = Trainer(_config(tmp_path / "single", batch=4), mode="distill", teacher=teacher_ckpt)
    grads, ids, stats = _grads(single)

    assert sorted(r0["ids"] + r1["ids"]) == sorted(ids)  # the shards cover exactly the union
    assert not set(r0["ids"]) & set(r1["ids"])
    assert set(grads) == set(r0["grads"]) and len(grads) > 50
    for name, g in grads.items():
        torch.testing.assert_close(r0["grads"][name], g, rtol=1e-4, atol=1e-6, msg=name)
        torch.testing.assert_close(r1["grads"][name], r0["grads"][name], rtol=0, atol=0, msg=name)
    # the logged (all-reduced) loss terms are those of the union
    for k in ("total", "giou", "l1", "focal", "qkv", "disc"):
        assert r0["stats"][k] == pytest.approx(stats[k], rel=1e-4)
    # after training, both processes hold the same weights; only rank 0 wrote the checkpoint
    assert all(torch.equal(r0["weights"][k], r1["weights"][k]) for k in r0["weights"])
    assert r0["checkpoint"].endswith("OSTrack_ep0001.pth.tar") and r1["checkpoint"] is None
    saved = torch.load(r0["checkpoint"], weights_only=True)
    assert saved["world_size"] == 2 and len(saved["rng"]) == 2 and saved["step"] == 2
    assert all(torch.equal(saved["net"][k], r0["weights"][k]) for k in saved["net"])
