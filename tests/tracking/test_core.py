"""The tracking loop: hand-made maps, a tiny network on a real sequence, bad input, warm-up at init."""
import math

import numpy as np
import pytest
import torch

from loretrack_plugin import build_net
from loretrack_plugin.tracking import TrackerCore, sample_target
from loretrack_plugin.formats import load_otb_sequence, read_rgb
from tests.conftest import tiny_net_kwargs

MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def peaky(net, gain=8.0):
    """Random networks give nearly flat score maps whose windowed peak is decided by 1e-7 noise;
    a larger score-logit scale gives distinct peaks, as a trained network has."""
    with torch.no_grad():
        net.box_head.conv5_ctr.weight.mul_(gain)
        net.box_head.conv5_ctr.bias.mul_(gain)
    return net


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(3)
    return peaky(build_net(128, 64, **tiny_net_kwargs()))


@pytest.fixture(scope="module")
def biker(real_otb_root):
    frames, gt = load_otb_sequence(f"{real_otb_root}/Biker")
    return [read_rgb(p) for p in frames[:40]], gt


def reference_step(net, z, state, img, search_factor=5.0):
    """One step of the loop of docs/method.md §3, written out independently (float64 numpy box arithmetic)."""
    S, F = net.cfg.search_size, net.cfg.feat_size
    k = np.arange(1, F + 1)
    w1 = 0.5 * (1 - np.cos(2 * np.pi * k / (F + 1)))
    window = np.outer(w1, w1)
    H, W = img.shape[:2]
    patch, rf, _ = sample_target(img, state, search_factor, S)
    with torch.no_grad():
        o = net(z, norm(patch))
    response = window * o["score_map"][0, 0].double().numpy()
    iy, ix = divmod(int(np.argmax(response)), F)
    near_max = {divmod(int(i), F) for i in np.flatnonzero(response >= response.max() - 1e-6)}
    off = o["offset_map"][0, :, iy, ix].double().numpy()
    wh = o["size_map"][0, :, iy, ix].double().numpy()
    side = S / rf
    cx = (ix + off[0]) / F * side + state[0] + state[2] / 2 - side / 2
    cy = (iy + off[1]) / F * side + state[1] + state[3] / 2 - side / 2
    w, h = wh[0] * side, wh[1] * side
    x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    x1, x2 = min(max(0, x1), W - 10), min(max(10, x2), W)
    y1, y2 = min(max(0, y1), H - 10), min(max(10, y2), H)
    return [x1, y1, max(10, x2 - x1), max(10, y2 - y1)], near_max


def norm(patch):
    x = (patch.astype(np.float64) / 255.0 - MEAN) / STD
    return torch.from_numpy(x.transpose(2, 0, 1)[None]).float()


def test_tiny_network_tracks_a_real_sequence_like_the_reference(tiny_net, biker):
    frames, gt = biker
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", name="tiny")
    core.init(frames[0], gt[0])
    z = norm(sample_target(frames[0], gt[0], 2.0, 64)[0])
    worst, compared = 0.0, 0
    boxes = []
    for img in frames[1:]:
        # teacher-forced: the reference starts each frame from the core's state, so a 1e-6 difference
        # cannot flip a later crop rounding and make the two trajectories part
        want, near_max = reference_step(tiny_net, z, list(core.state), img)
        box, _ = core.update(img)
        boxes.append(box)
        if len(near_max) == 1:
            worst = max(worst, float(np.abs(box - np.array(want)).max()))
            compared += 1
        else:  # exact ties (e.g. cells on uniform zero padding): any of the tied cells is right
            assert core.last.peak in near_max
    assert compared >= len(frames) // 2
    assert worst < 1e-3
    boxes = np.array(boxes)
    assert boxes.shape == (len(frames) - 1, 4) and np.isfinite(boxes).all()
    H, W = frames[0].shape[:2]
    assert (boxes[:, 2:] >= 10).all() and (boxes[:, 0] <= W - 10).all() and (boxes[:, 1] <= H - 10).all()
    # the same sequence again gives the same boxes (re-init resets the state)
    core.init(frames[0], gt[0])
    again = np.array([core.update(f)[0] for f in frames[1:]])
    assert np.array_equal(again, boxes)


def test_score_is_the_raw_score_at_the_windowed_peak(tiny_net, biker):
    frames, gt = biker
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    core.init(frames[0], gt[0])
    _, score = core.update(frames[1])
    iy, ix = core.last.peak
    assert score == float(core.last.score_map[0, 0, iy, ix])
    assert 1e-4 <= score <= 1 - 1e-4
    assert tuple(core.last.search_box) == tuple(float(v) for v in gt[0])


class FixedMaps:
    """A backend that returns hand-made maps."""
    name, exact = "fixed", False  # not an approximation of eager: no eager re-runs

    def __init__(self, F, peak, offset, size):
        self.score = torch.zeros(1, 1, F, F)
        self.score[0, 0, peak[0], peak[1]] = 0.9
        self.size = torch.full((1, 2, F, F), 0.5)
        self.offset = torch.zeros(1, 2, F, F)
        self.size[0, :, peak[0], peak[1]] = torch.tensor(size)
        self.offset[0, :, peak[0], peak[1]] = torch.tensor(offset)

    def __call__(self, template, search):
        return self.score, self.size, self.offset


def test_update_with_hand_made_maps(tiny_net):
    frame = np.zeros((200, 200, 3), np.uint8)
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    core.init(frame, [80, 80, 40, 40])           # crop side ceil(40 * 5) = 200, resize factor 128 / 200
    core.backend = FixedMaps(8, (4, 5), (0.5, 0.25), (0.2, 0.1))
    box, score = core.update(frame)
    # cx = (5 + 0.5) / 8 * 200 = 137.5, cy = (4 + 0.25) / 8 * 200 = 106.25, w = 40, h = 20, around
    # the previous centre (100, 100) with half side 100: the crop centre maps onto the previous centre
    assert box.tolist() == pytest.approx([117.5, 96.25, 40.0, 20.0], abs=1e-4)
    assert score == pytest.approx(0.9)
    # next frame: the peak sits at the right border and the box leaves the frame -> clipped
    core.backend = FixedMaps(8, (4, 7), (0.9, 0.0), (0.3, 0.3))
    box, _ = core.update(frame)
    # crop side ceil(sqrt(40 * 20) * 5) = 142; cx = 7.9 / 8 * 142 + (137.5 - 71) = 206.7225 -> clipped
    side = math.ceil(math.sqrt(800) * 5)
    cx = 7.9 / 8 * side + 137.5 - side / 2
    w = 0.3 * side
    assert box[0] == pytest.approx(min(cx - w / 2, 190), abs=1e-3)
    assert box[0] + box[2] == pytest.approx(200, abs=1e-3)


def test_warm_up_runs_at_init_and_each_update_runs_one_forward(tiny_net, biker):
    frames, gt = biker
    calls = []
    handle = tiny_net.register_forward_hook(lambda *a: calls.append(1))
    try:
        core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
        assert core.backend is None and not calls  # nothing heavy at construction
        core.init(frames[0], gt[0])
        assert core.backend_name == "eager" and len(calls) >= 1
        n = len(calls)
        core.update(frames[1])
        assert len(calls) == n + 1
    finally:
        handle.remove()


def test_bad_input_errors(tiny_net):
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", name="tiny")
    frame = np.zeros((100, 160, 3), np.uint8)
    with pytest.raises(RuntimeError, match="before init"):
        core.update(frame)
    for box, msg in (([10, 10, 0, 0], "positive"), ([10, 10, -3, 5], "positive"),
                     ([float("nan"), 0, 5, 5], "NaN"), ([500, 500, 10, 10], "outside")):
        with pytest.raises(ValueError, match=msg):
            core.init(frame, box)
    with pytest.raises(ValueError, match="backend 'cuda'"):
        TrackerCore(tiny_net, 5.0, 2.0, backend="cuda")
    with pytest.raises(ValueError, match="factors"):
        TrackerCore(tiny_net, 0.0, 2.0)
    with pytest.raises(ValueError, match="threads"):
        TrackerCore(tiny_net, 5.0, 2.0, threads=0)


def test_grayscale_rgba_and_16bit_frames_track_like_rgb(tiny_net, biker):
    frames, gt = biker
    gray = [f.mean(axis=2).round().astype(np.uint8) for f in frames[:4]]
    rgb = [np.repeat(g[:, :, None], 3, axis=2) for g in gray]
    variants = {
        "gray": gray,
        "rgba": [np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]) for f in rgb],
        "16bit": [f.astype(np.uint16) * 257 for f in rgb],
    }
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    core.init(rgb[0], gt[0])
    want = [core.update(f)[0] for f in rgb[1:]]
    for name, seq in variants.items():
        core.init(seq[0], gt[0])
        got = [core.update(f)[0] for f in seq[1:]]
        assert np.array_equal(np.array(got), np.array(want)), name


def test_max_size_change_limits_width_and_height_and_nothing_else(tiny_net, biker):
    frames, gt = biker
    free = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    free.init(frames[0], gt[0])
    k = 1.02
    limited = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", max_size_change=k)
    limited.init(frames[0], gt[0])
    clamped = 0
    for f in frames[1:12]:
        prev = np.array(limited.state, dtype=np.float64)
        search, rf = limited.search_crop(f)
        maps = limited.forward(search)
        box, _ = limited.update_from_maps(f.shape[:2], maps, rf)
        # the same maps through the official loop from the same state: only the size may differ
        free.state = list(prev)
        ref, _ = free.update_from_maps(f.shape[:2], maps, rf)
        assert limited.last.peak == free.last.peak
        ratio = box[2:] / prev[2:]
        assert np.all(ratio <= k + 1e-9) and np.all(ratio >= 1 / k - 1e-9)
        centre, ref_centre = box[:2] + box[2:] / 2, ref[:2] + ref[2:] / 2
        if np.allclose(box, ref):
            continue
        clamped += 1
        assert np.all(np.abs(ref[2:] / prev[2:] - 1) > np.abs(ratio - 1) - 1e-9)
        assert np.allclose(centre, ref_centre, atol=1e-6) or min(box[0], box[1]) <= 0 or ref.min() <= 0
    assert clamped > 0, "a random network's size head never changed the box by more than 2 %: test says nothing"
    for bad in (1.0, 0.5, float("inf"), True):
        with pytest.raises(ValueError, match="max_size_change"):
            TrackerCore(tiny_net, 5.0, 2.0, max_size_change=bad)
    assert "max_size_change=1.02" in repr(limited)


def test_size_lr_damps_width_and_height_and_nothing_else(tiny_net, biker):
    """Same maps, same state: the damped box has the official box's centre (away from the frame's
    edge) and a size exactly ``a`` of the way from the previous state's to the official one."""
    frames, gt = biker
    free = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    free.init(frames[0], gt[0])
    a = 0.4
    damped = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", size_lr=a)
    damped.init(frames[0], gt[0])
    compared = 0
    for i, f in enumerate(frames[1:12], start=1):
        damped.state = [float(v) for v in gt[i - 1]]  # from the true box, so the random net cannot drift off
        prev = np.array(damped.state, dtype=np.float64)
        search, rf = damped.search_crop(f)
        maps = damped.forward(search)
        box, _ = damped.update_from_maps(f.shape[:2], maps, rf)
        free.state = list(prev)
        ref, _ = free.update_from_maps(f.shape[:2], maps, rf)
        assert damped.last.peak == free.last.peak
        H, W = f.shape[:2]
        inside = lambda b: b[0] > 0 and b[1] > 0 and b[0] + b[2] < W - 10 and b[1] + b[3] < H - 10
        if not (inside(box) and inside(ref)):
            continue  # clipping to the frame changes both boxes differently
        compared += 1
        assert np.allclose(box[:2] + box[2:] / 2, ref[:2] + ref[2:] / 2, atol=1e-6)
        assert np.allclose(box[2:], prev[2:] + a * (ref[2:] - prev[2:]), atol=1e-6)
    assert compared >= 5, "too few frames away from the edge: the test says nothing"
    # a = 1 is the official loop, to the last bit
    one = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", size_lr=1.0)
    plain = TrackerCore(tiny_net, 5.0, 2.0, backend="eager")
    one.init(frames[0], gt[0])
    plain.init(frames[0], gt[0])
    for f in frames[1:6]:
        assert np.array_equal(one.update(f)[0], plain.update(f)[0])
    for bad in (0, -0.5, 1.5, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="size_lr"):
            TrackerCore(tiny_net, 5.0, 2.0, size_lr=bad)
    assert "size_lr=0.4" in repr(damped)


def test_size_lr_damps_before_max_size_change_limits(tiny_net, biker):
    frames, gt = biker
    both = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", size_lr=0.5, max_size_change=1.01)
    both.init(frames[0], gt[0])
    H, W = frames[0].shape[:2]
    checked = 0
    for i, f in enumerate(frames[1:12], start=1):
        both.state = [float(v) for v in gt[i - 1]]
        prev = np.array(both.state, dtype=np.float64)
        box, _ = both.update(f)
        if box[0] <= 0 or box[1] <= 0 or box[0] + box[2] >= W - 10 or box[1] + box[3] >= H - 10:
            continue  # clipped to the frame
        checked += 1
        ratio = box[2:] / prev[2:]
        assert np.all(ratio <= 1.01 + 1e-9) and np.all(ratio >= 1 / 1.01 - 1e-9)
    assert checked >= 5


def test_max_frame_side_tracks_a_large_frame_as_its_scaled_down_copy(tiny_net, biker):
    """A frame twice the size (each pixel doubled) is scaled back to the original by INTER_AREA, so the
    loop with max_frame_side = the original's longer side gives exactly twice the original's boxes."""
    import cv2
    frames, gt = biker
    H, W = frames[0].shape[:2]
    small = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", max_size_change=1.02)
    big = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", max_size_change=1.02, max_frame_side=max(H, W))
    small.init(frames[0], gt[0])
    big.init(cv2.resize(frames[0], (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST), 2 * np.asarray(gt[0]))
    assert big.frame_scale == (0.5, 0.5) and np.allclose(big.state, small.state)
    for f in frames[1:8]:
        want, s_want = small.update(f)
        got, s_got = big.update(cv2.resize(f, (2 * W, 2 * H), interpolation=cv2.INTER_NEAREST))
        assert np.allclose(got, 2 * want, atol=1e-9) and s_got == s_want
        assert np.allclose(big.state, small.state, atol=1e-9)  # the loop itself runs in the small frame
    # frames that are not larger than the limit are tracked as they are: the official loop, bit for bit
    same = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", max_size_change=1.02, max_frame_side=max(H, W))
    small.init(frames[0], gt[0])
    same.init(frames[0], gt[0])
    for f in frames[1:6]:
        assert np.array_equal(same.update(f)[0], small.update(f)[0])
    assert same.frame_scale == (1.0, 1.0)
    assert f"max_frame_side={max(H, W)}" in repr(same)


def test_max_frame_side_carries_the_state_when_the_frame_size_changes(tiny_net, biker):
    import cv2
    frames, gt = biker
    H, W = frames[0].shape[:2]
    core = TrackerCore(tiny_net, 5.0, 2.0, backend="eager", max_frame_side=W // 2)
    core.init(frames[0], gt[0])
    before = core.to_frame(core.state)
    assert np.allclose(before, gt[0])
    core.working_frame(cv2.resize(frames[1], (W // 4, H // 4)))  # smaller than the limit: not scaled
    assert core.frame_scale == (1.0, 1.0)
    assert np.allclose(core.state, before)  # the same box, now in the pixels of the unscaled frame


@pytest.mark.parametrize("bad", [0, 8, 15, 100.0, True, "480"])
def test_bad_max_frame_side_is_refused(tiny_net, bad):
    with pytest.raises(ValueError, match="max_frame_side"):
        TrackerCore(tiny_net, 5.0, 2.0, max_frame_side=bad)
