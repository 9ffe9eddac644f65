"""experiments/mini/gpu_run.py: the time-boxed GPU recipe (planning, the DDP check, the export), on CPU."""
import socket

import pytest
import torch

from loretrack_plugin import build_net_from_checkpoint
from loretrack_plugin.train.trainer import Trainer
from tests.conftest import load_script

from .conftest import tiny_config


def _module():
    return load_script("experiments/mini/gpu_run.py")


def test_plan_fits_the_time_and_drops_the_rate_late():
    plan = _module().plan_samples(2000.0, 100.0, 128, per_epoch=16384)
    assert plan["samples"] <= 2000 * 100 * 0.85
    assert plan["samples"] == plan["epochs"] * plan["samples_per_epoch"]
    assert plan["samples_per_epoch"] % 128 == 0
    assert plan["epochs"] == 10 and plan["lr_drop_epoch"] == 8
    tiny = _module().plan_samples(10.0, 1.0, 128, per_epoch=16384)  # less than a batch: one batch
    assert tiny == {"epochs": 1, "samples_per_epoch": 128, "samples": 128, "lr_drop_epoch": 1}
    with pytest.raises(ValueError):
        _module().plan_samples(0.0, 10.0, 128, per_epoch=16384)


def test_ddp_check_trains_through_distributed_data_parallel(tmp_path, monkeypatch):
    with socket.socket() as s:  # a free port for the one-process group
        s.bind(("127.0.0.1", 0))
        monkeypatch.setenv("MASTER_PORT", str(s.getsockname()[1]))
    prof = _module().ddp_check(tiny_config(tmp_path / "check"), {}, steps=2)
    assert prof["backend"] == "gloo" and prof["ddp"] == "DistributedDataParallel"
    assert prof["device"] == "cpu" and prof["precision"] == "fp32"
    assert prof["loader_samples_per_s"] > 0 and prof["step_samples_per_s"] > 0
    assert prof["all_reduce"] == 1.0 and torch.isfinite(torch.tensor(prof["loss_last_step"]))
    assert not torch.distributed.is_initialized()


def test_export_keeps_the_network_in_fp16_and_the_record_without_optimiser(tmp_path):
    run_dir = tmp_path / "run"
    tr = Trainer(tiny_config(run_dir, optim={"epochs": 1}), mode="train")
    try:
        tr.fit()
    finally:
        tr.close()
    dst = _module().export(str(run_dir), str(tmp_path / "net.pth.tar"))
    obj = torch.load(dst, map_location="cpu", weights_only=False)
    assert "optimizer" not in obj and "rng" not in obj
    assert obj["step"] == 2 and obj["train_config"]["name"] == "tiny-test"
    assert all(v.dtype == torch.float16 for v in obj["net"].values() if v.is_floating_point())
    net = build_net_from_checkpoint(dst)
    ref = torch.load(run_dir / "checkpoints" / "latest.pth.tar", map_location="cpu", weights_only=False)["net"]
    for k, v in net.state_dict().items():
        assert torch.equal(v, ref[k].half().to(v.dtype)), k
