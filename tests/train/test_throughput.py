"""Keeping a GPU fed: vectorised heatmaps, no host syncs in the loss, loader workers, profile-data."""
import json
import os

import cv2
import numpy as np
import pytest
import torch
import yaml

from loretrack_plugin.cli import main as cli_main
from loretrack_plugin.data.labels import gaussian_heatmap, gaussian_kernel, gaussian_radius
from loretrack_plugin.data.sampler import worker_init
from loretrack_plugin.train import Trainer
from loretrack_plugin.train.losses import FocalLoss

from .conftest import tiny_config


def loop_heatmap(boxes, grid, min_overlap=0.7):
    """The per-sample loop the trainer used before (reference for the vectorised version)."""
    boxes = boxes.detach().float().cpu()
    B = boxes.shape[0]
    out = torch.zeros(B, grid, grid)
    cells = boxes * grid
    wh = cells[:, 2:]
    centres = (cells[:, :2] + wh / 2).round()
    radii = gaussian_radius(wh[:, 0], wh[:, 1], min_overlap).clamp_min(0).to(torch.int64)
    for i in range(B):
        if not torch.isfinite(centres[i]).all():
            continue
        x, y, r = int(centres[i, 0]), int(centres[i, 1]), int(radii[i])
        if not (0 <= x < grid and 0 <= y < grid):
            continue
        g = gaussian_kernel(r)
        left, right = min(x, r), min(grid - x, r + 1)
        top, bottom = min(y, r), min(grid - y, r + 1)
        patch = out[i, y - top:y + bottom, x - left:x + right]
        out[i, y - top:y + bottom, x - left:x + right] = torch.maximum(patch, g[r - top:r + bottom, r - left:r + right])
    return out


@pytest.mark.parametrize("grid", [4, 8, 16, 24])
def test_vectorised_heatmap_equals_the_loop(grid):
    g = torch.Generator().manual_seed(grid)
    n = 400
    xy = torch.rand(n, 2, generator=g) * 1.4 - 0.3            # centres inside and outside the crop
    wh = torch.rand(n, 2, generator=g) ** 2 * 1.2 + 1e-3       # tiny to larger than the crop
    boxes = torch.cat([xy, wh], dim=1)
    special = torch.tensor([[0.5, 0.5, 0.0, 0.0], [-2.0 / grid, -2.0 / grid, 4.0 / grid, 4.0 / grid],
                            [0.9, 0.9, 0.5, 0.5], [float("nan"), 0.5, 0.1, 0.1], [0.5, 0.5, float("inf"), 0.1],
                            [1.2, 0.5, 0.1, 0.1], [0.0, 0.0, 1.0, 1.0]])
    boxes = torch.cat([boxes, special])
    want = loop_heatmap(boxes, grid)
    got = gaussian_heatmap(boxes, grid)
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert torch.equal(got, want)
    assert (want.flatten(1).max(1).values == 1).sum() > n // 3  # many maps with a peak were compared


def test_heatmap_and_focal_loss_need_no_host_sync():
    # on the meta device any .item()/.cpu()/Python branch on a value fails: the labels and the loss
    # of a GPU batch are computed without synchronising with the host
    boxes = torch.rand(8, 4, device="meta")
    heat = gaussian_heatmap(boxes, 16)
    assert heat.device.type == "meta" and heat.shape == (8, 16, 16)
    loss = FocalLoss()(torch.rand(8, 1, 16, 16, device="meta"), heat)
    assert loss.device.type == "meta" and loss.shape == ()


def test_focal_loss_without_positives_is_the_negative_sum():
    p = torch.full((2, 1, 3, 3), 0.3)
    y = torch.full((2, 3, 3), 0.5)
    neg = (torch.log(torch.tensor(0.7)) * 0.09 * 0.5 ** 4).item() * 18
    assert FocalLoss()(p, y).item() == pytest.approx(-neg, rel=1e-6)


class _Threads(torch.utils.data.Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, i):
        return cv2.getNumThreads()


def test_worker_init_gives_opencv_one_thread_per_worker():
    loader = torch.utils.data.DataLoader(_Threads(), batch_size=None, num_workers=1, worker_init_fn=worker_init)
    assert list(loader) == [1, 1]


def test_persistent_workers_draw_the_epoch_of_the_batch_sampler(tmp_path):
    trainer = Trainer(tiny_config(tmp_path / "run", data={"num_workers": 2}))
    loader = trainer.loader
    assert loader.persistent_workers and loader.worker_init_fn is worker_init
    direct = trainer.train_sampler
    for epoch in (1, 2, 1):
        trainer.batches.epoch = epoch
        batches = list(loader)
        assert [b["index"] for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]
        for b in batches:
            for j, i in enumerate(b["index"]):
                ref = direct[(epoch, i)]  # computed in this process
                assert b["sample_id"][j] == ref["sample_id"]
                assert torch.equal(b["search"][j], ref["search"])
    ids = lambda e: [direct[(e, i)]["sample_id"] for i in range(8)]  # noqa: E731
    assert ids(1) != ids(2)


def test_profile_data_reports_loader_and_step_rates(tmp_path, capsys):
    trainer = Trainer(tiny_config(tmp_path / "run"))
    res = trainer.profile_data(steps=2)
    assert res["loader_samples_per_s"] > 0 and res["step_samples_per_s"] > 0
    assert res["bound"] in ("data", "compute") and res["batch_size"] == 4 and res["precision"] == "fp32"
    assert not os.path.exists(tmp_path / "run")  # nothing written
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(tiny_config(tmp_path / "run")))
    assert cli_main(["profile-data", "--config", str(path), "--steps", "1"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out[:out.rindex("}") + 1])
    assert summary["steps"] == 1 and "samples/s per process" in out
    assert cli_main(["profile-data", "--config", str(path), "--steps", "0"]) == 2
    assert "--steps 0" in capsys.readouterr().err


def test_heatmap_values_on_a_known_box_stay_float32_exact():
    # peak 1 at the centre cell, exp(-2) next to it (radius 1, sigma 0.5), computed like the kernel
    heat = gaussian_heatmap(torch.tensor([[2.0 / 8, 0.5 / 8, 4.0 / 8, 4.0 / 8]]), 8)[0]
    assert heat[2, 4].item() == 1.0
    assert heat[2, 5].item() == np.float32(np.exp(-2.0))
