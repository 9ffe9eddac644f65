"""The training loop on CPU: learning, exact resume, checkpoints, logs, bad input."""
import glob
import json
import logging
import math
import os
import shutil

import pytest
import torch

from loretrack_plugin import build_net_from_checkpoint
from loretrack_plugin.cli import main as cli_main
from loretrack_plugin.train import NonFiniteLossError, Trainer, distill, train
from loretrack_plugin.train.trainer import ce_keep_ratio, set_train_mode
from tests.conftest import REAL_OTB

from .conftest import tiny_config


@pytest.mark.parametrize("mode", ["train", "distill"])
def test_one_step_lowers_the_loss_on_a_fixed_batch(tmp_path, teacher_ckpt, mode):
    cfg = tiny_config(tmp_path / "run", optim={"lr": 1e-3, "backbone_lr_mult": 1.0})
    trainer = Trainer(cfg, mode=mode, teacher=teacher_ckpt if mode == "distill" else None)
    batch = next(iter(trainer.loader))
    set_train_mode(trainer.student, True)
    with torch.no_grad():
        before = trainer.forward_loss(batch)[0].item()
    stats = trainer.train_step(batch)
    assert stats["total"] == pytest.approx(before, rel=1e-5)
    with torch.no_grad():
        after = trainer.forward_loss(batch)[0].item()
    assert after < before


def test_freeze_backbone_trains_the_head_alone(tmp_path):
    cfg = tiny_config(tmp_path / "run", model={"freeze_backbone": True}, optim={"lr": 1e-3})
    trainer = Trainer(cfg, mode="train")
    before = {n: p.detach().clone() for n, p in trainer.student.named_parameters()}
    trainer.train_step(next(iter(trainer.loader)))
    moved = {n for n, p in trainer.student.named_parameters() if not torch.equal(p, before[n])}
    assert moved and all(n.startswith("box_head.") for n in moved)
    assert not any(p.requires_grad for p in trainer.student.backbone.parameters())
    assert len(trainer.optimizer.param_groups[1]["params"]) == 0  # no backbone parameter is optimised


def test_resume_reproduces_the_next_losses_exactly(tmp_path, teacher_ckpt):
    # drop path on: the per-process RNG state must be restored too
    over = {"model": {"drop_path_rate": 0.2}}
    full = Trainer(tiny_config(tmp_path / "full", **over), mode="distill", teacher=teacher_ckpt)
    full.fit()
    ref = full.step_losses
    assert len(ref) == 6 and len(set(ref)) == 6

    # stopped in the middle of epoch 2 (step 3 of 6), then resumed from latest.pth.tar
    part = tiny_config(tmp_path / "part", **over)
    res = distill(part, teacher_ckpt, max_steps=3)
    assert res["steps"] == 3 and os.path.basename(res["checkpoint"]) == "OSTrack_ep0001_step3.pth.tar"
    again = Trainer(part, mode="distill", teacher=teacher_ckpt, resume=True)
    assert (again.epoch, again.step, again.step_in_epoch) == (1, 3, 1)
    again.fit()
    assert again.step_losses == ref[3:]

    # resumed from the end-of-epoch-1 checkpoint of the uninterrupted run
    ep1 = os.path.join(tmp_path, "full", "checkpoints", "OSTrack_ep0001.pth.tar")
    other = Trainer(tiny_config(tmp_path / "other", **over), mode="distill", teacher=teacher_ckpt, resume=ep1)
    other.fit()
    assert other.step_losses == ref[2:]
    final_a = torch.load(os.path.join(tmp_path, "full", "checkpoints", "OSTrack_ep0003.pth.tar"), weights_only=True)
    final_b = torch.load(os.path.join(tmp_path, "other", "checkpoints", "OSTrack_ep0003.pth.tar"), weights_only=True)
    assert all(torch.equal(final_a["net"][k], final_b["net"][k]) for k in final_a["net"])


def test_checkpoints_logs_and_schedule(tmp_path):
    cfg = tiny_config(tmp_path / "run", run={"tensorboard": True, "save_last": 1, "save_every": 2},
                      optim={"lr": 1e-3})
    res = train(cfg)
    ck = os.path.join(tmp_path, "run", "checkpoints")
    assert sorted(os.listdir(ck)) == ["OSTrack_ep0002.pth.tar", "OSTrack_ep0003.pth.tar", "latest.pth.tar"]
    assert res["checkpoint"] == os.path.join(ck, "OSTrack_ep0003.pth.tar") and res["epochs"] == 3
    obj = torch.load(res["checkpoint"], weights_only=True)
    assert obj["epoch"] == 3 and obj["step"] == 6 and obj["step_in_epoch"] == 0
    assert {"optimizer", "scheduler", "rng", "train_config", "net"} <= set(obj)
    # StepLR after epoch 2: head 1e-3 -> 1e-4, backbone 1e-4 -> 1e-5 (x0.1), weight decay on both groups
    groups = obj["optimizer"]["param_groups"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-4, 1e-5])
    assert [g["weight_decay"] for g in groups] == [1e-4, 1e-4]
    net = build_net_from_checkpoint(res["checkpoint"])
    assert net.cfg.search_size == 64
    # the unused ImageNet table and cls token are kept (official key layout) but never trained
    assert torch.equal(net.backbone.cls_token, Trainer(cfg).student.backbone.cls_token.detach())
    with open(os.path.join(tmp_path, "run", "stats.json")) as f:
        stats = json.load(f)
    assert stats["steps"] == 6 and len(stats["history"]) == 3
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ev = EventAccumulator(os.path.join(tmp_path, "run", "tensorboard"))
    ev.Reload()
    tags = set(ev.Tags()["scalars"])
    assert {"train/total", "train/giou", "train/l1", "train/focal", "train/iou", "train/grad_norm", "lr/head",
            "lr/backbone", "epoch/total"} <= tags
    assert len(ev.Scalars("train/total")) == 6


def test_distill_logs_every_kd_term(tmp_path, teacher_ckpt):
    res = distill(tiny_config(tmp_path / "run", optim={"epochs": 1}, run={"tensorboard": True}), teacher_ckpt)
    assert {"qkv", "disc", "teacher_iou", "giou", "l1", "focal", "iou", "total"} <= set(res["train"])
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    ev = EventAccumulator(os.path.join(tmp_path, "run", "tensorboard"))
    ev.Reload()
    assert {"train/qkv", "train/disc"} <= set(ev.Tags()["scalars"])


def test_nan_loss_stops_with_step_and_sample_ids(tmp_path):
    cfg = tiny_config(tmp_path / "run", loss={"giou": float("nan")})
    trainer = Trainer(cfg)
    with pytest.raises(NonFiniteLossError) as err:
        trainer.fit()
    msg = str(err.value)
    assert "epoch 1, step 1 of the epoch (global step 1)" in msg
    assert msg.count("otb:") == 4  # the four samples of the batch, e.g. otb:vot15_bag:12->57
    assert not os.path.exists(os.path.join(tmp_path, "run", "checkpoints", "latest.pth.tar"))


def test_unreadable_frames_mid_epoch_are_skipped_and_counted(tmp_path, caplog):
    root = tmp_path / "otb"
    for seq in ("Biker", "Crossing"):
        shutil.copytree(os.path.join(REAL_OTB, seq), root / seq)
    frames = sorted(glob.glob(str(root / "Crossing" / "img" / "*.jpg")))
    for f in frames[::3]:
        with open(f, "wb") as fh:
            fh.write(b"\x00" * 100)
    cfg = tiny_config(tmp_path / "run", data={"train": {"datasets": [{"type": "otb", "root": str(root)}],
                                                        "samples_per_epoch": 24}}, optim={"epochs": 1})
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        res = train(cfg)
    assert res["corrupt_images"] > 0 and res["steps"] == 6
    warned = [r.getMessage() for r in caplog.records if "unreadable frame" in r.getMessage()]
    assert warned and all("Crossing" in w for w in warned)
    assert os.path.exists(res["checkpoint"])


def test_bad_input_is_reported_clearly(tmp_path, teacher_ckpt):
    missing = str(tmp_path / "no-such-lasot")
    cfg = tiny_config(tmp_path / "run", data={"train": {"datasets": [{"type": "lasot", "root": missing}]}})
    with pytest.raises(FileNotFoundError, match="no-such-lasot"):
        Trainer(cfg)
    # an optional dataset that is absent is skipped with a warning; the others still train
    opt = tiny_config(tmp_path / "run")
    opt["data"]["train"]["datasets"].append({"type": "got10k", "root": missing, "optional": True})
    assert len(Trainer(opt).train_sampler.datasets) == 1
    with pytest.raises(ValueError, match="unknown config key 'optim.learning_rate'"):
        Trainer(tiny_config(tmp_path / "run", optim={"learning_rate": 1.0}))
    with pytest.raises(ValueError, match=r"data.search.size=96 differs from teacher.search_size=128"):
        Trainer(tiny_config(tmp_path / "run", data={"search": {"size": 96}}), mode="distill", teacher=teacher_ckpt)
    with pytest.raises(ValueError, match="not a training checkpoint"):
        Trainer(tiny_config(tmp_path / "run"), resume=teacher_ckpt)


def test_command_line(tmp_path, teacher_ckpt, capsys):
    import yaml
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(tiny_config(tmp_path / "run", optim={"epochs": 1})))
    assert cli_main(["distill", "--config", str(path), "--teacher", teacher_ckpt, "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 2 and out["checkpoint"].endswith("OSTrack_ep0001.pth.tar") and "qkv" in out["train"]
    assert cli_main(["distill", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--teacher" in err[0]
    assert cli_main(["train", "--config", str(path), "--set", "optim.epochs=2", "--resume", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 4  # continued from the finished epoch 1
    assert cli_main(["train", "--config", str(path), "--set", "loss.giou=.nan", "--output-dir",
                     str(tmp_path / "nan"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "non-finite loss" in err[0] and "samples: otb:" in err[0]


def test_candidate_elimination_keep_ratio_schedule():
    assert ce_keep_ratio(1, 0.7, 20, 80) == 1.0 and ce_keep_ratio(19, 0.7, 20, 80) == 1.0
    assert ce_keep_ratio(20, 0.7, 20, 80) == pytest.approx(1.0)
    assert ce_keep_ratio(60, 0.7, 20, 80) == pytest.approx(0.85)
    assert ce_keep_ratio(100, 0.7, 20, 80) == 0.7 and ce_keep_ratio(300, 0.7, 20, 80) == 0.7
    assert ce_keep_ratio(40, 0.7, 20, 80) == pytest.approx(0.7 + 0.3 * 0.5 * (1 + math.cos(math.pi / 4)))


def test_missing_synthetic_dataset_is_generated(tmp_path):
    root = tmp_path / "gen" / "got10k"
    spec = {"type": "got10k", "root": str(root), "split": "train",
            "generate": {"sequences": 2, "frames": 24, "seed": 1, "image_size": [160, 120]}}
    trainer = Trainer(tiny_config(tmp_path / "run", data={"train": {"datasets": [spec]}}))
    assert sorted(os.listdir(root / "train")) == ["GOT-10k_Train_000001", "GOT-10k_Train_000002", "list.txt"]
    assert len(trainer.train_sampler.datasets[0]) == 2
    assert trainer.train_step(next(iter(trainer.loader)))["total"] > 0
    with pytest.raises(ValueError, match="unknown keys"):
        Trainer(tiny_config(tmp_path / "run", data={"train": {"datasets": [
            dict(spec, root=str(tmp_path / "other"), generate={"sequences": 2, "colour": "red"})]}}))
