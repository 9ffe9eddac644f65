"""Runner: resuming, re-running bad files, failures, sharding, sequence selection, workers, bad input."""
import glob
import json
import os

import numpy as np
import pytest

from loretrack_plugin.cli import main
from loretrack_plugin.evaluation import TrackerRef, evaluate, parse_shard
from loretrack_plugin.evaluation.runner import shard_sequences

STATIC = TrackerRef("tests.evaluation.trackers:static", "static")
DRIFT = TrackerRef("tests.evaluation.trackers:drift", "drift")


def _records(res, tracker, folder="OTB"):
    return sorted(glob.glob(os.path.join(res, folder, tracker, "*.txt")))


def test_resume_skips_finished_and_reruns_wrong_row_count(synth, tmp_path):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    first = evaluate("otb-dir", synth["otb"], [STATIC, DRIFT], result_dir=res, report_dir=rep)
    assert first.run.done == 6 and first.run.skipped == 0
    files = _records(res, "drift")
    assert len(files) == 3
    rows = {f: np.loadtxt(f, delimiter=",") for f in files}
    assert all(len(r) == 20 for r in rows.values())
    times = np.loadtxt(os.path.join(res, "OTB", "drift", "times", os.path.basename(files[0])[:-4] + "_time.txt"))
    assert times.shape == (20,) and (times >= 0).all()
    mtimes = {f: os.stat(f).st_mtime_ns for f in files}

    # truncate one result file (as an old, killed tool would have left it): it is re-run, the rest skipped
    victim = files[1]
    np.savetxt(victim, rows[victim][:7], fmt="%.3f", delimiter=",")
    second = evaluate("otb-dir", synth["otb"], [STATIC, DRIFT], result_dir=res, report_dir=rep)
    assert second.run.done == 1 and second.run.skipped == 5
    np.testing.assert_array_equal(np.loadtxt(victim, delimiter=","), rows[victim])
    for f in files:
        if f != victim:
            assert os.stat(f).st_mtime_ns == mtimes[f]
    # a missing time file also makes the result incomplete
    os.remove(os.path.join(res, "OTB", "static", "times", os.path.basename(files[0])[:-4] + "_time.txt"))
    assert evaluate("otb-dir", synth["otb"], [STATIC], result_dir=res, report_dir=rep).run.done == 1
    assert not glob.glob(os.path.join(res, "**", "*.tmp"), recursive=True)


def test_failing_tracker_leaves_no_result_and_exit_code_1(synth, tmp_path, capsys):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    rc = main(["eval", "--benchmark", "otb-dir", "--root", synth["otb"], "--trackers",
               "tests.evaluation.trackers:failing", "--result-dir", res, "--report-dir", rep])
    assert rc == 1
    assert not glob.glob(os.path.join(res, "OTB", "failing", "**", "*.txt"), recursive=True)
    assert not glob.glob(os.path.join(res, "**", ".*.tmp"), recursive=True)
    assert not os.path.exists(os.path.join(rep, "otb-dir", "metrics.json"))


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4) and parse_shard(None) is None
    for bad in ("0/2", "3/2", "1-2", "x/3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_shards_partition_and_balance():
    names = [f"s{i}" for i in range(10)]
    frames = [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    parts = [shard_sequences(names, frames, (i, 3)) for i in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(names)
    loads = [sum(frames[names.index(s)] for s in p) for p in parts]
    assert max(loads) - min(loads) <= 20
    assert parts[0] == [s for s in names if s in parts[0]]        # dataset order kept
    assert shard_sequences(names, frames, (1, 3)) == parts[0]     # deterministic


def test_sharded_runs_add_up(synth, tmp_path):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    a = evaluate("otb-dir", synth["otb"], [STATIC], result_dir=res, report_dir=rep, shard=(1, 2))
    m = json.load(open(os.path.join(rep, "otb-dir", "metrics.json")))
    assert m["sequences"] == a.evaluated and len(a.evaluated) < 3
    assert sorted(m["trackers"]["static"]["missing_sequences"] + a.evaluated) == sorted(a.sequences)
    b = evaluate("otb-dir", synth["otb"], [STATIC], result_dir=res, report_dir=rep, shard=(2, 2))
    assert a.run.done + b.run.done == 3 and b.run.skipped == 0
    m = json.load(open(os.path.join(rep, "otb-dir", "metrics.json")))
    assert len(m["sequences"]) == 3 and m["trackers"]["static"]["missing_sequences"] == []


def test_sequences_option(synth, tmp_path, capsys):
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    names = sorted(os.listdir(synth["otb"]))
    out = evaluate("otb-dir", synth["otb"], [STATIC], result_dir=res, report_dir=rep, sequences=[names[2], names[0]])
    assert out.evaluated == [names[0], names[2]]
    assert len(_records(res, "static")) == 2
    capsys.readouterr()
    rc = main(["eval", "--benchmark", "otb-dir", "--root", synth["otb"], "--trackers",
               "tests.evaluation.trackers:static", "--sequences", "Nope", "--result-dir", res, "--report-dir", rep])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "Nope" in err[0]


@pytest.mark.parametrize("bench, expected", [
    ("lasot", os.path.join("airplane", "airplane-1", "groundtruth.txt")),
    ("got10k_val", os.path.join("val", "list.txt")),
    ("trackingnet", os.path.join("TEST", "anno")),
    ("otb", os.path.join("Basketball", "groundtruth_rect.txt")),
    ("uav123", os.path.join("anno", "UAV123", "bike1.txt")),
    ("nfs", os.path.join("30", "<seq>.txt")),
])
def test_wrong_layout_is_one_error_naming_the_expected_file(bench, expected, tmp_path, capsys):
    root = tmp_path / "not_a_dataset"
    (root / "something" / "img").mkdir(parents=True)
    rc = main(["eval", "--benchmark", bench, "--root", str(root), "--trackers", "tests.evaluation.trackers:static",
               "--result-dir", str(tmp_path / "r"), "--report-dir", str(tmp_path / "p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert expected in err[0] and str(root) in err[0]
    assert not (tmp_path / "r").exists()


def test_incomplete_got10k_sequence_names_missing_meta_file(synth, tmp_path, capsys):
    import shutil
    root = tmp_path / "got10k"
    shutil.copytree(synth["got10k"], root)
    seq = sorted(os.listdir(root / "val"))[0]
    os.remove(root / "val" / seq / "cover.label")
    rc = main(["eval", "--benchmark", "got10k_val", "--root", str(root), "--trackers",
               "tests.evaluation.trackers:static", "--result-dir", str(tmp_path / "r"), "--report-dir", str(tmp_path / "p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and os.path.join(seq, "cover.label") in err[0]


@pytest.mark.slow
def test_workers_give_the_same_results(synth, tmp_path):
    one, two = str(tmp_path / "one"), str(tmp_path / "two")
    evaluate("lasot", synth["lasot"], [DRIFT, STATIC], result_dir=one, report=False)
    out = evaluate("lasot", synth["lasot"], [DRIFT, STATIC], result_dir=two, report=False, workers=2, threads=1)
    assert out.run.done == 6 and not out.run.failed
    a, b = _records(one, "drift", "LaSOT"), _records(two, "drift", "LaSOT")
    assert [os.path.basename(f) for f in a] == [os.path.basename(f) for f in b] and len(a) == 3
    for f, g in zip(a, b):
        np.testing.assert_array_equal(np.loadtxt(f, delimiter=","), np.loadtxt(g, delimiter=","))
    info = json.load(open(os.path.join(two, "LaSOT", "drift", "tracker_info.json")))
    assert info["name"] == "drift" and info["ref"] == "tests.evaluation.trackers:drift"


def test_resuming_with_another_size_limit_warns(synth, tiny_tracker_file, tmp_path, caplog):
    """Finished results are reused on resume; when the tracker's loop setting changed, the log says so."""
    res, rep = str(tmp_path / "res"), str(tmp_path / "rep")
    plain = TrackerRef(tiny_tracker_file, "tiny-64")
    first = evaluate("otb-dir", synth["otb"], [plain], result_dir=res, report_dir=rep)
    info = json.loads(open(os.path.join(res, "OTB", "tiny-64", "tracker_info.json")).read())
    assert info["max_size_change"] is None
    limited = tmp_path / "tiny-64.yaml"
    text = open(tiny_tracker_file).read().replace("./tiny.pth.tar", os.path.join(os.path.dirname(tiny_tracker_file),
                                                                                 "tiny.pth.tar"))
    limited.write_text(text + "max_size_change: 1.02\n")
    with caplog.at_level("WARNING", logger="loretrack"):
        again = evaluate("otb-dir", synth["otb"], [TrackerRef(str(limited), "tiny-64")], result_dir=res,
                         report_dir=rep)
    assert again.run.skipped == first.run.done == 3
    assert "written with max_size_change None, this run uses 1.02" in caplog.text
