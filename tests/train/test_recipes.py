"""The miniature recipe that ships with the package, `shipped:` paths and `--real-data`."""
import os

import pytest

from loretrack_plugin import shipped
from loretrack_plugin.config import PATCH
from loretrack_plugin.recipes import recipe_path
from loretrack_plugin.train.config import Append, load_config


def _cfg(name, *over):
    return load_config(recipe_path(name), list(over))


def test_recipes_load_and_keep_the_paper_structure():
    t, s, b = _cfg("mini/teacher"), _cfg("mini/student"), _cfg("mini/baseline")
    assert (t["model"]["search_size"], t["model"]["template_size"]) == (192, 96)
    for c in (s, b):
        assert (c["model"]["search_size"], c["model"]["template_size"]) == (96, 48)
        assert c["model"]["search_size"] // PATCH >= 6          # the student sees at least 6x6 tokens
    assert t["model"]["search_size"] == 2 * s["model"]["search_size"]    # teacher at twice the resolution
    assert s["teacher"]["search_size"] == t["model"]["search_size"]
    for key in ("embed_dim", "depth", "num_heads", "head_channels"):
        assert s["teacher"][key] == t["model"][key] == s["model"][key] == b["model"][key]
    # student and baseline start from the same backbone and see the same crops
    assert s["model"]["init"] == b["model"]["init"] == t["model"]["init"] == "shipped:backbone"
    assert s["data"] == b["data"] and s["optim"] == b["optim"] and s["run"]["seed"] == b["run"]["seed"]
    # KD weights: the published 0.01 scaled by the ratio of teacher-grid positions (24x24 / 12x12)
    grid = t["model"]["search_size"] // PATCH
    assert s["loss"]["qkv"]["weight"] == s["loss"]["disc"]["weight"] == pytest.approx(0.01 * (24 / grid) ** 2)
    assert _cfg("mini/pretrain-mae")["mae"]["img_size"] % PATCH == 0
    with pytest.raises(FileNotFoundError, match="shipped: .*mini/student"):
        recipe_path("mini/nope")


def test_student_and_baseline_draw_the_same_samples(tmp_path):
    from loretrack_plugin import build_net, save_checkpoint
    from loretrack_plugin.synthetic import make_dataset
    from loretrack_plugin.train import Trainer
    root = str(tmp_path / "otb")
    make_dataset("otb", root, sequences=2, frames=24, seed=2, image_size=(160, 120))
    small = {"embed_dim": 64, "depth": 1, "num_heads": 4, "head_channels": 32}
    teacher = save_checkpoint(build_net(192, 96, **small), str(tmp_path / "t.pth.tar"))
    over = {"model": dict(small, init=None), "teacher": dict(small, checkpoint=teacher),
            "data": {"train": {"datasets": [{"type": "otb", "root": root}], "samples_per_epoch": 16},
                     "val": {"datasets": []}, "num_workers": 0},
            "run": {"output_dir": str(tmp_path / "run"), "device": "cpu", "tensorboard": False}}
    st = Trainer(_cfg("mini/student", over), mode="distill")
    bl = Trainer(_cfg("mini/baseline", over), mode="train")
    for i in range(4):
        a, b = st.train_sampler[i], bl.train_sampler[i]
        assert a["sample_id"] == b["sample_id"]
        assert a["search"].shape[-1] == 192 and b["search"].shape[-1] == 96
        assert (a["search_box"] - b["search_box"]).abs().max() < 0.02  # the same box, normalised in the crop


def test_shipped_prefix_and_missing_weights(tmp_path, monkeypatch):
    assert shipped.resolve("/some/file.pth") == "/some/file.pth"
    monkeypatch.setattr(shipped, "WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="shipped teacher weights not found"):
        shipped.resolve("shipped:teacher")
    (tmp_path / f"{shipped.NAMES['teacher']}.pth.tar").write_bytes(b"x")
    assert shipped.resolve("shipped:teacher") == str(tmp_path / f"{shipped.NAMES['teacher']}.pth.tar")
    with pytest.raises(ValueError, match="unknown stage"):
        shipped.weights_path("nope")


def test_real_data_appends_folders(tmp_path):
    from loretrack_plugin.cli import UserError
    from loretrack_plugin.commands.train import real_data_override
    over = real_data_override([str(tmp_path)])
    cfg = _cfg("mini/baseline", *over)
    added = cfg["data"]["train"]["datasets"][-2:]
    assert [d["pairs"] for d in added] == ["video", "still"] and {d["root"] for d in added} == {str(tmp_path)}
    assert len(cfg["data"]["train"]["datasets"]) == len(_cfg("mini/baseline")["data"]["train"]["datasets"]) + 2
    with pytest.raises(UserError, match="--real-data .*nope: folder not found"):
        real_data_override([os.path.join(str(tmp_path), "nope")])
    assert isinstance(over[0]["data"]["train"]["datasets"], Append)


def test_stem_recipes_keep_the_paper_structure_on_the_pretrained_stem():
    k, t = _cfg("mini-stem/backbone"), _cfg("mini-stem/teacher", {"model": {"init": "b.pth"}})
    s = _cfg("mini-stem/student", {"teacher": {"checkpoint": "t.pth"}, "model": {"init": "b.pth"}})
    b = _cfg("mini-stem/baseline", {"model": {"init": "b.pth"}})
    sizes = [(c["model"]["search_size"], c["model"]["template_size"]) for c in (k, t, s, b)]
    assert sizes == [(192, 96), (256, 128), (128, 64), (128, 64)]  # the teacher at twice the student's size
    for c in (k, t, s, b):
        assert c["model"]["patch_embed"] == "nanotrack-v3" and c["model"]["head_input"] == "tokens+corr"
        assert c["model"]["stem_init"] == "pretrained"
    # the stem stays frozen at the backbone's and teacher's scale; the 128/64 networks train it
    assert [c["model"]["freeze_stem"] for c in (k, t, s, b)] == [True, True, False, False]
    # the backbone's blocks start from random weights; every later stage from the backbone
    assert k["model"]["init"] is None and k["optim"]["backbone_lr_mult"] == 1.0
    assert all(c["model"]["init"] == "b.pth" and c["optim"]["backbone_lr_mult"] < 1 for c in (t, s, b))
    assert (s["teacher"]["search_size"], s["teacher"]["template_size"]) == (256, 128)
    assert s["teacher"]["patch_embed"] == t["model"]["patch_embed"]
    assert s["data"] == b["data"] and s["optim"] == b["optim"]
    # the defaults name the shipped files
    assert _cfg("mini-stem/baseline")["model"]["init"] == "shipped:backbone"


@pytest.mark.parametrize("stage, frozen", [("backbone", True), ("baseline", False)])
def test_stem_training_loads_the_pretrained_stem_and_keeps_it_frozen_where_the_recipe_says(tmp_path, stage, frozen):
    import torch
    from loretrack_plugin.checkpoint import stem_state_dict
    from loretrack_plugin.synthetic import make_dataset
    from loretrack_plugin.train import Trainer
    root = str(tmp_path / "otb")
    make_dataset("otb", root, sequences=2, frames=24, seed=2, image_size=(160, 120))
    small = {"embed_dim": 64, "depth": 1, "num_heads": 4, "head_channels": 32}
    over = {"model": dict(small, init=None),
            "data": {"train": {"datasets": [{"type": "otb", "root": root}], "samples_per_epoch": 16},
                     "val": {"datasets": []}, "num_workers": 0},
            "optim": {"epochs": 1, "batch_size": 8},
            "run": {"output_dir": str(tmp_path / "run"), "device": "cpu", "tensorboard": False}}
    tr = Trainer(_cfg(f"mini-stem/{stage}", over), mode="train")
    shipped_sd = stem_state_dict("nanotrack-v3")
    stem = tr.student.backbone.patch_embed
    assert all(torch.equal(stem.stem.state_dict()[k], v) for k, v in shipped_sd.items())
    proj = stem.proj.weight.detach().clone()
    try:
        tr.fit()
    finally:
        tr.close()
    after = stem.stem.state_dict()
    # frozen: weights and BN statistics kept; trained (the 128/64 stages): both move
    assert all(torch.equal(after[k], v) for k, v in shipped_sd.items()) is frozen
    assert any(torch.equal(after[k], v) for k, v in shipped_sd.items() if k.endswith("running_mean")) is frozen
    assert not torch.equal(stem.proj.weight, proj)                          # the projection learned
