"""``loretrack export`` and ``loretrack bench`` on a tiny saved tracker."""
import json
import os

import pytest
import torch

from loretrack_plugin import build_net, save_checkpoint
from loretrack_plugin.cli import main
from loretrack_plugin.tracking.backends import EagerBackend, example_inputs, load_exported, max_abs_diff
from tests.conftest import tiny_net_kwargs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny_export")
    torch.manual_seed(4)
    net = build_net(64, 32, **tiny_net_kwargs())
    save_checkpoint(net, str(d / "tiny.pth.tar"), epoch=1)
    y = d / "tiny-64.yaml"
    y.write_text("search_factor: 5.0\ntemplate_factor: 2.0\ncheckpoint: ./tiny.pth.tar\n")
    return {"dir": d, "yaml": str(y), "net": net}


@pytest.mark.parametrize("fmt,ext", [("onnx", ".onnx"), ("openvino", ".xml")])
def test_export_writes_a_checked_model(tiny, fmt, ext, capsys):
    out = tiny["dir"] / f"out-{fmt}" / f"model{ext}"
    assert main(["export", "--tracker", tiny["yaml"], "--format", fmt, "--out", str(out)]) == 0
    assert "outputs match PyTorch" in capsys.readouterr().out
    assert out.is_file() and (fmt == "onnx" or out.with_suffix(".bin").is_file())
    be = load_exported(str(out), threads=1)
    z, x = example_inputs(tiny["net"].cfg, seed=7)
    assert max_abs_diff(be(z, x), EagerBackend(tiny["net"])(z, x)) < 1e-5
    assert sorted(os.listdir(out.parent)) == sorted([out.name] + ([out.with_suffix(".bin").name] if fmt != "onnx" else []))


def test_export_metadata(tiny):
    import onnx
    out = tiny["dir"] / "meta.onnx"
    assert main(["export", "--tracker", tiny["yaml"], "--format", "onnx", "--out", str(out)]) == 0
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["loretrack_tracker"] == "tiny-64" and meta["search_size"] == "64" and meta["search_factor"] == "5.0"


def test_export_failures_leave_no_file(tiny, tmp_path, capsys):
    out = tmp_path / "strict.onnx"
    # no exported graph equals PyTorch to 1e-30: the check must fail and nothing may be written
    assert main(["export", "--tracker", tiny["yaml"], "--format", "onnx", "--out", str(out), "--tol", "1e-30"]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
    assert main(["export", "--tracker", tiny["yaml"], "--format", "onnx", "--out", str(tmp_path / "x.xml")]) == 2
    assert main(["export", "--tracker", "loretrack-96", "--format", "onnx", "--checkpoint",
                 str(tmp_path / "none.pth"), "--out", str(tmp_path / "a.onnx")]) == 2
    err = capsys.readouterr().err
    assert "'loretrack-96'" in err and "none.pth" in err
    assert os.listdir(tmp_path) == []


def test_bench_times_and_checks_peaks(tiny, real_otb_root, tmp_path, capsys):
    js = tmp_path / "bench.json"
    rc = main(["bench", "--tracker", tiny["yaml"], "--backends", "eager,onnxruntime", "--frames", "3",
               "--repeats", "2", "--threads", "1", "--peak-size", "128", "--check-peaks", f"{real_otb_root}/Biker",
               "--max-frames", "6",
               "--json", str(js)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "weights from" in out and "onnxruntime" in out and "peak mismatches" in out
    res = json.loads(js.read_text())
    rows = {r["backend"]: r for r in res["timing"]}
    assert set(rows) == {"eager", "onnxruntime"} and all(r["step_ms"] > 0 and r["forward_ms"] > 0
                                                        for r in rows.values())
    (check,) = res["peak_check"]
    assert check["backend"] == "onnxruntime" and check["frames"] == 5 and check["peak_mismatches"] == 0
    assert check["max_map_diff"] < 1e-5


def test_bench_random_weights_and_bad_arguments(tmp_path, capsys):
    y = tmp_path / "rnd.yaml"
    y.write_text(f"network: {{search_size: 64, embed_dim: 64, depth: 2, num_heads: 4, head_channels: 32}}\n"
                 f"search_factor: 5\ntemplate_factor: 2\ncheckpoint: {tmp_path}/absent.pth\n")
    assert main(["bench", "--tracker", str(y), "--backends", "eager", "--frames", "2", "--repeats", "1",
                 "--peak-size", "64"]) == 0
    assert "RANDOM weights" in capsys.readouterr().out
    assert main(["bench", "--tracker", str(y), "--backends", "eager,warp"]) == 2
    assert "backend 'warp'" in capsys.readouterr().err
    # every bad argument is one line naming it, before anything is built
    for extra, names in ((["--max-frames", "1", "--check-peaks", str(tmp_path)], "--max-frames must be >= 2"),
                         (["--check-peaks", str(tmp_path / "nowhere")], "--check-peaks: dataset folder not found"),
                         (["--sequence", str(tmp_path / "nowhere")], "--sequence:"),
                         (["--no-timing"], "--no-timing"), (["--threads", "0"], "--threads must be >= 1"),
                         (["--eager-noise", "2"], "--eager-noise: needs --check-peaks"),
                         (["--eager-noise", "-1", "--check-peaks", str(tmp_path)], "--eager-noise must be >= 0")):
        assert main(["bench", "--tracker", str(y), "--backends", "eager,onednn"] + extra) == 2
        err = capsys.readouterr().err
        assert names in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("name,size", [("loretrack-128", 128), ("loretrack-256", 256)])
def test_bench_times_vit_b_trackers_with_random_weights_without_a_checkpoint(name, size, tmp_path, monkeypatch):
    from loretrack_plugin.commands.bench import weights_source
    from loretrack_plugin.trackers import get_spec
    monkeypatch.setenv("LORETRACK_WEIGHTS", str(tmp_path))  # an empty weights folder: no checkpoint
    spec = get_spec(name)
    assert (spec.network.search_size, spec.network.embed_dim, spec.network.depth) == (size, 768, 12)
    ckpt, text = weights_source(spec, None)
    assert ckpt is None and text.startswith("RANDOM weights") and str(tmp_path) in text
    assert weights_source(spec, "my.pth") == ("my.pth", "weights from my.pth")


def test_bench_needs_the_checkpoint_of_a_tracker_without_network(tmp_path, capsys):
    y = tmp_path / "ship.yaml"
    y.write_text(f"search_factor: 4\ntemplate_factor: 2\ncheckpoint: {tmp_path}/absent.pth\n")
    assert main(["bench", "--tracker", str(y), "--backends", "eager", "--frames", "2"]) == 2
    err = capsys.readouterr().err
    assert "--tracker ship" in err and "absent.pth" in err and "--checkpoint" in err


def test_bench_json_states_speed_against_the_gemm_peaks(tiny, real_otb_root, tmp_path, capsys):
    from loretrack_plugin.tracking.backends import cpu_native_bf16
    from loretrack_plugin.tracking.hardware import read_cpuinfo
    js = tmp_path / "out" / "bench.json"
    js.parent.mkdir()
    backends = ["eager", "auto", "int8"] + (["bf16-autocast"] if cpu_native_bf16() else [])
    rc = main(["bench", "--tracker", tiny["yaml"], "--backends", ",".join(backends), "--frames", "2", "--repeats", "1",
               "--threads", "1", "--peak-size", "64", "--peak-repeats", "1", "--check-peaks",
               f"{real_otb_root}/Biker", "--max-frames", "4", "--json", str(js)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "% of peak" in out and "GEMM peaks" in out and "instruction sets" in out
    assert read_cpuinfo().model_name in out
    res = json.loads(js.read_text())
    assert os.listdir(js.parent) == ["bench.json"]  # written atomically: no temporary file left
    assert res["cpu"]["model_name"] == read_cpuinfo().model_name and isinstance(res["cpu"]["isa"], list)
    assert res["flops"]["flops"] == 2 * (res["flops"]["macs_thop"] + res["flops"]["macs_attn_matmul"]) > 0
    precisions = {"fp32", "int8"} | ({"bf16"} if "bf16-autocast" in backends else set())
    assert set(res["gemm_peaks"]) == precisions
    assert all(p["gflops"] > 0 and p["by_engine"] for p in res["gemm_peaks"].values())
    rows = {r["backend"]: r for r in res["timing"]}
    assert list(rows) == backends
    assert rows["int8"]["resolved"] == "int8-ort" and rows["int8"]["precision"] == "int8"
    assert rows["auto"]["precision"] == rows["eager"]["precision"] == "fp32"
    assert res["auto_check"]["resolved"] == rows["auto"]["resolved"] and res["auto_check"]["equals_eager"]
    assert res["auto_check"]["compared_with"] == (["eager"] if rows["auto"]["resolved"] != "eager" else [])
    assert res["random_weights"] is False and res["readme_table"].count("\n| `") == len(backends)
    assert all(isinstance(r["isa"], str) and r["isa"] for r in rows.values())  # a label or "not reported"
    assert rows["eager"]["step_speedup_vs_eager"] == pytest.approx(1.0)
    for r in rows.values():
        peak = res["gemm_peaks"][r["precision"]]["gflops"]
        assert r["step_gflops"] == pytest.approx(res["flops"]["flops"] / (r["step_ms"] * 1e-3) / 1e9)
        assert r["step_percent_of_peak"] == pytest.approx(100 * r["step_gflops"] / peak)
        assert r["frames"] == 2 and 0 <= r["eager_reruns"] <= 2
    assert set(res["engines"]) == set(backends)
    assert all("engine" in e and "isa" in e for e in res["engines"].values())
    assert res["engines"]["eager"]["aten_capability"] == res["software"]["torch_capability"]
    checks = {c["backend"]: c for c in res["peak_check"]}
    assert set(checks) == set(backends) - {"eager"}
    assert all(c["frames"] == 3 and c["agrees"] and c["peak_mismatches"] == 0 for c in checks.values())
    assert checks["int8"]["precision"] == "int8"
    assert all(0 <= c["auc"] <= 1 and c["eager_auc"] == checks["auto"]["eager_auc"] for c in checks.values())
    assert all(c["auc_diff_points"] == pytest.approx(100 * (c["auc"] - c["eager_auc"])) for c in checks.values())


def test_bench_inflates_a_trained_network_into_the_trackers_architecture(tiny, real_otb_root, tmp_path, capsys):
    src = tmp_path / "small.yaml"  # a "trained" tracker: the tiny network under its own loop
    src.write_text(f"search_factor: 3.5\ntemplate_factor: 2.0\nmax_size_change: 1.05\n"
                   f"checkpoint: {tiny['dir']}/tiny.pth.tar\n")
    big = tmp_path / "big.yaml"
    big.write_text("network: {search_size: 64, template_size: 32, embed_dim: 128, depth: 3, num_heads: 8, "
                   "head_channels: 64}\nsearch_factor: 5\ntemplate_factor: 2\n"
                   f"checkpoint: {tmp_path}/absent.pth\n")
    js = tmp_path / "bench.json"
    assert main(["bench", "--tracker", str(big), "--inflate-from", str(src), "--backends", "eager,onnxruntime",
                 "--frames", "2", "--repeats", "1", "--threads", "1", "--no-peak", "--check-peaks",
                 f"{real_otb_root}/Biker", "--max-frames", "4", "--json", str(js)]) == 0
    out = capsys.readouterr().out
    # the big architecture, the source's crop factors and loop
    assert "ViT 128/3" in out and "x3.5" in out and "RANDOM" not in out
    res = json.loads(js.read_text())
    assert "INFLATED" in res["weights"] and "max_size_change 1.05" in res["weights"] and not res["random_weights"]
    assert res["network"]["embed_dim"] == 128 and res["network"]["depth"] == 3
    (check,) = res["peak_check"]
    assert check["peak_mismatches"] == 0 and check["max_map_diff"] < 1e-5


def test_bench_inflate_from_refuses_what_it_cannot_inflate(tiny, tmp_path, capsys):
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text("network: {search_size: 64, embed_dim: 32, depth: 2, num_heads: 2, head_channels: 32}\n"
                      f"search_factor: 5\ntemplate_factor: 2\ncheckpoint: {tmp_path}/absent.pth\n")
    cases = ((["--tracker", str(narrow), "--inflate-from", tiny["yaml"]], "cannot inflate embed_dim 64 to 32"),
             (["--tracker", str(narrow), "--inflate-from", tiny["yaml"], "--checkpoint", "x.pth"], "give one"),
             (["--tracker", tiny["yaml"], "--inflate-from", tiny["yaml"]], "no network section"),
             (["--tracker", str(narrow), "--inflate-from", str(tmp_path / "nothing.pth")], "--inflate-from"))
    for extra, words in cases:
        assert main(["bench", "--backends", "eager", "--frames", "2"] + extra) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1, err
