import math

import pytest
import torch

from loretrack_plugin import ConfigError, build_net, decode_peak
from loretrack_plugin.models.vit import resize_pos_embed

from tests.conftest import tiny_net_kwargs
from .reference import randomize, reference_forward

RESOLUTIONS = [(96, 48), (128, 64), (192, 96), (256, 128), (384, 192)]


def _inputs(net, B=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    c = net.cfg
    return (torch.randn(B, 3, c.template_size, c.template_size, generator=g),
            torch.randn(B, 3, c.search_size, c.search_size, generator=g))


def _official_keys(depth=12):
    keys = ["backbone.cls_token", "backbone.pos_embed", "backbone.pos_embed_z", "backbone.pos_embed_x",
            "backbone.patch_embed.proj.weight", "backbone.patch_embed.proj.bias"]
    for i in range(depth):
        keys += [f"backbone.blocks.{i}.{m}.{p}" for m, p in [
            ("norm1", "weight"), ("norm1", "bias"), ("attn.qkv", "weight"), ("attn.qkv", "bias"),
            ("attn.proj", "weight"), ("attn.proj", "bias"), ("norm2", "weight"), ("norm2", "bias"),
            ("mlp.fc1", "weight"), ("mlp.fc1", "bias"), ("mlp.fc2", "weight"), ("mlp.fc2", "bias")]]
    keys += ["backbone.norm.weight", "backbone.norm.bias"]
    for br in ("ctr", "offset", "size"):
        for j in range(1, 5):
            keys += [f"box_head.conv{j}_{br}.0.weight", f"box_head.conv{j}_{br}.0.bias"]
            keys += [f"box_head.conv{j}_{br}.1.{p}" for p in
                     ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")]
    for br in ("ctr", "offset", "size"):
        keys += [f"box_head.conv5_{br}.weight", f"box_head.conv5_{br}.bias"]
    return keys


def test_vitb_state_dict_has_official_layout():
    net = build_net(256, 128)
    sd = net.state_dict()
    assert list(sd) == _official_keys()
    assert len(sd) == 242
    assert sd["backbone.pos_embed"].shape == (1, 197, 768)
    assert sd["backbone.pos_embed_z"].shape == (1, 64, 768)
    assert sd["backbone.pos_embed_x"].shape == (1, 256, 768)
    assert sd["backbone.blocks.0.attn.qkv.weight"].shape == (2304, 768)
    assert sd["box_head.conv1_ctr.0.weight"].shape == (256, 768, 3, 3)
    assert sd["box_head.conv4_size.0.weight"].shape == (32, 64, 3, 3)
    assert sd["box_head.conv5_offset.weight"].shape == (2, 32, 1, 1)
    assert sd["box_head.conv1_ctr.1.num_batches_tracked"].dtype == torch.int64
    assert not net.training


@pytest.mark.parametrize("search,template", RESOLUTIONS)
def test_forward_matches_reference_at_every_resolution(search, template):
    net = randomize(build_net(search, template, **tiny_net_kwargs(depth=3)))
    z, x = _inputs(net)
    with torch.no_grad():
        out = net(z, x)
        (score, size, off, boxes), _, _ = reference_forward(net.state_dict(), z, x, heads=4)
    Fs = search // 16
    assert out["score_map"].shape == (2, 1, Fs, Fs)
    assert out["size_map"].shape == out["offset_map"].shape == (2, 2, Fs, Fs)
    assert out["pred_boxes"].shape == (2, 1, 4)
    for a, b in [(out["score_map"], score), (out["size_map"], size), (out["offset_map"], off),
                 (out["pred_boxes"][:, 0], boxes)]:
        assert (a - b).abs().max().item() <= 1e-5


def test_vitb_forward_matches_reference():
    net = randomize(build_net(96, 48), seed=3)
    z, x = _inputs(net, B=1)
    with torch.no_grad():
        out = net(z, x)
        (score, size, off, boxes), _, _ = reference_forward(net.state_dict(), z, x, heads=12)
    assert (out["score_map"] - score).abs().max() <= 1e-5
    assert (out["offset_map"] - off).abs().max() <= 1e-5
    assert (out["pred_boxes"][:, 0] - boxes).abs().max() <= 1e-5


@pytest.mark.parametrize("search,template", [(256, 128), (384, 192), (128, 64)])
def test_candidate_elimination_matches_reference(search, template):
    net = randomize(build_net(search, template, **tiny_net_kwargs(depth=4), ce_loc=(1, 2, 3)), seed=5)
    z, x = _inputs(net)
    with torch.no_grad():
        out = net(z, x, return_features=True)
        (score, size, off, boxes), _, feat = reference_forward(net.state_dict(), z, x, heads=4, ce_loc=(1, 2, 3))
    assert (out["search_feat"] - feat).abs().max() <= 1e-5
    assert (out["score_map"] - score).abs().max() <= 1e-5
    assert (out["pred_boxes"][:, 0] - boxes).abs().max() <= 1e-5
    # three eliminations of 30 %: ceil(.7*ceil(.7*ceil(.7*N))) tokens survive, the rest are exactly zero
    n = net.cfg.num_search_tokens
    for _ in range(3):
        n = math.ceil(0.7 * n)
    zero_cols = (out["search_feat"].flatten(2).abs().sum(1) == 0).sum(1)
    assert zero_cols.tolist() == [net.cfg.num_search_tokens - n] * 2


def test_ce_keep_ratio_one_equals_plain_network():
    net = randomize(build_net(256, 128, **tiny_net_kwargs(depth=4), ce_loc=(1, 2)), seed=2)
    plain = build_net(256, 128, **tiny_net_kwargs(depth=4))
    plain.load_state_dict(net.state_dict())
    z, x = _inputs(net)
    with torch.no_grad():
        a = net(z, x, ce_keep_ratio=1.0)["score_map"]
        b = plain(z, x)["score_map"]
        c = net(z, x)["score_map"]
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(c, b, atol=1e-6)


def test_qkv_and_features_on_request_only():
    net = randomize(build_net(128, 64, **tiny_net_kwargs(depth=3)), seed=4)
    z, x = _inputs(net)
    with torch.no_grad():
        plain = net(z, x)
        full = net(z, x, qkv_blocks=[0, 2], return_features=True)
        _, ref_qkv, ref_feat = reference_forward(net.state_dict(), z, x, heads=4)
    assert "qkv" not in plain and "search_feat" not in plain
    assert torch.equal(plain["score_map"], full["score_map"])
    assert sorted(full["qkv"]) == [0, 2]
    for i in (0, 2):
        for a, b in zip(full["qkv"][i], ref_qkv[i]):
            assert a.shape == (2, 4, 16 + 64, 16)  # (B, heads, Nz+Nx, head_dim), unscaled
            assert (a - b).abs().max() <= 1e-5
    assert (full["search_feat"] - ref_feat).abs().max() <= 1e-5
    m = net.search_tokens_map(full["qkv"][2][0])
    assert m.shape == (2, 64, 8, 8)
    # channel = head * d + j, position = row * F + col
    q = full["qkv"][2][0]
    assert m[1, 1 * 16 + 5, 3, 2] == q[1, 1, 16 + 3 * 8 + 2, 5]


def test_decode_peak_by_hand():
    F_ = 4
    score = torch.zeros(1, 1, F_, F_)
    score[0, 0, 2, 1] = 0.9  # row 2, col 1
    size = torch.zeros(1, 2, F_, F_)
    size[0, :, 2, 1] = torch.tensor([0.25, 0.5])
    off = torch.zeros(1, 2, F_, F_)
    off[0, :, 2, 1] = torch.tensor([0.3, -0.2])
    box = decode_peak(score, size, off)
    assert torch.allclose(box, torch.tensor([[(1 + 0.3) / 4, (2 - 0.2) / 4, 0.25, 0.5]]))
    score[0, 0, 0, 3] = 0.9  # tie: the first index in raster order wins, like torch.max
    assert torch.allclose(decode_peak(score, size, off)[0, :2], torch.tensor([3 / 4, 0.0]))


def test_scores_are_clamped():
    net = build_net(96, 48, **tiny_net_kwargs(depth=1))
    with torch.no_grad():
        net.box_head.conv5_ctr.bias.fill_(50.0)
        net.box_head.conv5_size.bias.fill_(-50.0)
        out = net(*_inputs(net))
    assert torch.allclose(out["score_map"], torch.full_like(out["score_map"], 1 - 1e-4))
    assert torch.allclose(out["size_map"], torch.full_like(out["size_map"], 1e-4))


def test_fresh_position_tables_come_from_the_imagenet_grid():
    net = build_net(192, 96, **tiny_net_kwargs())
    src = net.backbone.pos_embed[:, 1:]
    assert torch.allclose(net.backbone.pos_embed_x, resize_pos_embed(src, 12))
    assert torch.allclose(net.backbone.pos_embed_z, resize_pos_embed(src, 6))


@pytest.mark.parametrize("kw,msg", [
    (dict(search_size=100, template_size=48), "multiple of 16"),
    (dict(search_size=128, template_size=256), "larger than"),
    (dict(search_size=128, template_size=64, embed_dim=100, num_heads=12), "divisible"),
    (dict(search_size=128, template_size=64, ce_loc=(12,)), "ce_loc"),
])
def test_bad_configs_raise_one_clear_error(kw, msg):
    with pytest.raises(ConfigError, match=msg):
        build_net(**kw)


def test_wrong_input_size_is_rejected():
    net = build_net(128, 64, **tiny_net_kwargs(depth=1))
    with pytest.raises(ValueError, match="128px"):
        net(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 256, 256))
