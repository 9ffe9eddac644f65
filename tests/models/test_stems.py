"""Pretrained convolutional stems under the ViT (models/stems.py) and the untrained correlation tracker."""
import os

import numpy as np
import pytest
import torch

from loretrack_plugin import build_net, build_net_from_checkpoint, load_checkpoint, save_checkpoint
from loretrack_plugin.checkpoint import CheckpointError
from loretrack_plugin.config import ConfigError, NetConfig
from loretrack_plugin.formats.images import read_rgb
from loretrack_plugin.formats.otb import load_otb_sequence
from loretrack_plugin.checkpoint import load_pretrained_stem, stem_state_dict
from loretrack_plugin.models.stems import PRETRAINED_DIR, STEMS, ConvStem, pixelwise_correlation
from loretrack_plugin.tracking.inputs import normalise_patch
from loretrack_plugin.tracking.stem_xcorr import StemCorrelationTracker, crop_around

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "loretrack_plugin", "sample_data", "real")
SMALL = dict(embed_dim=64, depth=2, num_heads=2, head_channels=16)


def _sample_crops(n=16, side=128):
    files = []
    for seq in sorted(os.listdir(SAMPLE)):
        frames, _ = load_otb_sequence(os.path.join(SAMPLE, seq))
        files += frames[:: max(1, len(frames) // 4)][:4]
    import cv2
    return torch.cat([normalise_patch(cv2.resize(read_rgb(f), (side, side))) for f in files[:n]])


@pytest.mark.parametrize("name", sorted(STEMS))
def test_shipped_weights_load_strictly_and_match_their_input_convention(name):
    """Every BatchNorm's running statistics were collected on the stem's own input convention: fed
    real frames that way, the variances entering each BatchNorm follow them closely; with the other
    convention (raw BGR vs ImageNet RGB swapped) they do not."""
    x = _sample_crops()

    def agreement(space):
        stem = ConvStem(name, 8).eval()
        load_pretrained_stem(stem)
        stem.input_space = space
        cors = []

        def hook(mod, inp):
            # + 1e-5: a few channels are dead (variance 0) on either side
            v = (inp[0].var((0, 2, 3)) + 1e-5).log().numpy()
            cors.append(np.corrcoef(v, (mod.running_var + 1e-5).log().numpy())[0, 1])
        for m in stem.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.register_forward_pre_hook(hook)
        with torch.no_grad():
            stem.features(x)
        return float(np.mean(cors))

    own = STEMS[name].input_space
    other = "imagenet" if own == "bgr255" else "bgr255"
    a_own, a_other = agreement(own), agreement(other)
    assert a_own > 0.8 and a_own > a_other + 0.2, (a_own, a_other)


def test_stem_weights_are_checked_key_by_key(tmp_path):
    sd = stem_state_dict("nanotrack-v3")
    sd.pop("features.9.conv.8.weight")
    bad = tmp_path / "partial.pth"
    torch.save({"backbone." + k: v for k, v in sd.items()}, bad)
    with pytest.raises(CheckpointError, match="features.9.conv.8.weight"):
        load_pretrained_stem(ConvStem("nanotrack-v3", 8), str(bad))
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_pretrained_stem(ConvStem("nanotrack-v3", 8), str(tmp_path / "nowhere.pth"))


def test_shipped_files_have_their_recorded_hashes():
    import hashlib
    readme = open(os.path.join(PRETRAINED_DIR, "README.md")).read()
    for spec in STEMS.values():
        digest = hashlib.sha256(open(os.path.join(PRETRAINED_DIR, spec.weights), "rb").read()).hexdigest()
        assert digest in readme, spec.weights


@pytest.mark.parametrize("patch_embed", sorted(STEMS))
@pytest.mark.parametrize("head_input", ["tokens", "tokens+corr"])
def test_stem_network_keeps_the_token_grids(patch_embed, head_input):
    net = build_net(96, 48, patch_embed=patch_embed, head_input=head_input, **SMALL)
    out = net(torch.randn(2, 3, 48, 48), torch.randn(2, 3, 96, 96), qkv_blocks=[1], return_features=True)
    assert out["score_map"].shape == (2, 1, 6, 6)
    assert out["search_feat"].shape == (2, 64, 6, 6)
    assert out["qkv"][1][0].shape == (2, 2, 9 + 36, 32)
    extra = 9 if head_input == "tokens+corr" else 0
    assert net.box_head.conv1_ctr[0].weight.shape[1] == 64 + extra
    # the projection sits where the linear patch embedding's weight does: the width reads the same way
    assert net.state_dict()["backbone.patch_embed.proj.weight"].shape == (64, 96, 1, 1)


def test_config_rejects_unknown_stems_and_corr_without_a_stem():
    with pytest.raises(ConfigError, match="patch_embed='resnet'"):
        NetConfig(patch_embed="resnet")
    with pytest.raises(ConfigError, match="needs a convolutional stem"):
        NetConfig(head_input="tokens+corr")
    with pytest.raises(ConfigError, match="head_input='corr'"):
        NetConfig(patch_embed="nanotrack-v3", head_input="corr")


def test_config_checks_stem_zoom():
    with pytest.raises(ConfigError, match="needs a convolutional stem"):
        NetConfig(stem_zoom=2)
    for bad in (0, 5, 1.5, True):
        with pytest.raises(ConfigError, match="stem_zoom="):
            NetConfig(patch_embed="nanotrack-v3", stem_zoom=bad)


def test_zoomed_stem_sees_the_crop_at_twice_the_scale_and_keeps_the_grid():
    """stem_zoom 2: the stem's map of the 2x bilinearly up-sampled crop, average-pooled 2x2 back to the
    crop's own S/16 grid; the network's token grids and head stay those of its sizes."""
    torch.manual_seed(0)
    plain, zoomed = ConvStem("nanotrack-v3", 8), ConvStem("nanotrack-v3", 8, zoom=2)
    load_pretrained_stem(plain)
    load_pretrained_stem(zoomed)
    plain.eval(), zoomed.eval()
    x = _sample_crops(n=2, side=64)
    with torch.no_grad():
        got = zoomed.features(x)
        big = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        want = torch.nn.functional.avg_pool2d(plain.features(big), 2)
        assert got.shape == (2, 96, 4, 4)
        torch.testing.assert_close(got, want)
        assert not torch.allclose(got, plain.features(x), atol=1e-3)  # the zoom changes what the stem sees
    net = build_net(96, 48, patch_embed="nanotrack-v3", head_input="tokens+corr", stem_zoom=2, **SMALL)
    out = net(torch.randn(1, 3, 48, 48), torch.randn(1, 3, 96, 96))
    assert out["score_map"].shape == (1, 1, 6, 6)
    assert net.backbone.patch_embed.zoom == 2


def test_official_layout_is_untouched_by_the_new_fields():
    net = build_net(128, **SMALL)
    assert "backbone.patch_embed.proj.weight" in net.state_dict()
    assert net.state_dict()["backbone.patch_embed.proj.weight"].shape == (64, 3, 16, 16)
    assert not any(".stem." in k for k in net.state_dict())


def test_pixelwise_correlation_is_cosine_similarity():
    z, x = torch.randn(2, 5, 3, 3), torch.randn(2, 5, 6, 6)
    c = pixelwise_correlation(z, x)
    assert c.shape == (2, 9, 6, 6)
    want = torch.nn.functional.cosine_similarity(z[1, :, 2, 0].view(5, 1, 1), x[1], dim=0)
    torch.testing.assert_close(c[1, 2 * 3 + 0], want)


@pytest.mark.parametrize("zoom", [1, 2])
def test_stem_checkpoint_round_trip(tmp_path, zoom):
    net = build_net(96, 48, patch_embed="nanotrack-v3", head_input="tokens+corr", stem_zoom=zoom, **SMALL)
    load_pretrained_stem(net.backbone.patch_embed)
    path = tmp_path / "stem.pth.tar"
    save_checkpoint(net, path)
    again = build_net_from_checkpoint(str(path))
    assert again.cfg == net.cfg
    z, x = torch.randn(1, 3, 48, 48), torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(again(z, x)["score_map"], net(z, x)["score_map"])
    # a linear-patch network cannot take it: one error that names the mismatch
    with pytest.raises(CheckpointError):
        load_checkpoint(build_net(96, 48, **SMALL), str(path))


def test_frozen_stem_stays_frozen_in_training_mode():
    stem = ConvStem("nanotrack-v3", 8)
    load_pretrained_stem(stem)
    stem.freeze()
    stem.train()
    assert not any(p.requires_grad for p in stem.stem.parameters())
    assert all(p.requires_grad for p in stem.proj.parameters())
    bn = next(m for m in stem.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    stem(torch.randn(2, 3, 64, 64))
    assert not bn.training and torch.equal(bn.running_mean, before)


def test_crop_around_pads_with_the_fill_outside_the_frame():
    img = np.full((20, 30, 3), 200, np.uint8)
    out = crop_around(img, (-50.0, -50.0), 20.0, 10, (1, 2, 3))
    assert (out == np.array([1, 2, 3], np.uint8)).all()
    inside = crop_around(img, (15.0, 10.0), 8.0, 16, (0, 0, 0))
    assert (inside == 200).all()


def _success_auc(boxes, anno):
    from loretrack_plugin.got10k_metrics import got10k_sequence
    return got10k_sequence(np.asarray(boxes), anno).success_score


def test_untrained_correlation_tracks_a_real_sequence():
    """On the embedded Crossing (a walker crossing the street) the stem's plain correlation follows the
    target much better than keeping the first box."""
    frames, anno = load_otb_sequence(os.path.join(SAMPLE, "Crossing"))
    t = StemCorrelationTracker("nanotrack-v3", threads=1)
    t.init(read_rgb(frames[0]), anno[0])
    boxes = [anno[0]] + [t.update(read_rgb(f))[0] for f in frames[1:]]
    static = [anno[0]] * len(frames)
    assert _success_auc(boxes, anno) > _success_auc(static, anno) + 0.2


def test_correlation_tracker_refuses_bad_input():
    t = StemCorrelationTracker("nanotrack-v3")
    with pytest.raises(RuntimeError, match="before init"):
        t.update(np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(ValueError, match="width and height must be positive"):
        t.init(np.zeros((50, 50, 3), np.uint8), (10, 10, 0, 5))
    with pytest.raises(ValueError, match="stem='vgg'"):
        StemCorrelationTracker("vgg")


@pytest.mark.parametrize("zoom", [1, 2])
@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_stem_network_exports_and_equals_eager(backend, zoom):
    """The fused fp32 backends take a stem network (BGR flip, hard-swish, squeeze-excite, the
    correlation, the zoom's up-sampling and pooling) and keep their 1e-5 agreement with eager."""
    from loretrack_plugin.tracking import backends as B
    torch.manual_seed(3)
    net = build_net(96, 48, patch_embed="nanotrack-v3", head_input="tokens+corr", stem_zoom=zoom, **SMALL)
    load_pretrained_stem(net.backbone.patch_embed)
    be = B.create_backend(backend, net, threads=1)
    assert be.exact
    for seed in (0, 1):
        z, x = B.example_inputs(net.cfg, seed=seed)
        assert B.max_abs_diff(be(z, x), B.EagerBackend(net)(z, x)) < B.EXACT_TOL


def test_corr_inputs_follow_the_template_grid_when_loading_another_size(tmp_path):
    """A 192/96 network's weights run at 96/48: position tables resized and the head's correlation
    inputs resampled 6x6 -> 3x3 so that a correlation that is constant over each 2x2 block of template
    cells gives the first head conv exactly the same response."""
    big = build_net(192, 96, patch_embed="nanotrack-v3", head_input="tokens+corr", **SMALL)
    path = tmp_path / "big.pth.tar"
    save_checkpoint(big, path)
    small = build_net_from_checkpoint(str(path), search_size=96, template_size=48)
    assert small.cfg.template_feat_size == 3
    w_big = big.box_head.conv1_ctr[0].weight.detach()
    w_small = small.box_head.conv1_ctr[0].weight.detach()
    assert w_small.shape == (w_big.shape[0], 64 + 9, 3, 3)
    torch.testing.assert_close(w_small[:, :64], w_big[:, :64])  # token inputs copied unchanged
    coarse = torch.randn(1, 64 + 9, 6, 6)
    fine_corr = coarse[:, 64:].view(1, 3, 3, 6, 6).repeat_interleave(2, 1).repeat_interleave(2, 2)
    fine = torch.cat([coarse[:, :64], fine_corr.reshape(1, 36, 6, 6)], dim=1)
    conv = torch.nn.functional.conv2d
    torch.testing.assert_close(conv(coarse, w_small, padding=1), conv(fine, w_big, padding=1), rtol=1e-4, atol=1e-4)
    # and back up: 3x3 -> 6x6 spreads each coarse weight over its four cells (same response again)
    path_small = tmp_path / "small.pth.tar"
    save_checkpoint(small, path_small)
    up = build_net_from_checkpoint(str(path_small), search_size=192, template_size=96)
    torch.testing.assert_close(conv(fine, up.box_head.conv1_ctr[0].weight.detach(), padding=1),
                               conv(coarse, w_small, padding=1), rtol=1e-4, atol=1e-4)
