"""Mixed precision: a saturated score cannot turn the focal loss into NaN; the autocast dtype per GPU."""
import math
import os
import re

import pytest
import torch

from loretrack_plugin import build_net
from loretrack_plugin.models.head import clamped_sigmoid
from loretrack_plugin.train import ConfigError, Trainer, TrackingActor
from loretrack_plugin.train.losses import FocalLoss
from loretrack_plugin.train.trainer import amp_dtype, set_train_mode
from tests.conftest import REPO

from .conftest import NET, tiny_config

SATURATED = 12.0  # sigmoid(12) = 1 - 6.1e-6: above 1 - 1e-4 in every precision
TOP = torch.tensor(1 - 1e-4).item()  # the head's upper clamp, as an fp32 number


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_the_clamp_is_lost_in_reduced_precision(dtype):
    # the cause of the NaN: 1 - 1e-4 rounds to exactly 1.0 in bf16 and fp16, so clamping there does nothing
    assert torch.tensor(1 - 1e-4, dtype=dtype).item() == 1.0
    logit = torch.tensor([SATURATED], dtype=dtype)
    p = torch.clamp(torch.sigmoid(logit), min=1e-4, max=1 - 1e-4)
    assert p.item() == 1.0 and math.isinf(torch.log(1 - p.float()).item())
    # the head's clamp works in fp32 whatever the input precision
    q = clamped_sigmoid(logit)
    assert q.dtype == torch.float32 and q.item() == TOP


def test_eager_fp32_head_outputs_are_unchanged():
    x = torch.randn(2, 1, 5, 5) * 20
    assert torch.equal(clamped_sigmoid(x), torch.clamp(torch.sigmoid(x), min=1e-4, max=1 - 1e-4))


def test_focal_loss_clamps_a_reduced_precision_score_in_fp32():
    y = torch.zeros(1, 4, 4)
    y[0, 2, 2] = 1.0
    p = torch.full((1, 1, 4, 4), 0.25, dtype=torch.bfloat16)
    p[0, 0, 0, 0] = 1.0   # a negative cell saturated to exactly 1 (what a bf16 head produced)
    p[0, 0, 2, 2] = 0.0   # and the positive cell underflowed to 0
    loss = FocalLoss()(p, y)
    assert torch.isfinite(loss)
    # = the fp32 formula with p clamped to [1e-4, 1 - 1e-4]
    q = p.float().clamp(1e-4, 1 - 1e-4).flatten()
    neg = sum(math.log(1 - v) * v ** 2 for i, v in enumerate(q.tolist()) if i != 10)
    pos = math.log(q[10].item()) * (1 - q[10].item()) ** 2
    assert loss.item() == pytest.approx(-(pos + neg), rel=1e-5)


def _saturate_one_cell(net, cell=(0, 0), logit=SATURATED):
    """Forward hook: the score logits become 0 everywhere and ``logit`` at ``cell`` (gradients still
    flow into the head: the output is ``out - out.detach() + target``)."""
    def hook(module, inputs, out):
        target = torch.zeros_like(out)
        target[:, :, cell[0], cell[1]] = logit
        return out - out.detach() + target
    return net.box_head.conv5_ctr.register_forward_hook(hook)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_saturated_score_under_cpu_autocast_gives_a_finite_loss_and_gradients(dtype):
    torch.manual_seed(0)
    net = build_net(64, 32, **NET).train()
    _saturate_one_cell(net)
    actor = TrackingActor(net)
    z, x = torch.randn(2, 3, 32, 32), torch.randn(2, 3, 64, 64)
    box = torch.tensor([[0.4, 0.4, 0.2, 0.2], [0.45, 0.5, 0.1, 0.15]])  # peaks far from the saturated cell
    with torch.autocast("cpu", dtype=dtype):
        out = net(z, x)
        loss, stats = actor.task_loss(out, box, net.cfg.feat_size)
    assert out["score_map"].dtype == torch.float32  # sigmoid and clamp ran in fp32
    assert out["score_map"][0, 0, 0, 0].item() == TOP
    assert torch.isfinite(stats["focal"]) and torch.isfinite(loss)
    # log(1 - p) at the clamp: the saturated negative cell costs p^2 * log(1e-4) ~ -9.2 per sample
    assert stats["focal"].item() > 9.0
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_trainer_step_with_a_saturated_score_map_under_cpu_bf16(tmp_path):
    # score_prior = sigmoid(12): every cell's initial logit is 12, i.e. saturated in bf16
    prior = 1.0 / (1.0 + math.exp(-SATURATED))
    cfg = tiny_config(tmp_path / "run", optim={"amp": "bf16"}, model={"score_prior": prior})
    trainer = Trainer(cfg)
    assert trainer.amp_dtype == torch.bfloat16 and not trainer.scaler.is_enabled()
    set_train_mode(trainer.student, True)
    batch = next(iter(trainer.loader))
    with torch.no_grad():
        _, stats = trainer.forward_loss(batch)
    assert math.isfinite(stats["focal"].item()) and stats["focal"].item() > 1.0
    out = trainer.train_step(batch)  # raises NonFiniteLossError on a NaN loss
    assert all(math.isfinite(v) for v in out.values())
    assert all(torch.isfinite(p).all() for p in trainer.student.parameters())


def _fake_gpu(monkeypatch, capability):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    # True on every GPU through emulation: must not decide anything
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)


@pytest.mark.parametrize("capability,want", [((7, 0), torch.float16), ((7, 5), torch.float16),
                                             ((8, 0), torch.bfloat16), ((8, 6), torch.bfloat16),
                                             ((9, 0), torch.bfloat16)])
def test_amp_uses_bf16_only_where_the_gpu_has_it_natively(monkeypatch, capability, want):
    _fake_gpu(monkeypatch, capability)
    gpu = torch.device("cuda", 0)
    assert amp_dtype(True, gpu) is want and amp_dtype("auto", gpu) is want
    assert amp_dtype("fp16", gpu) is torch.float16
    assert amp_dtype(False, gpu) is None and amp_dtype("fp32", gpu) is None
    if want is torch.float16:  # V100 (7.0), T4 (7.5)
        with pytest.raises(ConfigError, match=r"optim.amp=bf16: .*\(compute capability 7\.\d\) has no native bf16"):
            amp_dtype("bf16", gpu)
    else:
        assert amp_dtype("BF16", gpu) is torch.bfloat16


def test_amp_on_cpu_and_bad_values():
    cpu = torch.device("cpu")
    assert amp_dtype(True, cpu) is None and amp_dtype("auto", cpu) is None and amp_dtype(False, cpu) is None
    assert amp_dtype("bf16", cpu) is torch.bfloat16  # explicit CPU autocast (what the CPU tests reproduce)
    with pytest.raises(ConfigError, match="optim.amp=fp16 needs a CUDA device"):
        amp_dtype("fp16", cpu)
    with pytest.raises(ConfigError, match=r"optim.amp='fp8': expected true, false, auto, bf16, fp16 or fp32"):
        amp_dtype("fp8", cpu)


def test_setup_requires_a_torch_with_the_amp_apis_used():
    # torch.amp.GradScaler("cuda") (the trainer's scaler) first shipped in torch 2.3 (the ONNX export's
    # dynamo= keyword sets the floor at 2.5)
    with open(os.path.join(REPO, "setup.py")) as f:
        m = re.search(r'"torch>=(\d+)\.(\d+)', f.read())
    assert m and (int(m.group(1)), int(m.group(2))) >= (2, 3)
    assert hasattr(torch.amp, "GradScaler")
