"""Two gloo processes on CPU give the gradients of one process on the union of their batches."""
import os
import shutil

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
    os.environ.pop("LOCAL_RANK", None)  # mp.spawn sets none: the local rank comes from the hosts of the group
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        trainer = Trainer(_config(os.path.join(out, "run"), batch=2), mode="distill", teacher=teacher)
        assert trainer.device == torch.device("cpu")  # pinned by the config, whatever the host has
        assert trainer.dist.local_rank == rank and trainer.dist.nodes == 1
        assert trainer.unshared_ranks == []  # one host, one filesystem
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


# ---- multi-node and world-size rules --------------------------------------------------------------
def _rules_worker(rank, world, store, out, teacher, ckpt):
    from loretrack_plugin.train import ConfigError
    from loretrack_plugin.train import distributed as ddp
    torch.set_num_threads(1)
    ddp.VISIBILITY_WAIT_S = 0.2
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    res = {}
    try:
        # a 1-process checkpoint (batch 4) stopped after 4 samples of epoch 2, resumed by 2 processes x 2
        shared = os.path.join(out, "shared")
        t = Trainer(_config(shared, batch=2), mode="distill", teacher=teacher, resume=ckpt)
        t.batches.epoch, t.batches.start_step = 2, t.step_in_epoch
        res["converted"] = (t.step_in_epoch, list(t.batches))
        res["unshared_shared"] = t.unshared_ranks
        try:  # 2 x 4 = 8 does not divide 4
            Trainer(_config(shared, batch=4), mode="distill", teacher=teacher, resume=ckpt)
        except ConfigError as e:
            res["refused"] = str(e)

        # no shared filesystem, simulated: each rank sees its own folder under the same configured path
        own = os.path.join(out, f"node{rank}")
        t = Trainer(_config(own, batch=2), mode="distill", teacher=teacher)
        res["unshared"] = t.unshared_ranks
        if rank == 0:  # only rank 0's node holds the run's checkpoints
            os.makedirs(os.path.join(own, "checkpoints"))
            shutil.copyfile(ckpt, os.path.join(own, "checkpoints", "latest.pth.tar"))
        try:
            Trainer(_config(own, batch=2), mode="distill", teacher=teacher, resume=True)
        except ValueError as e:
            res["resume_error"] = str(e)

        # generated data: rank 0 generates at its path; the other node generates its own copy
        spec = {"type": "got10k", "root": os.path.join(out, f"gen{rank}"), "split": "train",
                "generate": {"sequences": 2, "frames": 24, "seed": 3, "image_size": [96, 72]}}
        cfg = _config(own, batch=2)
        cfg["data"]["train"]["datasets"] = [spec]
        t = Trainer(cfg, mode="distill", teacher=teacher)
        res["generated"] = sorted(os.listdir(os.path.join(spec["root"], "train")))
    finally:
        dist.destroy_process_group()
    torch.save(res, os.path.join(out, f"rules{rank}.pt"))


def test_world_size_resume_and_unshared_filesystem_rules(tmp_path, teacher_ckpt):
    from loretrack_plugin.train import distill
    # 3 epochs of 2 steps; stopped after step 3, i.e. 4 samples into epoch 2
    distill(tiny_config(tmp_path / "single", model={"freeze_bn": True}), teacher_ckpt, max_steps=3)
    ckpt = str(tmp_path / "single" / "checkpoints" / "latest.pth.tar")
    mp.spawn(_rules_worker, args=(2, str(tmp_path / "store"), str(tmp_path), teacher_ckpt, ckpt), nprocs=2,
             join=True)
    r = [torch.load(tmp_path / f"rules{k}.pt", weights_only=False) for k in range(2)]
    # 4 samples done = step 1 of 2 x 2; the ranks split the remaining samples 4..7 of epoch 2
    assert r[0]["converted"] == (1, [[(2, 4), (2, 5)]]) and r[1]["converted"] == (1, [[(2, 6), (2, 7)]])
    assert r[0]["unshared_shared"] == r[1]["unshared_shared"] == []
    for k in range(2):
        assert "global batch is 8 (2 processes x batch 4) and does not divide 4" in r[k]["refused"]
        assert r[k]["unshared"] == [1]
        err = r[k]["resume_error"]
        assert "not visible to rank 1 (host " in err and "filesystem every node shares" in err
        assert r[k]["generated"] == ["GOT-10k_Train_000001", "GOT-10k_Train_000002", "list.txt"]
