"""Masked-autoencoder pre-training: masking, the loss, exact resume and loading the result."""
import os

import pytest
import torch

from loretrack_plugin import build_net, load_checkpoint
from loretrack_plugin.config import NetConfig
from loretrack_plugin.train.mae import MaskedAutoencoder, cosine_lr, pretrain_mae, sincos_pos_embed
from tests.conftest import tiny_net_kwargs

@pytest.fixture(scope="module")
def synthetic_roots(tmp_path_factory):
    from loretrack_plugin.synthetic import make_dataset
    root = str(tmp_path_factory.mktemp("mae") / "otb")
    make_dataset("otb", root, sequences=2, frames=6, seed=1, image_size=(96, 80))
    return {"otb": root}


CFG = NetConfig(search_size=64, template_size=32, pretrain_img_size=64, **tiny_net_kwargs())
OPTIONS = {"img_size": 64, "batch_size": 4, "steps": 4, "warmup_steps": 2, "save_every_steps": 1}


def test_sincos_table():
    t = sincos_pos_embed(64, 4)
    assert t.shape == (1, 17, 64) and torch.all(t[0, 0] == 0)
    # the first half encodes the row only, the second half the column only
    assert torch.allclose(t[0, 1, :32], t[0, 2, :32]) and not torch.allclose(t[0, 1, 32:], t[0, 2, 32:])
    assert torch.allclose(t[0, 1, 32:], t[0, 5, 32:]) and not torch.allclose(t[0, 1, :32], t[0, 5, :32])
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_pos_embed(30, 4)


def test_masking_and_loss():
    torch.manual_seed(0)
    mae = MaskedAutoencoder(CFG, decoder_dim=32, decoder_depth=1, decoder_heads=2, mask_ratio=0.75)
    imgs = torch.randn(3, 3, 64, 64)
    loss, pred, mask = mae(imgs, generator=torch.Generator().manual_seed(1))
    assert pred.shape == (3, 16, 16 * 16 * 3) and mask.shape == (3, 16)
    assert torch.all(mask.sum(1) == 12)          # 75 % of 16 patches dropped per image
    assert torch.isfinite(loss) and loss > 0
    # patchify puts patch (r, c) at row r*g + c, pixels in (row, col, channel) order
    p = mae.patchify(imgs)
    assert torch.equal(p[1, 1 * 4 + 2].reshape(16, 16, 3), imgs[1, :, 16:32, 32:48].permute(1, 2, 0))
    # the loss only looks at dropped patches: a perfect prediction there gives 0 whatever the rest
    target = (p - p.mean(-1, keepdim=True)) / (p.var(-1, keepdim=True) + 1e-6).sqrt()
    m = mask.unsqueeze(-1)
    assert float(((((target * m + 5.0 * (1 - m)) - target) ** 2).mean(-1) * mask).sum()) == 0.0
    loss.backward()
    assert mae.encoder.blocks[0].attn.qkv.weight.grad is not None
    assert mae.encoder.pos_embed.grad is None    # the sine-cosine table is fixed


def test_cosine_schedule():
    assert cosine_lr(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 10, 1.0, 0.01) == pytest.approx(0.01)


def test_interrupted_run_resumes_exactly_and_loads_into_a_tracker(synthetic_roots, tmp_path):
    data = [{"type": "otb", "root": synthetic_roots["otb"]}]
    whole = pretrain_mae(CFG, data, str(tmp_path / "whole"), OPTIONS, seed=3, progress=False, num_workers=0)
    part = pretrain_mae(CFG, data, str(tmp_path / "part"), OPTIONS, seed=3, progress=False, num_workers=0,
                        max_steps=2)
    assert part["steps"] == 2
    rest = pretrain_mae(CFG, data, str(tmp_path / "part"), OPTIONS, seed=3, progress=False, num_workers=0)
    assert rest["steps"] == whole["steps"] == 4
    a = torch.load(whole["backbone"], weights_only=False)["model"]
    b = torch.load(rest["backbone"], weights_only=False)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert {"cls_token", "pos_embed", "patch_embed.proj.weight", "norm.weight"} <= set(a)
    # the MAE layout initialises a tracker of another resolution (tables resized, head random)
    net = build_net(96, 48, **tiny_net_kwargs())
    rep = load_checkpoint(net, whole["backbone"])
    assert rep.kind == "mae"
    assert torch.equal(net.backbone.blocks[1].mlp.fc1.weight, a["blocks.1.mlp.fc1.weight"])
    assert os.path.isfile(tmp_path / "whole" / "stats.json")


def test_unknown_option_is_an_error(synthetic_roots, tmp_path):
    with pytest.raises(ValueError, match="unknown keys \\['steps_total'\\]"):
        pretrain_mae(CFG, [{"type": "otb", "root": synthetic_roots["otb"]}], str(tmp_path), {"steps_total": 3})
