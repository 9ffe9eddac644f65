"""The untrained stem correlations as named trackers (trackers/stem_reference.py)."""
import os

import numpy as np
import pytest

from loretrack_plugin.formats import load_otb_sequence, read_rgb
from loretrack_plugin.report.families import assign_families
from loretrack_plugin.trackers import build_got10k_tracker, get_spec, is_peer, list_trackers, make_tracker
from loretrack_plugin.trackers.stem_reference import REFERENCES, StemReference

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "loretrack_plugin", "sample_data", "real")


def test_reference_names_are_reserved_trackers_without_a_network():
    for name in REFERENCES:
        assert name in list_trackers()
        spec = get_spec(name)
        assert is_peer(spec) and spec.network is None and spec.checkpoint is None
    assert assign_families({"stem-xcorr-nanotrack-v3": None, "opencv-nano": None, "demo-teacher-192": 192}) == {
        "stem-xcorr-nanotrack-v3": "reference", "opencv-nano": "peer", "demo-teacher-192": "teacher"}


def test_reference_tracks_through_make_tracker_and_got10k():
    frames, anno = load_otb_sequence(os.path.join(SAMPLE, "Biker"))
    core = make_tracker("stem-xcorr-nanotrack-v3", threads=1)
    assert isinstance(core, StemReference) and core.describe()["reference_stem"] == "nanotrack-v3"
    core.init(read_rgb(frames[0]), anno[0])
    box, score = core.update(read_rgb(frames[1]))
    assert len(box) == 4 and np.isfinite(score)
    got = build_got10k_tracker("stem-xcorr-mobilenetv2")
    boxes, _ = got.track(frames[:5], anno[0])
    assert boxes.shape == (5, 4) and np.isfinite(boxes).all()


def test_reference_refuses_what_does_not_apply():
    with pytest.raises(ValueError, match="takes no checkpoint"):
        make_tracker("stem-xcorr-nanotrack-v3", checkpoint="x.pth")
    with pytest.raises(ValueError, match="backend 'bf16' does not apply"):
        make_tracker("stem-xcorr-nanotrack-v3", backend="bf16")
    with pytest.raises(ValueError, match="threads: expected a positive integer"):
        make_tracker("stem-xcorr-nanotrack-v3", threads=0)


def test_half_scale_reference_correlates_the_student_sized_grids():
    frames, anno = load_otb_sequence(os.path.join(SAMPLE, "Biker"))
    full, half = make_tracker("stem-xcorr-nanotrack-v3", threads=1), make_tracker("stem-xcorr-nanotrack-v3-half", threads=1)
    assert half.describe()["crops"] == [63, 127] and full.describe()["crops"] == [127, 255]
    for core, grid, side in ((full, 8, 9), (half, 4, 5)):
        core.init(read_rgb(frames[0]), anno[0])
        assert tuple(core.kernel.shape[-2:]) == (grid, grid)  # the template's stride-16 features
        assert core.window.shape == (side * 16, side * 16)  # the correlation map, upsampled 16x
        # the search crop spans the same part of the frame at both scales: only its pixels differ
        assert core.x_side == pytest.approx(core.z_side * 255 / 127, rel=0.01)
        box, score = core.update(read_rgb(frames[1]))
        assert np.isfinite(box).all() and np.isfinite(score)


def test_zoomed_half_reference_keeps_the_half_grids_at_the_full_pixel_scale():
    """-half-zoom2: the 63/127 px crops reach the stem up-sampled 2x, the map is pooled back: the half
    reference's 4x4 / 8x8 grids and 5x5 map, but features of another pixel scale."""
    frames, anno = load_otb_sequence(os.path.join(SAMPLE, "Biker"))
    half, zoom = (make_tracker(n, threads=1) for n in ("stem-xcorr-nanotrack-v3-half", "stem-xcorr-nanotrack-v3-half-zoom2"))
    assert zoom.describe()["zoom"] == 2 and half.describe()["zoom"] == 1 and zoom.describe()["crops"] == [63, 127]
    for core in (half, zoom):
        core.init(read_rgb(frames[0]), anno[0])
        assert tuple(core.kernel.shape[-2:]) == (4, 4) and core.window.shape == (80, 80)
    assert not np.allclose(half.kernel.numpy(), zoom.kernel.numpy(), atol=1e-3)
    box, score = zoom.update(read_rgb(frames[1]))
    assert np.isfinite(box).all() and np.isfinite(score)


def test_crop_sizes_are_checked():
    from loretrack_plugin.tracking.stem_xcorr import StemCorrelationTracker
    with pytest.raises(ValueError, match="instance: the search crop"):
        StemCorrelationTracker(exemplar=127, instance=127)
    with pytest.raises(ValueError, match="exemplar: expected an integer crop size"):
        StemCorrelationTracker(exemplar=8)
    with pytest.raises(ValueError, match="zoom: expected an integer"):
        StemCorrelationTracker(zoom=0)
