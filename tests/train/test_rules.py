"""DDP and resume rules on one CPU process: position conversion, device choice, batch/LR warning."""
import logging
import os

import pytest
import torch

from loretrack_plugin.train import ConfigError, Trainer, distill
from loretrack_plugin.train import distributed as ddp
from loretrack_plugin.train.trainer import converted_step_in_epoch

from .conftest import tiny_config


def test_mid_epoch_position_converts_exactly_or_refuses():
    # 3 steps of 2 processes x 4 = 24 samples of the epoch done
    assert converted_step_in_epoch(3, 4, 2, 4, 2) == 3          # same run
    assert converted_step_in_epoch(3, 4, 2, 8, 1) == 3          # 1 x 8: same global batch
    assert converted_step_in_epoch(3, 4, 2, 4, 3) == 2          # 3 x 4 = 12 divides 24
    assert converted_step_in_epoch(3, 4, 2, 2, 1) == 12
    assert converted_step_in_epoch(0, 4, 2, 5, 7) == 0          # epoch boundary: always
    with pytest.raises(ConfigError) as err:
        converted_step_in_epoch(3, 4, 2, 4, 4, where="latest.pth.tar")  # 16 does not divide 24
    msg = str(err.value)
    assert msg.startswith("latest.pth.tar: stopped after 3 steps of its epoch = 24 samples (2 processes x batch 4)")
    assert "global batch is 16 (4 processes x batch 4) and does not divide 24" in msg
    assert "resume with 2 processes x batch 4, or from an end-of-epoch checkpoint" in msg and "\n" not in msg


def test_resume_with_another_global_batch(tmp_path, teacher_ckpt, caplog):
    # 8 samples per epoch, batch 4: stopped after step 3 = epoch 2, 4 of its samples done
    part = tiny_config(tmp_path / "part")
    distill(part, teacher_ckpt, max_steps=3)
    ckpt = os.path.join(tmp_path, "part", "checkpoints", "latest.pth.tar")
    saved = torch.load(ckpt, weights_only=True)
    assert (saved["world_size"], saved["batch_size"], saved["step_in_epoch"]) == (1, 4, 1)

    # batch 2: sample 4 of epoch 2 is the start of step 2
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        two = Trainer(tiny_config(tmp_path / "two", optim={"batch_size": 2}), mode="distill", teacher=teacher_ckpt,
                      resume=ckpt)
    assert (two.epoch, two.step, two.step_in_epoch) == (1, 3, 2)
    assert any("continues at sample 4 (step 2 instead of 1)" in r.getMessage() for r in caplog.records)
    two.batches.epoch, two.batches.start_step = 2, two.step_in_epoch
    assert list(two.batches) == [[(2, 4), (2, 5)], [(2, 6), (2, 7)]]  # exactly the samples left
    two.fit()  # 2 steps left in epoch 2, then 4 steps of 2 in epoch 3
    assert len(two.step_losses) == 6 and two.step == 9 and two.epoch == 3

    # batch 8 (one step per epoch): no step starts at sample 4
    with pytest.raises(ConfigError, match="does not divide 4, so the position cannot be converted exactly"):
        Trainer(tiny_config(tmp_path / "eight", optim={"batch_size": 8}), mode="distill", teacher=teacher_ckpt,
                resume=ckpt)
    # an end-of-epoch checkpoint resumes with any batch
    ep1 = distill(tiny_config(tmp_path / "ep1", optim={"epochs": 1}), teacher_ckpt)["checkpoint"]
    eight = Trainer(tiny_config(tmp_path / "eight2", optim={"batch_size": 8}), mode="distill", teacher=teacher_ckpt,
                    resume=ep1)
    assert (eight.epoch, eight.step_in_epoch) == (1, 0)


def test_effective_batch_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        Trainer(tiny_config(tmp_path / "a"))
    msgs = [r.getMessage() for r in caplog.records if "global batch" in r.getMessage()]
    assert len(msgs) == 1
    assert msgs[0].startswith("global batch 4 (optim.batch_size 4 per process x 1 process) differs from "
                              "optim.reference_batch=128 (the published recipe: 4 GPUs x 32)")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        Trainer(tiny_config(tmp_path / "b", optim={"reference_batch": 4}))
        Trainer(tiny_config(tmp_path / "c", optim={"reference_batch": None}))
    assert not [r for r in caplog.records if "global batch" in r.getMessage()]


# ---- device choice ------------------------------------------------------------------------------
def test_device_parsing_on_this_host():
    assert ddp.parse_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert ddp.resolve_device("cpu", ddp.DistInfo()) == torch.device("cpu")
    with pytest.raises(ValueError, match="run.device='gpu0': expected auto, cpu, cuda or cuda:N"):
        ddp.parse_device("gpu0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a host without a GPU")
def test_cuda_on_a_host_without_gpu_is_refused(tmp_path):
    with pytest.raises(ValueError, match="run.device='cuda' but torch sees no CUDA GPU"):
        Trainer(tiny_config(tmp_path / "run", run={"device": "cuda"}))


@pytest.fixture
def four_gpus(monkeypatch):
    """Pretend this host has ``n`` GPUs; returns the list of set_device calls."""
    calls = []

    def fake(n=4):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "set_device", lambda i: calls.append(i))
        return calls
    return fake


def test_every_rank_uses_the_gpu_of_its_local_rank(four_gpus, caplog):
    calls = four_gpus(4)
    rank2 = ddp.DistInfo(rank=6, world=8, local_rank=2, hosts=("a",) * 4 + ("b",) * 4)
    assert ddp.resolve_device("cuda", rank2) == torch.device("cuda", 2)
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        # run.device: cuda:0 under torchrun would put every rank on GPU 0
        assert ddp.resolve_device("cuda:0", rank2) == torch.device("cuda", 2)
    assert any("run.device=cuda:0 ignored for rank 6 of 8" in r.getMessage() for r in caplog.records)
    assert calls == [2, 2]
    # one process: the device as written
    assert ddp.resolve_device("cuda:3", ddp.DistInfo()) == torch.device("cuda", 3)
    with pytest.raises(ValueError, match="only 4 GPUs are visible"):
        ddp.resolve_device("cuda:5", ddp.DistInfo())
    # local rank beyond the GPUs of the node
    with pytest.raises(RuntimeError, match="local rank 5 has no GPU: only 4 are visible"):
        ddp.resolve_device("cuda", ddp.DistInfo(rank=5, world=8, local_rank=5))


def test_one_visible_gpu_per_process(four_gpus):
    four_gpus(1)  # CUDA_VISIBLE_DEVICES set per process: every rank sees its GPU as cuda:0
    assert ddp.resolve_device("cuda", ddp.DistInfo(rank=3, world=4, local_rank=3)) == torch.device("cuda", 0)


def test_describe_ranks_groups_by_host():
    info = ddp.DistInfo(rank=0, world=4, hosts=("a", "a", "b", "b"))
    assert ddp.describe_ranks([2, 3], info) == "ranks 2, 3 (host b)"
    assert ddp.describe_ranks([1, 2], info) == "rank 1 (host a); rank 2 (host b)"
    assert info.nodes == 2 and ddp.DistInfo().nodes == 1


def test_resume_takes_the_configs_lr_schedule(tmp_path, teacher_ckpt, caplog):
    # trained 1 epoch with the drop planned after epoch 5; resumed with the drop after epoch 2
    ep1 = distill(tiny_config(tmp_path / "ep1", optim={"epochs": 1, "lr_drop_epoch": 5}), teacher_ckpt)["checkpoint"]
    with caplog.at_level(logging.INFO, logger="loretrack"):
        run = Trainer(tiny_config(tmp_path / "r", optim={"epochs": 3, "lr_drop_epoch": 2}), mode="distill",
                      teacher=teacher_ckpt, resume=ep1)
    assert any("schedule changed on resume: lr_drop_epoch 5 -> 2" in r.getMessage() for r in caplog.records)
    lr0 = [g["lr"] for g in run.optimizer.param_groups]
    run.fit()
    # epoch 2 ends: drop by gamma (0.1); epoch 3 ends: no further drop (3 is not a multiple of 2)
    assert [g["lr"] for g in run.optimizer.param_groups] == pytest.approx([lr * 0.1 for lr in lr0])
