"""Named tracker files: the official set, user-added files, checkpoints, and their errors."""
import os

import numpy as np
import pytest
import torch

from loretrack_plugin import build_net, save_checkpoint
from loretrack_plugin.trackers import get_spec, list_trackers, load_spec, make_tracker, weights_dir, write_tracker_file
from tests.conftest import tiny_net_kwargs

OFFICIAL = {
    # name: (search, template, search factor, template factor, CE blocks)
    "loretrack-96": (96, 48, 5.0, 2.0, ()),
    "loretrack-128": (128, 64, 5.0, 2.0, ()),
    "loretrack-192": (192, 96, 5.0, 2.0, ()),
    "loretrack-256": (256, 128, 5.0, 2.0, ()),
    "ostrack-256": (256, 128, 4.0, 2.0, (3, 6, 9)),
    "ostrack-384": (384, 192, 5.0, 2.0, (3, 6, 9)),
    "ostrack-384-noce": (384, 192, 5.0, 2.0, ()),
}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_trackers(name, monkeypatch, tmp_path):
    monkeypatch.setenv("LORETRACK_WEIGHTS", str(tmp_path / "w"))
    s, t, sf, tf, ce = OFFICIAL[name]
    spec = get_spec(name)
    assert spec.name == name and spec.backend == "auto"
    assert (spec.network.search_size, spec.network.template_size) == (s, t)
    assert (spec.search_factor, spec.template_factor) == (sf, tf)
    assert spec.network.ce_loc == ce and spec.network.embed_dim == 768 and spec.network.depth == 12
    if ce:
        assert spec.network.ce_keep_ratio == 0.7
    assert spec.checkpoint.startswith(str(tmp_path / "w") + os.sep) and spec.checkpoint.endswith(".pth.tar")


def test_list_trackers_has_the_official_set():
    assert set(OFFICIAL) <= set(list_trackers())


def test_default_weights_dir(monkeypatch):
    monkeypatch.delenv("LORETRACK_WEIGHTS", raising=False)
    assert weights_dir() == os.path.expanduser("~/.cache/loretrack/weights")


def test_missing_checkpoint_names_path_and_tracker(monkeypatch, tmp_path):
    monkeypatch.setenv("LORETRACK_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        make_tracker("loretrack-96")
    msg = str(e.value)
    assert "'loretrack-96'" in msg and str(tmp_path / "loretrack-96" / "OSTrack_ep0100.pth.tar") in msg
    with pytest.raises(FileNotFoundError, match=r"'ostrack-256'.*/nowhere\.pth"):
        make_tracker("ostrack-256", checkpoint=str(tmp_path / "nowhere.pth"))


def test_unknown_tracker_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown tracker 'lore-7'.*loretrack-128"):
        get_spec("lore-7")


def _tiny_checkpoint(path, search=64, seed=0):
    torch.manual_seed(seed)
    net = build_net(search, search // 2, **tiny_net_kwargs())
    save_checkpoint(net, str(path), epoch=3)
    return net


def test_user_tracker_folder_and_checkpoint_with_embedded_config(monkeypatch, tmp_path):
    net = _tiny_checkpoint(tmp_path / "mine.pth.tar")
    d = tmp_path / "trackers"
    d.mkdir()
    (d / "my-tracker.yaml").write_text("search_factor: 4.5\ntemplate_factor: 2.0\ncheckpoint: ../mine.pth.tar\n"
                                       "backend: eager\nthreads: 1\n")
    # a user file of the same name as a built-in one takes precedence
    (d / "shadow.yaml").write_text("name: loretrack-128\nsearch_factor: 3.0\ntemplate_factor: 2.0\n")
    monkeypatch.setenv("LORETRACK_TRACKERS", os.pathsep.join([str(tmp_path / "missing"), str(d)]))
    assert "my-tracker" in list_trackers()
    spec = get_spec("my-tracker")
    assert spec.network is None and spec.search_factor == 4.5 and spec.threads == 1
    assert spec.checkpoint == str(tmp_path / "mine.pth.tar")  # ../ is relative to the YAML file
    assert get_spec("loretrack-128").search_factor == 3.0
    core = make_tracker("my-tracker")
    assert core.cfg == net.cfg and core.requested_backend == "eager" and core.threads == 1
    for a, b in zip(core.net.state_dict().values(), net.state_dict().values()):
        assert torch.equal(a, b)
    # the same file by path
    assert get_spec(str(d / "my-tracker.yaml")) == spec


def test_network_section_with_official_style_checkpoint(tmp_path):
    net = _tiny_checkpoint(tmp_path / "w.pth.tar", search=96, seed=1)
    ck = torch.load(tmp_path / "w.pth.tar", weights_only=False)
    torch.save({"net": ck["net"], "epoch": 3}, tmp_path / "official.pth.tar")  # no embedded config
    y = tmp_path / "t.yaml"
    y.write_text("name: t\nnetwork: {search_size: 96, template_size: 48, embed_dim: 64, depth: 2, num_heads: 4, "
                 "head_channels: 32}\nsearch_factor: 5\ntemplate_factor: 2\ncheckpoint: ./official.pth.tar\n")
    core = make_tracker(str(y), backend="eager")
    assert core.search_factor == 5.0 and core.cfg.search_size == 96
    z, x = torch.randn(1, 3, 48, 48), torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(core.net(z, x)["score_map"], net(z, x)["score_map"])


def test_make_tracker_with_an_in_memory_network():
    torch.manual_seed(0)
    net = build_net(64, 32, **tiny_net_kwargs())
    core = make_tracker("loretrack-128", net=net, backend="eager", threads=1)
    assert core.net is net and core.cfg.search_size == 64 and core.name == "loretrack-128"
    assert (core.search_factor, core.template_factor) == (5.0, 2.0)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    core.init(frame, [60, 40, 30, 20])
    box, score = core.update(frame)
    assert box.shape == (4,) and 0 < score < 1


@pytest.mark.parametrize("text,msg", [
    ("search_factor: 5\n", "'template_factor' must be a positive number"),
    ("search_factor: -1\ntemplate_factor: 2\n", "'search_factor' must be a positive number"),
    ("search_factor: 5\ntemplate_factor: 2\nbackend: gpu\n", "backend 'gpu'"),
    ("search_factor: 5\ntemplate_factor: 2\nbackend: int8-ov\n", "backend 'int8-ov' does not ship for tracking"),
    ("search_factor: 5\ntemplate_factor: 2\nwindow: 0.5\n", r"unknown keys \['window'\]"),
    ("search_factor: 5\ntemplate_factor: 2\nnetwork: {search_size: 100}\n", "bad 'network' section"),
    ("search_factor: 5\ntemplate_factor: 2\nnetwork: {search_size: 128, depthh: 3}\n", "bad 'network' section"),
    ("search_factor: 5\ntemplate_factor: 2\nthreads: 0\n", "'threads' must be a positive integer"),
    ("search_factor: 5\ntemplate_factor: 2\nmax_size_change: 1.0\n", "'max_size_change' must be a number > 1"),
    ("search_factor: 5\ntemplate_factor: 2\nmax_size_change: yes\n", "'max_size_change' must be a number > 1"),
    ("search_factor: 5\ntemplate_factor: 2\nmax_size_change: .inf\n", "'max_size_change' must be a number > 1"),
    ("search_factor: 5\ntemplate_factor: 2\nmax_frame_side: 8\n", "'max_frame_side' must be an integer >= 16"),
    ("search_factor: 5\ntemplate_factor: 2\nmax_frame_side: 480.5\n", "'max_frame_side' must be an integer >= 16"),
    ("search_factor: 5\ntemplate_factor: 2\nsize_lr: 0\n", r"'size_lr' must be a number in \(0, 1\]"),
    ("search_factor: 5\ntemplate_factor: 2\nsize_lr: 1.5\n", r"'size_lr' must be a number in \(0, 1\]"),
    ("search_factor: 5\ntemplate_factor: 2\nsize_lr: fast\n", r"'size_lr' must be a number in \(0, 1\]"),
    ("- just\n- a list\n", "expected a mapping"),
    ("search_factor: [5\n", "not valid YAML"),
])
def test_bad_tracker_files_name_the_file(tmp_path, text, msg):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match=msg) as e:
        load_spec(str(p))
    assert str(p) in str(e.value)


def test_max_size_change_goes_from_the_file_to_the_loop(tmp_path):
    torch.manual_seed(0)
    net = build_net(64, 32, **tiny_net_kwargs())
    path = write_tracker_file(str(tmp_path / "damped.yaml"), "damped", str(tmp_path / "w.pth"), 4.0, 2.0,
                              max_size_change=1.02)
    spec = load_spec(path)
    assert spec.max_size_change == 1.02
    assert make_tracker(spec, net=net, backend="eager").max_size_change == 1.02
    official = load_spec(write_tracker_file(str(tmp_path / "plain.yaml"), "plain", str(tmp_path / "w.pth"), 4.0, 2.0))
    assert official.max_size_change is None and make_tracker(official, net=net).max_size_change is None
    assert "max_size_change:" not in (tmp_path / "plain.yaml").read_text()


def test_size_lr_goes_from_the_file_to_the_loop(tmp_path):
    torch.manual_seed(0)
    net = build_net(64, 32, **tiny_net_kwargs())
    path = write_tracker_file(str(tmp_path / "damped.yaml"), "damped", str(tmp_path / "w.pth"), 4.0, 2.0,
                              size_lr=0.5)
    spec = load_spec(path)
    assert spec.size_lr == 0.5 and spec.loop["size_lr"] == 0.5
    assert make_tracker(spec, net=net, backend="eager").size_lr == 0.5
    plain = load_spec(write_tracker_file(str(tmp_path / "plain.yaml"), "plain", str(tmp_path / "w.pth"), 4.0, 2.0))
    assert plain.size_lr is None and make_tracker(plain, net=net).size_lr is None
    assert "size_lr:" not in (tmp_path / "plain.yaml").read_text()


def test_tracker_without_checkpoint(tmp_path):
    p = tmp_path / "nock.yaml"
    p.write_text("network: {search_size: 64}\nsearch_factor: 5\ntemplate_factor: 2\n")
    with pytest.raises(ValueError, match="'nock' has no default checkpoint"):
        make_tracker(str(p))
    with pytest.raises(FileNotFoundError, match="tracker file not found"):
        get_spec(str(tmp_path / "none.yaml"))


def test_max_frame_side_goes_from_the_file_to_the_loop(tmp_path):
    torch.manual_seed(0)
    net = build_net(64, 32, **tiny_net_kwargs())
    path = write_tracker_file(str(tmp_path / "scaled.yaml"), "scaled", str(tmp_path / "w.pth"), 4.0, 2.0,
                              max_size_change=1.02, max_frame_side=480)
    spec = load_spec(path)
    assert spec.loop == {"max_size_change": 1.02, "max_frame_side": 480, "size_lr": None}
    core = make_tracker(spec, net=net, backend="eager")
    assert core.max_frame_side == 480 and core.max_size_change == 1.02
    official = load_spec(write_tracker_file(str(tmp_path / "plain.yaml"), "plain", str(tmp_path / "w.pth"), 4.0, 2.0))
    assert official.loop == {"max_size_change": None, "max_frame_side": None, "size_lr": None}
    assert make_tracker(official, net=net).max_frame_side is None
    assert "max_frame_side:" not in (tmp_path / "plain.yaml").read_text()
