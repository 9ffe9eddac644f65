"""The distillation actor: KD terms, student inputs, teacher freezing and teacher checks."""
import copy
import os

import pytest
import torch
import torch.nn.functional as F

from loretrack_plugin import build_net, save_checkpoint
from loretrack_plugin.data import CropSpec, OtbFolder, PairProcessing, PairSampler, collate
from loretrack_plugin.train import ConfigError, DistillActor, Trainer
from loretrack_plugin.train.trainer import build_teacher, freeze, set_train_mode
from tests.conftest import REAL_OTB

from .conftest import NET, tiny_config


def _batch(size_z, size_x, n=4, seed=0):
    ds = OtbFolder(REAL_OTB, sequences=["Biker", "vot15_bag"])
    sampler = PairSampler([ds], None, PairProcessing(CropSpec(size_z, 2.0), CropSpec(size_x, 5.0, 1.0, 0.1)), n,
                          seed=seed)
    return collate([sampler[i] for i in range(n)])


def test_kd_terms_vanish_when_student_equals_teacher():
    torch.manual_seed(0)
    student = build_net(64, 32, **NET).train()
    teacher = freeze(copy.deepcopy(student))
    actor = DistillActor(student, teacher)
    loss, stats = actor(_batch(32, 64))
    assert stats["qkv"].item() == pytest.approx(0.0, abs=1e-5)
    assert stats["disc"].item() == pytest.approx(0.0, abs=1e-5)
    assert stats["focal"] > 0 and torch.isfinite(loss)
    # a different student gives positive KD terms
    torch.manual_seed(1)
    other = DistillActor(build_net(64, 32, **NET).train(), teacher)
    _, stats = other(_batch(32, 64))
    assert stats["qkv"] > 0.01 and stats["disc"] > 0.001


def test_student_sees_a_bilinear_downsample_of_the_teacher_crops():
    torch.manual_seed(0)
    teacher = freeze(build_net(128, 64, **NET))
    batch = _batch(64, 128, n=2)
    for antialias in (False, True):
        actor = DistillActor(build_net(64, 32, **NET), teacher, antialias=antialias)
        z, x = actor.student_inputs(batch)
        assert z.shape == (2, 3, 32, 32) and x.shape == (2, 3, 64, 64)
        ref = F.interpolate(batch["search"], size=(64, 64), mode="bilinear", align_corners=False, antialias=antialias)
        assert torch.equal(x, ref)
    plain = DistillActor(build_net(64, 32, **NET), teacher).student_inputs(batch)[1]
    assert not torch.allclose(plain, x)  # antialiasing changes the student input (docs/method.md, pitfall P7)


def test_teacher_forward_modes_give_the_same_loss():
    torch.manual_seed(0)
    student = build_net(64, 32, **NET).eval()
    teacher = freeze(build_net(128, 64, **NET))
    batch = _batch(64, 128, n=2)
    losses = []
    for mode in ("inference", "no_grad", "autograd"):
        actor = DistillActor(student, teacher, teacher_forward=mode)
        tgt = actor.teacher_targets(batch["template"], batch["search"])
        assert not any(t.requires_grad for t in tgt["qkv"].values())
        loss, _ = actor(batch)
        loss.backward()  # inference-mode targets must be usable in the student's graph
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], rel=1e-6) and losses[0] == pytest.approx(losses[2], rel=1e-6)


def test_width_mismatch_is_refused():
    with pytest.raises(ValueError, match="channel-wise KD needs equal widths"):
        DistillActor(build_net(64, 32, **NET), freeze(build_net(128, 64, **dict(NET, embed_dim=32, num_heads=2))))


def test_teacher_stays_frozen_in_eval_mode_during_training(tmp_path, teacher_ckpt):
    trainer = Trainer(tiny_config(tmp_path / "run"), mode="distill", teacher=teacher_ckpt)
    before = {k: v.clone() for k, v in trainer.teacher.state_dict().items()}
    set_train_mode(trainer.student, True)
    trainer.train_step(next(iter(trainer.loader)))
    t = trainer.teacher
    assert not t.training and not any(m.training for m in t.modules())
    assert all(p.grad is None and not p.requires_grad for p in t.parameters())
    t.train()  # a stray .train() cannot switch the teacher (BatchNorm statistics, drop path) back on
    assert not any(m.training for m in t.modules())
    assert all(torch.equal(before[k], v) for k, v in t.state_dict().items())  # BN running stats untouched
    assert trainer.student.training
    assert any(p.grad is not None for p in trainer.student.parameters())


def test_teacher_checkpoint_must_match_the_config(tmp_path):
    section = tiny_config(tmp_path)["teacher"]
    section.update(mlp_ratio=4.0)
    wrong_res = save_checkpoint(build_net(256, 128, **NET), str(tmp_path / "t256.pth.tar"))
    with pytest.raises(ConfigError, match=r"search_size 256 \(config: 128\), template_size 128 \(config: 64\)"):
        build_teacher(section, wrong_res)
    wrong_width = save_checkpoint(build_net(128, 64, **dict(NET, embed_dim=128, num_heads=8)),
                                  str(tmp_path / "wide.pth.tar"))
    with pytest.raises(ConfigError, match=r"embed_dim 128 \(config: 64\)"):
        build_teacher(section, wrong_width)
    deeper = save_checkpoint(build_net(128, 64, **dict(NET, depth=3)), str(tmp_path / "deep.pth.tar"))
    with pytest.raises(ConfigError, match=r"depth 3 \(config: 2\)"):
        build_teacher(section, deeper)
    with pytest.raises(FileNotFoundError, match="nope.pth.tar"):
        build_teacher(section, str(tmp_path / "nope.pth.tar"))
    with pytest.raises(ConfigError, match="--teacher"):
        build_teacher(section, None)
    # the official layout without our config entry is recognised from the tensor shapes
    sd = build_net(128, 64, **NET).state_dict()
    torch.save({"net": sd, "epoch": 300}, tmp_path / "official.pth.tar")
    t = build_teacher(section, str(tmp_path / "official.pth.tar"))
    assert t.cfg.search_size == 128 and not t.training
    assert os.path.exists(tmp_path / "official.pth.tar")
