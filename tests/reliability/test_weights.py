"""Catalogue: bad trackers and checkpoints given to ``loretrack eval``."""
import os
import pickle

import torch
from torch import nn

from loretrack_plugin import build_net, save_checkpoint
from tests.conftest import tiny_net_kwargs

from .catalogue import case
from .conftest import eval_args, files_under, run_cli


def _eval_with(tiny, otb, tmp_path, checkpoint):
    out = tmp_path / "out"
    return run_cli(*eval_args(otb, out, tiny.yaml, "--checkpoint", f"{tiny.name}={checkpoint}")), out


def _refused(tiny, otb, tmp_path, checkpoint, *fragments):
    res, out = _eval_with(tiny, otb, tmp_path, checkpoint)
    res.one_error(2, *fragments)
    assert files_under(out) == []


@case("unknown-tracker")
def test_unknown_tracker(otb, tmp_path):
    res = run_cli(*eval_args(otb, tmp_path / "out", "no-such-tracker"))
    res.one_error(2, "unknown tracker 'no-such-tracker'", "known trackers are")
    assert files_under(tmp_path / "out") == []


@case("missing-checkpoint")
def test_missing_checkpoint(tiny, otb, tmp_path):
    path = tmp_path / "nowhere.pth.tar"
    _refused(tiny, otb, tmp_path, path, f"checkpoint for tracker '{tiny.name}' not found: {path}")


@case("truncated-checkpoint")
def test_truncated_checkpoint(tiny, otb, tmp_path):
    path = tmp_path / "truncated.pth.tar"
    data = open(tiny.checkpoint, "rb").read()
    path.write_bytes(data[: len(data) // 2])
    _refused(tiny, otb, tmp_path, path, f"tracker '{tiny.name}' cannot be built", str(path),
             "not a readable PyTorch checkpoint")


@case("text-checkpoint")
def test_text_file_as_checkpoint(tiny, otb, tmp_path):
    path = tmp_path / "notes.pth.tar"
    path.write_text("these are not weights\n" * 20)
    _refused(tiny, otb, tmp_path, path, f"tracker '{tiny.name}' cannot be built", str(path),
             "not a readable PyTorch checkpoint")


class _Payload:
    """Unpickling this calls os.mkdir(marker): the payload 'ran' if the folder exists afterwards."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@case("malicious-pickle")
def test_malicious_pickle_never_runs(tiny, otb, tmp_path):
    marker = str(tmp_path / "payload-ran")
    plain = tmp_path / "plain-pickle.pth.tar"          # a bare pickle stream
    plain.write_bytes(pickle.dumps({"net": _Payload(marker)}))
    zipped = tmp_path / "torch-save.pth.tar"           # the same inside torch.save's zip format
    torch.save({"net": _Payload(marker), "epoch": 1}, str(zipped))
    for path in (plain, zipped):
        res, out = _eval_with(tiny, otb, tmp_path, path)
        res.one_error(2, f"tracker '{tiny.name}' cannot be built", str(path))
        assert files_under(out) == []
        assert not os.path.exists(marker), f"the pickle payload of {path} ran"


@case("wrong-resolution-checkpoint")
def test_checkpoint_of_another_resolution_is_resized(tmp_path, otb):
    net = build_net(search_size=128, template_size=64, **tiny_net_kwargs())
    save_checkpoint(net, str(tmp_path / "tiny-128.pth.tar"), epoch=1)
    network = "".join(f"  {k}: {v}\n" for k, v in dict(search_size=64, template_size=32, **tiny_net_kwargs()).items())
    spec = tmp_path / "tiny-net-64.yaml"
    spec.write_text(f"name: tiny-net-64\nnetwork:\n{network}search_factor: 4.0\ntemplate_factor: 2.0\n"
                    "checkpoint: ./tiny-128.pth.tar\nbackend: eager\nthreads: 1\n")
    res = run_cli(*eval_args(otb, tmp_path / "out", str(spec)))
    assert res.rc == 0 and res.errors == [], res.errors
    assert any("resized pos_embed_x from 8x8 to 4x4" in w for w in res.warnings), res.warnings
    assert any("resized pos_embed_z from 4x4 to 2x2" in w for w in res.warnings), res.warnings
    assert os.path.isfile(tmp_path / "out" / "results" / "OTB" / "tiny-net-64" / "Biker.txt")


class _Basic(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)


class _ResNet(nn.Module):
    """The key layout of a torchvision ResNet (conv1, bn1, layer1..4, fc), from plain layers, tiny."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 7, 2, 3, bias=False), nn.BatchNorm2d(8)
        for i in range(1, 5):
            setattr(self, f"layer{i}", nn.Sequential(_Basic(8), _Basic(8)))
        self.fc = nn.Linear(8, 10)


@case("other-architecture")
def test_resnet_state_dict_is_refused(tiny, otb, tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(_ResNet().state_dict(), str(path))
    _refused(tiny, otb, tmp_path, path, f"tracker '{tiny.name}' cannot be built", str(path),
             "not an OSTrack/LoReTrack state dict")
