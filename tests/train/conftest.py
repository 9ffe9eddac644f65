"""Tiny training configs (small ViT, a few real OTB sequences, no worker processes) and teachers."""
import copy
import os

import pytest

from loretrack_plugin import build_net, save_checkpoint
from tests.conftest import REAL_OTB, tiny_net_kwargs

NET = tiny_net_kwargs()  # width 64, 2 blocks, 4 heads, head 32


def deep_update(d, u):
    for k, v in u.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict):
            deep_update(d[k], v)
        else:
            d[k] = copy.deepcopy(v)
    return d


def tiny_config(out_dir, **over):
    """2 blocks of width 64; student 64/32, teacher 128/64; 8 samples (2 steps of 4) per epoch; on CPU."""
    cfg = {
        "name": "tiny-test",
        "model": dict(search_size=64, template_size=32, drop_path_rate=0.0, **NET),
        "teacher": dict(search_size=128, template_size=64, **NET),
        "data": {
            "train": {"datasets": [{"type": "otb", "root": REAL_OTB, "sequences": ["Biker", "vot15_bag", "Crossing"]}],
                      "samples_per_epoch": 8},
            # a small centre jitter keeps the target inside every search crop (one heatmap peak per sample)
            "search": {"center_jitter": 1.0, "scale_jitter": 0.1},
            "num_workers": 0,
        },
        "optim": {"batch_size": 4, "epochs": 3, "lr_drop_epoch": 2},
        # CPU pinned: these tests compare exact values (torch.equal) that only fp32 on CPU guarantees;
        # GPU behaviour is tested in test_gpu.py
        "run": {"output_dir": os.fspath(out_dir), "progress": False, "tensorboard": False, "log_every": 1,
                "device": "cpu"},
    }
    return deep_update(cfg, over)


@pytest.fixture
def teacher_ckpt(tmp_path):
    """A randomly initialised 128/64 teacher of the tiny width, saved in the official layout."""
    import torch
    torch.manual_seed(123)
    net = build_net(128, 64, **NET)
    return save_checkpoint(net, os.path.join(tmp_path, "teacher.pth.tar"), epoch=1)
