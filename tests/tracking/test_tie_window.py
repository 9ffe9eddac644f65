"""experiments/diagnostics/tie_window.py: the tie-window study of the reduced-precision guard."""
import json

import torch

from loretrack_plugin import build_net, save_checkpoint
from loretrack_plugin.sample_data import real_sample_root
from tests.conftest import load_script, tiny_net_kwargs


def test_summary_counts_flips_and_reruns_per_factor():
    mod = load_script("experiments/diagnostics/tie_window.py")
    rows = [{"gap": g, "flip": f, "err_top": 0.5, "err_map": 2.0, "warmup_err": 1.0}
            for g, f in ((0.5, True), (3.0, True), (5.0, False), (9.0, False))]
    s = mod.summary(rows)
    assert s["frames"] == 4 and s["flips"] == 2 and s["largest_flip_gap_over_err"] == 3.0
    # a tie window of 2 * factor * err: factor 1 recomputes the first frame only and misses the flip at 3
    assert s["by_factor"]["1"] == {"rerun_share": 0.25, "flips_missed": 1}
    assert s["by_factor"]["2"] == {"rerun_share": 0.5, "flips_missed": 0}
    assert s["by_factor"]["4"]["rerun_share"] == 0.75
    assert s["map_err_over_warmup_max"] == 2.0


def test_runs_on_real_frames_with_int8(tmp_path):
    mod = load_script("experiments/diagnostics/tie_window.py")
    torch.manual_seed(0)
    save_checkpoint(build_net(64, 32, **tiny_net_kwargs()), str(tmp_path / "t.pth.tar"))
    (tmp_path / "t.yaml").write_text("search_factor: 4\ntemplate_factor: 2\ncheckpoint: ./t.pth.tar\n")
    out = tmp_path / "tie.json"
    assert mod.main(["--tracker", str(tmp_path / "t.yaml"), "--root", real_sample_root(), "--backend", "int8",
                     "--max-frames", "4", "--threads", "1", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    n = len(res["frames"])
    assert n == res["summary"]["frames"] and n >= 3 * 4  # 3 frames from each of the sample sequences
    shares = [res["summary"]["by_factor"][str(f)]["rerun_share"] for f in mod.FACTORS]
    assert shares == sorted(shares)  # a wider window never recomputes fewer frames
    assert all(r["warmup_err"] > 0 for r in res["frames"])
