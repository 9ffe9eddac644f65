"""What ``loretrack bench`` reports, checked on fixed numbers and a tiny network (never timed)."""
import numpy as np
import pytest
import torch
from PIL import Image

from loretrack_plugin import build_net
from loretrack_plugin.evaluation.metrics import got10k_sequence
from loretrack_plugin.formats import load_otb_sequence, read_rgb
from loretrack_plugin.tracking import TrackerCore
from loretrack_plugin.tracking import hardware as H
from loretrack_plugin.tracking.backend_comparison import (AUC_TOLERANCE_POINTS, PeakCheck, Timing, auto_check,
                                                          check_peaks, disturbed_peaks, dither, format_peak_checks,
                                                          format_timings,
                                                          isa_text, markdown_table, synthetic_frames, timing_record)
from tests.conftest import tiny_net_kwargs

from .test_core import peaky

PEAKS = {"fp32": H.GemmPeak("fp32", gflops=200.0), "bf16": H.GemmPeak("bf16", gflops=800.0)}
FLOPS = 4e9  # one forward: 40 ms -> 100 GFLOP/s


def timing(backend, resolved, step_ms, precision="fp32", diff=0.0, fwd_ms=None):
    fwd_ms = step_ms * 0.9 if fwd_ms is None else fwd_ms
    return Timing(backend, resolved, step_ms, fwd_ms, [step_ms / 1e3] * 4, [fwd_ms / 1e3] * 4, precision=precision,
                  reason=f"{resolved} (test)", diff_vs_eager=diff)


ROWS = [timing("eager", "eager", 80.0), timing("auto", "openvino", 40.0, diff=1e-6),
        timing("bf16", "bf16", 20.0, precision="bf16", diff=5e-3)]


def test_achieved_rate_and_percent_of_the_matching_peak():
    assert H.achieved_gflops(FLOPS, 40.0) == pytest.approx(100.0)
    assert H.achieved_gflops(FLOPS, 0.0) == 0.0
    assert H.peak_gflops(PEAKS, "bf16") == 800.0 and H.peak_gflops(PEAKS, "int8") is None
    assert H.peak_gflops({"fp32": {"gflops": 0.0}}, "fp32") is None  # measured by no engine
    rec = {r.backend: timing_record(r, FLOPS, PEAKS, reference=ROWS[0], isa="AVX-512") for r in ROWS}
    # auto: 4 GFLOP / 40 ms = 100 GFLOP/s = 50 % of the fp32 peak; bf16: 200 GFLOP/s = 25 % of the bf16 peak
    assert rec["auto"]["step_gflops"] == pytest.approx(100.0)
    assert rec["auto"]["step_percent_of_peak"] == pytest.approx(50.0)
    assert rec["bf16"]["step_percent_of_peak"] == pytest.approx(25.0)
    assert rec["bf16"]["step_speedup_vs_eager"] == pytest.approx(4.0)
    assert rec["auto"]["step_fps"] == pytest.approx(25.0)
    assert rec["auto"]["isa"] == "AVX-512" and rec["auto"]["max_diff_vs_eager"] == 1e-6
    assert rec["auto"]["reason"] == "openvino (test)"


def test_tables_name_the_isa_and_the_peak_of_each_precision():
    isa = {"eager": "MKL not reported, oneDNN AVX-512", "auto": "AVX-512", "bf16": "AMX-BF16"}
    text = format_timings(ROWS, flops=FLOPS, peaks=PEAKS, isa=isa)
    assert text.splitlines()[0].rstrip().endswith("ISA") and "AMX-BF16" in text and "auto(openvino)" in text
    md = markdown_table(ROWS, FLOPS, PEAKS, isa).splitlines()
    assert md[0].startswith("| path | precision | ISA | step | fps | achieved | % of the peak | forward alone "
                            "| guard re-runs | vs eager |")
    assert len(md) == 2 + len(ROWS)
    # forward 36 ms: 4 GFLOP / 36 ms = 111 GFLOP/s = 56 % of 200
    assert md[3] == ("| `auto` → openvino | fp32 | AVX-512 | 40.0 ms | 25.0 | 100 GFLOP/s | "
                     "50 % of the fp32 peak (200 GFLOP/s) | 36.0 ms, 56 % | 0 % | ×2.00 |")
    assert "25 % of the bf16 peak (800 GFLOP/s)" in md[4]
    rechecked = timing("bf16", "bf16", 20.0, precision="bf16")
    rechecked.exact_reruns, rechecked.eager_reruns = 1, 1  # of 4 timed frames
    assert "| 50 % (1 fp32, 1 eager) |" in markdown_table([ROWS[0], rechecked], FLOPS, PEAKS, isa)
    assert "n/a (bf16 peak not measured)" in markdown_table(ROWS, FLOPS, {"fp32": PEAKS["fp32"]}, isa)
    assert "not reported" in markdown_table(ROWS, FLOPS, PEAKS).splitlines()[3]  # no ISA given


def test_auto_check_compares_auto_with_the_other_exact_fp32_paths():
    ok = auto_check(ROWS)
    assert ok["auto_is_fastest"] and ok["compared_with"] == ["eager"] and ok["equals_eager"]
    assert ok["resolved"] == "openvino" and "fastest" in ok["verdict"]
    # another engine faster than auto's choice; the row that ran auto's own engine and the inexact
    # bf16 row are no competitors
    rows = ROWS + [timing("onnxruntime", "onnxruntime", 30.0, diff=2e-6), timing("openvino", "openvino", 35.0),
                   timing("int8", "int8-ort", 10.0, precision="int8", diff=1e-2)]
    slow = auto_check(rows)
    assert not slow["auto_is_fastest"] and slow["fastest_other"] == "onnxruntime"
    assert slow["compared_with"] == ["eager", "onnxruntime"]
    assert "AUTO_ORDER should try onnxruntime first" in slow["verdict"]
    assert auto_check(ROWS[:1]) is None


def test_isa_text_per_library_or_engine():
    assert isa_text({"isa": "AVX512_BF16", "isa_by_library": {"MKL": None, "oneDNN": "AVX512_BF16"}}) == \
        "MKL not reported, oneDNN AVX512_BF16"
    assert isa_text({"isa": "AMX-BF16"}) == "AMX-BF16"
    assert isa_text({"engine": "ONNX Runtime CPU (MLAS)", "isa": None}) == "not reported"


def test_auc_difference_in_points_and_the_verdict():
    close = PeakCheck("bf16", frames=10, auc=0.6170, eager_auc=0.6200, precision="bf16")
    off = PeakCheck("int8", frames=10, auc=0.6120, eager_auc=0.6200, precision="int8", peak_mismatches=1,
                    first_mismatch="Biker frame 7")
    assert close.auc_diff_points == pytest.approx(-0.3) and close.auc_within_tolerance
    assert off.auc_diff_points == pytest.approx(-0.8) and off.auc_within_tolerance is False
    assert PeakCheck("x").auc_diff_points is None and PeakCheck("x").auc_within_tolerance is None
    d = off.as_dict()
    assert d["auc_diff_points"] == pytest.approx(-0.8) and d["auc_tolerance_points"] == AUC_TOLERANCE_POINTS
    assert d["agrees"] is False and d["auc_within_tolerance"] is False
    lines = format_peak_checks([close, off, PeakCheck("onednn")]).splitlines()
    assert "dAUC pt" in lines[0]
    assert "-0.30" in lines[1] and "same peak as eager; AUC within 0.5 pt" in lines[1]
    assert "DIFFERS from eager (first at Biker frame 7); AUC OFF by more than 0.5 pt" in lines[2]
    assert "n/a" in lines[3] and "no frames" in lines[3]


def write_sequence(folder, n):
    """An OTB-layout sequence of ``n`` synthetic frames (a square drifting right) with its boxes."""
    frames, box = synthetic_frames(n)
    (folder / "img").mkdir(parents=True)
    for i, f in enumerate(frames, 1):
        Image.fromarray(f).save(folder / "img" / f"{i:04d}.jpg", quality=95)
    rows = [[box[0] + 3 * i, box[1], box[2], box[3]] for i in range(n)]
    (folder / "groundtruth_rect.txt").write_text("".join(",".join(f"{v:g}" for v in r) + "\n" for r in rows))
    return str(folder)


def test_check_peaks_on_synthetic_frames_with_the_auc_of_each_tracker(tmp_path):
    torch.manual_seed(7)
    net = peaky(build_net(64, 32, **tiny_net_kwargs()))
    seq = write_sequence(tmp_path / "Drift", 3)
    (res,) = check_peaks(net, 5.0, 2.0, ["eager", "onednn"], [seq], threads=1, progress=False)
    assert res.backend == "onednn" and res.precision == "fp32" and res.frames == 2
    assert res.agrees and res.peak_mismatches == 0 and res.max_map_diff < 1e-5
    # eager's AUC is that of the plain eager tracker on the same frames (got10k, OTB protocol)
    paths, gt = load_otb_sequence(seq)
    core = TrackerCore(net, 5.0, 2.0, backend="eager")
    core.init(read_rgb(paths[0]), gt[0])
    boxes = np.stack([gt[0]] + [core.update(read_rgb(p))[0] for p in paths[1:]])
    assert res.eager_auc == pytest.approx(got10k_sequence(boxes, gt, drop_nan_gt=False).success_score)
    # an exact backend follows eager's trajectory, so its tracker scores the same
    assert 0 < res.eager_auc <= 1 and res.auc_diff_points == pytest.approx(0.0, abs=1e-9)
    assert res.auc_within_tolerance


def test_check_peaks_runs_the_loop_options_of_the_tracker(tmp_path):
    """With ``max_frame_side`` the teacher-forced crops come from the scaled-down frame, and eager's
    AUC is that of the eager tracker with the same loop (boxes back in the frame's pixels)."""
    torch.manual_seed(7)
    net = peaky(build_net(64, 32, **tiny_net_kwargs()))
    seq = write_sequence(tmp_path / "Drift", 4)
    loop = {"max_size_change": 1.05, "max_frame_side": 320}  # the synthetic frames are 640 px wide
    (res,) = check_peaks(net, 5.0, 2.0, ["eager", "onednn"], [seq], threads=1, progress=False, loop=loop)
    assert res.frames == 3 and res.agrees and res.max_map_diff < 1e-5
    paths, gt = load_otb_sequence(seq)
    core = TrackerCore(net, 5.0, 2.0, backend="eager", **loop)
    core.init(read_rgb(paths[0]), gt[0])
    boxes = np.stack([gt[0]] + [core.update(read_rgb(p))[0] for p in paths[1:]])
    assert core.frame_scale == (0.5, 0.5)
    assert res.eager_auc == pytest.approx(got10k_sequence(boxes, gt, drop_nan_gt=False).success_score)
    assert res.auc_diff_points == pytest.approx(0.0, abs=1e-9)


def test_a_backend_above_its_peak_says_the_peak_measurement_was_disturbed():
    """A peak measured while another process held a core came out at half (bf16 207 vs 398 GFLOP/s),
    which put the forward at 163 % of it: bench says so instead of printing it as a result."""
    ok = timing_record(timing("bf16", "bf16", 50.0, precision="bf16"), FLOPS, PEAKS)  # 80 GFLOP/s: 10 % of 800
    disturbed = dict(ok, backend="int8", precision="int8", forward_percent_of_peak=163.0)
    assert disturbed_peaks([ok]) == []
    (msg,) = disturbed_peaks([ok, disturbed])
    assert msg.startswith("int8: its forward ran at 163 % of the int8 GEMM peak") and "rerun" in msg


def test_dither_moves_each_pixel_by_at_most_one_grey_level_and_stays_in_range():
    frame = np.array([[[0, 128, 255]] * 50] * 40, np.uint8)
    out = dither(frame, np.random.default_rng(0))
    diff = out.astype(int) - frame.astype(int)
    assert out.dtype == np.uint8 and out.shape == frame.shape
    assert set(np.unique(diff[..., 1])) == {-1, 0, 1}  # all three values drawn
    assert diff[..., 0].min() == 0 and diff[..., 2].max() == 0  # clipped, never wrapped
    assert np.array_equal(out, dither(frame, np.random.default_rng(0)))  # seeded


def test_check_peaks_reports_how_far_eager_moves_under_invisible_noise(tmp_path):
    """``eager_noise_runs``: eager's tracker again on dithered frames, its AUC beside eager's."""
    torch.manual_seed(7)
    net = peaky(build_net(64, 32, **tiny_net_kwargs()))
    seq = write_sequence(tmp_path / "Drift", 4)
    (res,) = check_peaks(net, 5.0, 2.0, ["eager", "onednn"], [seq], threads=1, progress=False, eager_noise_runs=2)
    assert len(res.eager_noise_aucs) == 2
    # run 1 by hand: the same dither stream (seeded by run and sequence index) fed to an eager tracker
    paths, gt = load_otb_sequence(seq)
    rng = np.random.default_rng([1, 0])
    core = TrackerCore(net, 5.0, 2.0, backend="eager")
    core.init(dither(read_rgb(paths[0]), rng), gt[0])
    boxes = np.stack([gt[0]] + [core.update(dither(read_rgb(p), rng))[0] for p in paths[1:]])
    assert res.eager_noise_aucs[1] == pytest.approx(got10k_sequence(boxes, gt, drop_nan_gt=False).success_score)
    want = max(abs(100 * (a - res.eager_auc)) for a in res.eager_noise_aucs)
    assert res.eager_noise_points == pytest.approx(want)
    assert res.as_dict()["eager_noise_points"] == pytest.approx(want)
    assert "eager itself on frames dithered by <= 1 grey level (2 runs)" in format_peak_checks([res])
    (plain,) = check_peaks(net, 5.0, 2.0, ["eager", "onednn"], [seq], threads=1, progress=False)
    assert plain.eager_noise_aucs == [] and plain.eager_noise_points is None
    assert "dithered" not in format_peak_checks([plain])


def test_backends_are_timed_one_at_a_time_in_rotated_order(monkeypatch):
    """Interleaving engines frame by frame on 2 cores timed each one against the others' spinning
    worker threads; a block per backend and repetition times what a tracker runs."""
    from loretrack_plugin.tracking import backend_comparison as bc
    monkeypatch.setattr(bc, "BLOCK_PAUSE_S", 0.0)
    calls = []
    make = bc.make_cores

    def logged(*args, **kw):
        cores = make(*args, **kw)
        for name, core in cores.items():
            for method in ("init", "update", "forward"):
                real = getattr(core, method)
                setattr(core, method, lambda *a, _r=real, _n=name, _m=method: (calls.append((_n, _m)), _r(*a))[1])
        return cores

    monkeypatch.setattr(bc, "make_cores", logged)
    torch.manual_seed(0)
    net = build_net(64, 32, **tiny_net_kwargs())
    frames, box = synthetic_frames(4, 160, 120)
    box = [40.0, 40.0, 30.0, 30.0]
    rows = bc.time_backends(net, 4.0, 2.0, ["eager", "onednn"], frames, box, repeats=2, threads=1, progress=False)
    assert [len(r.steps) for r in rows] == [6, 6] and [len(r.forwards) for r in rows] == [6, 6]
    starts = [i for i, (_, method) in enumerate(calls) if method == "init"]
    assert [calls[i][0] for i in starts] == ["eager", "onednn",   # building and warming up
                                             "eager", "onednn", "onednn", "eager"]   # order rotated per repetition
    # after the warm-up forwards of a block, its init, steps and forwards all belong to one backend
    for a, b in zip(starts[2:], starts[3:] + [len(calls)]):
        block = calls[a:b - bc.BLOCK_WARMUP] if b < len(calls) else calls[a:]
        assert {name for name, _ in block} == {calls[a][0]}
        assert [m for _, m in block] == ["init"] + ["update"] * 3 + ["forward"] * 3
