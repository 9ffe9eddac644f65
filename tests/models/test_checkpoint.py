import logging
import os
import sys
import types

import pytest
import torch

from loretrack_plugin import CheckpointError, build_net, build_net_from_checkpoint, load_checkpoint, save_checkpoint
from loretrack_plugin.checkpoint import infer_config
from loretrack_plugin.models.vit import resize_pos_embed

from tests.conftest import tiny_net_kwargs
from .reference import randomize


def _net(search=128, **kw):
    return build_net(search, **tiny_net_kwargs(**kw))


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def _inputs(net):
    g = torch.Generator().manual_seed(0)
    c = net.cfg
    return torch.randn(1, 3, c.template_size, c.template_size, generator=g), \
        torch.randn(1, 3, c.search_size, c.search_size, generator=g)


def _fake_official_module():
    """Classes living in a module tree that is not installed (like lib.train.admin.settings)."""
    mod = types.ModuleType("lib_fake_ostrack.train.admin.settings")

    class Settings:
        def __init__(self):
            self.env = {"workspace_dir": "/home/someone"}
    Settings.__module__ = mod.__name__
    Settings.__qualname__ = "Settings"
    mod.Settings = Settings
    return mod


def test_own_checkpoint_round_trip(tmp_path):
    a = randomize(_net(), seed=1)
    p = save_checkpoint(a, tmp_path / "ck.pth.tar", epoch=7)
    obj = torch.load(p, map_location="cpu", weights_only=True)
    assert set(obj) >= {"net", "epoch", "net_type", "actor_type"} and obj["epoch"] == 7
    assert len(obj["net"]) == len(a.state_dict())
    b = _net()
    rep = load_checkpoint(b, p)
    assert rep.kind == "loretrack" and rep.epoch == 7
    assert _same_weights(a, b)
    c = build_net_from_checkpoint(p)
    assert c.cfg == a.cfg and _same_weights(a, c)
    z, x = _inputs(a)
    with torch.no_grad():
        assert torch.equal(a(z, x)["score_map"], c(z, x)["score_map"])
    assert not list(tmp_path.glob("*.tmp"))


def test_official_file_with_pickled_foreign_classes_loads_without_importing_them(tmp_path):
    mod = _fake_official_module()
    sys.modules[mod.__name__] = mod
    for parent in ("lib_fake_ostrack", "lib_fake_ostrack.train", "lib_fake_ostrack.train.admin"):
        sys.modules[parent] = types.ModuleType(parent)
    src = randomize(_net(), seed=2)
    path = tmp_path / "OSTrack_ep0300.pth.tar"
    torch.save({"epoch": 300, "actor_type": "OSTrackActor", "net_type": "OSTrack", "net": src.state_dict(),
                "net_info": None, "constructor": None, "optimizer": None, "stats": None,
                "settings": mod.Settings()}, path)
    for name in [n for n in sys.modules if n.startswith("lib_fake_ostrack")]:
        del sys.modules[name]
    dst = _net()
    rep = load_checkpoint(dst, path)
    assert rep.kind == "official" and rep.epoch == 300
    assert _same_weights(src, dst)
    assert not any(n.startswith("lib_fake_ostrack") for n in sys.modules)
    # without a stored config the architecture is read off the shapes
    net = build_net_from_checkpoint(path)
    assert (net.cfg.search_size, net.cfg.template_size, net.cfg.embed_dim, net.cfg.depth) == (128, 64, 64, 2)


class _Payload:
    """Pickles into a call of os.remove: a stand-in for code that must never run at load time."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.remove, (self.target,))


def test_pickled_code_is_not_executed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    sd = _net().state_dict()
    path = tmp_path / "evil.pth.tar"
    torch.save({"net": sd, "settings": _Payload(str(victim))}, path, pickle_protocol=2)
    load_checkpoint(_net(), path)
    assert victim.exists()


def test_plain_and_ddp_state_dicts(tmp_path):
    src = randomize(_net(), seed=3)
    dst = _net()
    load_checkpoint(dst, {"module." + k: v for k, v in src.state_dict().items()})
    assert _same_weights(src, dst)
    p = tmp_path / "plain.pth"
    torch.save(src.state_dict(), p)
    dst2 = _net()
    assert load_checkpoint(dst2, p).kind == "state_dict" and _same_weights(src, dst2)


def test_higher_resolution_checkpoint_is_resized_and_reported(tmp_path, caplog):
    src = randomize(build_net(384, 192, **tiny_net_kwargs()), seed=4)
    dst = build_net(256, 128, **tiny_net_kwargs())
    with caplog.at_level(logging.WARNING, logger="loretrack"):
        rep = load_checkpoint(dst, src.state_dict())
    assert any("24x24 to 16x16" in n for n in rep.notes) and any("12x12 to 8x8" in n for n in rep.notes)
    assert "pos_embed_x" in caplog.text
    s, d = src.state_dict(), dst.state_dict()
    assert torch.allclose(d["backbone.pos_embed_x"], resize_pos_embed(s["backbone.pos_embed_x"], 16))
    assert torch.allclose(d["backbone.pos_embed_z"], resize_pos_embed(s["backbone.pos_embed_z"], 8))
    assert torch.equal(d["backbone.blocks.1.attn.qkv.weight"], s["backbone.blocks.1.attn.qkv.weight"])
    # the same through build_net_from_checkpoint with an override
    p = save_checkpoint(src, tmp_path / "t384.pth.tar")
    net = build_net_from_checkpoint(p, search_size=256)
    assert net.cfg.search_size == 256 and net.cfg.template_size == 128


def test_mae_weights_initialise_the_backbone():
    vit = randomize(_net(), seed=5).backbone.state_dict()
    mae = {k: v for k, v in vit.items() if k not in ("pos_embed_x", "pos_embed_z")}
    mae["mask_token"] = torch.zeros(1, 1, 64)
    mae["decoder_embed.weight"] = torch.zeros(32, 64)
    net = build_net(192, 96, **tiny_net_kwargs())
    head_before = {k: v.clone() for k, v in net.state_dict().items() if k.startswith("box_head.")}
    rep = load_checkpoint(net, {"model": mae})
    assert rep.kind == "mae" and any("MAE" in n for n in rep.notes)
    sd = net.state_dict()
    table = mae["pos_embed"][:, 1:]
    assert torch.allclose(sd["backbone.pos_embed_x"], resize_pos_embed(table, 12))
    assert torch.allclose(sd["backbone.pos_embed_z"], resize_pos_embed(table, 6))
    assert torch.equal(sd["backbone.blocks.0.mlp.fc1.weight"], mae["blocks.0.mlp.fc1.weight"])
    assert all(torch.equal(sd[k], v) for k, v in head_before.items())


def _expect_untouched_failure(net, ck, match):
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(net, ck)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "network was partially loaded"


def test_missing_and_unexpected_keys_are_listed():
    net = randomize(_net(), seed=6)
    sd = dict(net.state_dict())
    del sd["backbone.blocks.1.mlp.fc2.bias"]
    sd["backbone.extra.weight"] = torch.zeros(3)
    _expect_untouched_failure(_net(), sd, r"1 missing \[backbone.blocks.1.mlp.fc2.bias\].*1 unexpected "
                                          r"\[backbone.extra.weight\]")


def test_wrong_width_is_reported_with_shapes():
    wide = build_net(128, **tiny_net_kwargs(embed_dim=128))
    _expect_untouched_failure(_net(), wide.state_dict(), r"mis-shaped.*width 128 != network width 64")


def test_resnet_state_dict_is_rejected():
    resnet = {"conv1.weight": torch.zeros(64, 3, 7, 7), "bn1.weight": torch.ones(64),
              "layer1.0.conv1.weight": torch.zeros(64, 64, 3, 3), "fc.weight": torch.zeros(1000, 2048)}
    _expect_untouched_failure(_net(), resnet, "does not look like an OSTrack/LoReTrack checkpoint")


def test_truncated_and_non_checkpoint_files(tmp_path):
    good = save_checkpoint(_net(), tmp_path / "good.pth.tar")
    data = open(good, "rb").read()
    trunc = tmp_path / "truncated.pth.tar"
    trunc.write_bytes(data[: len(data) // 2])
    _expect_untouched_failure(_net(), str(trunc), "truncated.pth.tar: not a readable PyTorch checkpoint")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    _expect_untouched_failure(_net(), str(text), "notes.txt: not a readable PyTorch checkpoint")
    other = tmp_path / "other.pth"
    torch.save({"epoch": 3, "lr": 0.1}, other)
    _expect_untouched_failure(_net(), str(other), "no network weights found")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(_net(), str(tmp_path / "missing.pth"))


def test_infer_config_from_official_vitb_shapes():
    sd = {k: torch.empty(v.shape) for k, v in build_net(384, 192).state_dict().items()}
    cfg = infer_config(sd)
    assert (cfg.search_size, cfg.template_size, cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.head_channels) == \
        (384, 192, 768, 12, 12, 256)
