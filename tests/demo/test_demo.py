"""A shortened `loretrack demo` end to end: data, teacher, baseline, distilled student, eval, report."""
import json
import math
import os
import subprocess
import sys

import pytest

from loretrack_plugin.demo import plan_epochs, split_real


def test_epoch_planning_fills_the_budget():
    epochs, per_epoch = plan_epochs(seconds=600, speed=60, samples_per_epoch=1024)
    assert epochs * per_epoch == pytest.approx((600 - 8) * 60, rel=0.03)
    assert per_epoch % 16 == 0
    assert plan_epochs(seconds=5, speed=60, samples_per_epoch=1024) == (1, 16)  # never below one batch


def test_real_sequences_are_split_apart():
    train, held = split_real(["Animal3", "Biker", "Couple", "Crossing", "vot15_bag"])
    assert held == ["Biker", "Crossing", "vot15_bag"] and not set(train) & set(held)
    train, held = split_real(["a", "b", "c", "d", "e", "f"])
    assert held == ["c", "f"] and train == ["a", "b", "d", "e"]
    with pytest.raises(ValueError, match="at least two"):
        split_real(["Biker"])


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, real_otb_root):
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "loretrack_plugin", "demo", "--out", str(out), "--minutes", "0.3",
                           "--real-data", real_otb_root, "--synthetic-train", "6", "--synthetic-eval", "2",
                           "--frames", "20", "--threads", "2"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "demo_summary.json").read_text())
    # every stage ran and produced a checkpoint
    for stage in ("teacher", "baseline", "student"):
        assert os.path.isfile(summary["stages"][stage]["checkpoint"])
    # evaluated on the held-apart real sequences only, none of which was trained on
    assert set(summary["real_heldout"]) == {"Biker", "Crossing", "MountainBike6", "vot15_bag"}
    assert not set(summary["real_train"]) & set(summary["real_heldout"])
    for bench in ("otb-dir", "got10k_val"):
        report = out / "reports" / bench / "comparison"
        assert (report / "report.html").is_file() and (report / "report.md").is_file()
        rj = json.loads((report / "report.json").read_text())
        names = {"teacher-128", "baseline-64", "loretrack-64"}
        metrics = summary["results"][bench]["metrics"]
        assert set(metrics) == names
        key = "ao" if bench == "got10k_val" else "success_score"
        for name in names:
            v = metrics[name][key]
            assert math.isfinite(v) and 0.0 <= v <= 1.0
        assert names <= set(rj["trackers"])
    assert "teacher-128" in proc.stdout and "report:" in proc.stdout
