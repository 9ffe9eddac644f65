"""Config loading (bases, variables, overrides, types) and the published recipe in experiments/."""
import glob
import os

import pytest

from loretrack_plugin.train.config import ConfigError, load_config, parse_override
from tests.conftest import REPO

EXP = os.path.join(REPO, "experiments")


def test_base_chain_variables_and_overrides(tmp_path, monkeypatch):
    (tmp_path / "a.yaml").write_text("optim: {epochs: 7, lr: 1e-3}\nrun: {seed: 1}\n")
    (tmp_path / "b.yaml").write_text("run: {seed: 2}\nmodel: {search_size: 128}\n")
    (tmp_path / "c.yaml").write_text("base: [a.yaml, b.yaml]\nname: c\n"
                                     "data: {train: {datasets: [{type: otb, root: '${MY_ROOT:-/default}/x'}]}}\n")
    monkeypatch.delenv("MY_ROOT", raising=False)
    cfg = load_config(str(tmp_path / "c.yaml"), ["optim.epochs=9", "model.template_size=48"])
    assert cfg["optim"]["epochs"] == 9 and cfg["optim"]["lr"] == 1e-3  # "1e-3" is a YAML string: coerced
    assert cfg["run"]["seed"] == 2 and cfg["model"]["search_size"] == 128 and cfg["model"]["template_size"] == 48
    assert cfg["data"]["train"]["datasets"][0]["root"] == "/default/x"
    assert cfg["run"]["output_dir"] == os.path.join("runs", "c")
    assert cfg["loss"]["qkv"]["blocks"] == [-1]  # untouched defaults stay
    monkeypatch.setenv("MY_ROOT", "/data")
    assert load_config(str(tmp_path / "c.yaml"))["data"]["train"]["datasets"][0]["root"] == "/data/x"


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown config key 'loss.qkv.layers'"):
        load_config({"loss": {"qkv": {"layers": [1]}}})
    with pytest.raises(ConfigError, match="'optim.epochs' must be a number"):
        load_config(None, ["optim.epochs=many"])
    with pytest.raises(ConfigError, match="must be an integer"):
        load_config(None, ["optim.batch_size=2.5"])
    with pytest.raises(ConfigError, match="teacher.forward"):
        load_config({"teacher": {"forward": "maybe"}})
    with pytest.raises(ConfigError, match="loss.qkv.tensors"):
        load_config({"loss": {"qkv": {"tensors": ["q", "o"]}}})
    with pytest.raises(ConfigError, match="environment variable NOPE_NOT_SET"):
        load_config({"model": {"init": "${NOPE_NOT_SET}/mae.pth"}})
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("optim.epochs")
    with pytest.raises(FileNotFoundError, match="missing.yaml"):
        load_config(str(tmp_path / "missing.yaml"))
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="loops"):
        load_config(str(tmp_path / "loop.yaml"))


def _load(name):
    return load_config(os.path.join(EXP, name))


def test_published_student_recipe():
    for res in (256, 192, 128, 96):
        for proto in ("", "_got10k"):
            c = _load(f"loretrack{res}{proto}.yaml")
            assert (c["model"]["search_size"], c["model"]["template_size"]) == (res, res // 2)
            assert (c["teacher"]["search_size"], c["teacher"]["template_size"]) == (384, 192)
            assert c["teacher"]["embed_dim"] == 768 and c["teacher"]["depth"] == 12
            assert c["data"]["search"] == {"size": None, "factor": 5.0, "center_jitter": 4.5, "scale_jitter": 0.5}
            assert c["data"]["template"]["factor"] == 2.0 and c["data"]["student_antialias"] is False
            L = c["loss"]
            assert (L["giou"], L["l1"], L["focal"]) == (2.0, 5.0, 1.0)
            assert L["qkv"] == {"weight": 0.01, "blocks": [-1], "tensors": ["q", "k", "v"], "temperature": 4.0}
            assert L["disc"] == {"weight": 0.01, "threshold": 0.2, "inside": 0.6, "outside": 0.4, "temperature": 4.0}
            o = c["optim"]
            assert (o["lr"], o["backbone_lr_mult"], o["weight_decay"], o["grad_clip"], o["batch_size"]) == \
                (4e-4, 0.1, 1e-4, 0.1, 32)
            assert c["model"]["drop_path_rate"] == 0.1 and c["model"]["init"].endswith("mae_pretrain_vit_base.pth")
            assert not c["model"]["ce_loc"]
            types = [d["type"] + ":" + str(d.get("split")) for d in c["data"]["train"]["datasets"]]
            if proto:
                assert types == ["got10k:train"] and (o["epochs"], o["lr_drop_epoch"]) == (100, 80)
                assert "ostrack384_got10k" in c["teacher"]["checkpoint"]
            else:
                assert types == ["lasot:train", "got10k:vot-train", "coco:train2017", "trackingnet:None"]
                assert [d["weight"] for d in c["data"]["train"]["datasets"]] == [1, 1, 1, 1]
                assert (o["epochs"], o["lr_drop_epoch"]) == (300, 240)
                assert c["data"]["train"]["samples_per_epoch"] == 60000
                assert c["run"]["save_epochs"] == [79, 159, 239] and c["run"]["save_last"] == 10


def test_published_teacher_and_baselines():
    for proto in ("", "_got10k"):
        t = _load(f"ostrack384{proto}.yaml")
        assert (t["model"]["search_size"], t["model"]["template_size"]) == (384, 192)
        assert t["data"]["search"]["factor"] == 5.0 and t["data"]["search"]["center_jitter"] == 4.5
        for res in (256, 192, 128, 96):
            b = _load(f"baseline{res}{proto}.yaml")
            assert b["model"]["search_size"] == res
            assert b["data"]["search"] == {"size": None, "factor": 5.0, "center_jitter": 3.0, "scale_jitter": 0.25}


def test_every_experiment_config_loads():
    from loretrack_plugin.recipes import RECIPE_DIR
    files = sorted(glob.glob(os.path.join(EXP, "*.yaml")) + glob.glob(os.path.join(RECIPE_DIR, "mini", "*.yaml")))
    names = {os.path.basename(f) for f in files}
    assert {"ostrack384.yaml", "loretrack256.yaml", "baseline96_got10k.yaml", "teacher.yaml", "student.yaml",
            "baseline.yaml"} <= names
    for f in files:
        load_config(f)
