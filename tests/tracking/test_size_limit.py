"""experiments/diagnostics/size_limit.py: scoring the per-frame size limit, on hand-made maps."""
import numpy as np
import pytest

from loretrack_plugin import build_net
from loretrack_plugin.sample_data import real_sample_root
from loretrack_plugin.tracking import TrackerCore
from tests.conftest import load_script, tiny_net_kwargs

from .test_core import FixedMaps


def _module():
    return load_script("experiments/diagnostics/size_limit.py")


def test_a_head_that_doubles_the_box_is_held_by_the_limit():
    """Maps that put the target at the crop centre and say "it fills half the crop" (crop side = 4
    sqrt(wh), so twice the box every frame): the official loop blows the box up, the limit keeps it
    within 2 % per frame, close to the static box."""
    mod = _module()
    net = build_net(96, 48, **tiny_net_kwargs())
    core = TrackerCore(net, 4.0, 2.0, backend="eager")
    F = net.cfg.feat_size
    data = [(n, f[:12], g[:12]) for n, f, g in mod.load_sequences([real_sample_root()], ["Crossing", "Biker"])]
    core.init(data[0][1][0], data[0][2][0])          # build the engine, then replace it
    core.backend = FixedMaps(F, (F // 2, F // 2), (0.0, 0.0), (0.5, 0.5))
    res = mod.run(core, data, [None, 1.02], starts=(0.0, 0.5), progress=False)
    assert res["runs"] == 4 and core.max_size_change is None
    official, limited = res["rows"]
    assert official["max_size_change"] is None and limited["max_size_change"] == 1.02
    assert limited["auc"] > official["auc"] + 10
    assert abs(limited["auc"] - res["static_box"]["auc"]) < 15
    assert set(limited["per_sequence"]) == {"Crossing", "Biker"}
    table = mod.format_table(res)
    assert "static box (floor)" in table and "none (official loop)" in table and "| 1.02 |" in table


def test_damping_holds_a_head_that_doubles_the_box_in_proportion():
    """The same doubling head under ``size_lr``: a damped box grows by 1 + a per frame instead of 2, so
    a smaller ``a`` scores higher, and the core's own settings come back afterwards."""
    mod = _module()
    net = build_net(96, 48, **tiny_net_kwargs())
    core = TrackerCore(net, 4.0, 2.0, backend="eager")
    F = net.cfg.feat_size
    data = [(n, f[:8], g[:8]) for n, f, g in mod.load_sequences([real_sample_root()], ["Crossing"])]
    core.init(data[0][1][0], data[0][2][0])
    core.backend = FixedMaps(F, (F // 2, F // 2), (0.0, 0.0), (0.5, 0.5))
    res = mod.run(core, data, [None], starts=(0.0,), progress=False, size_lrs=[None, 0.5, 0.05])
    assert core.size_lr is None and core.max_size_change is None
    official, half, slow = res["rows"]
    assert [r["size_lr"] for r in res["rows"]] == [None, 0.5, 0.05]
    assert official["auc"] < half["auc"] < slow["auc"]
    assert "| size_lr 0.05 |" in mod.format_table(res)


def test_bad_arguments_are_named():
    mod = _module()
    assert mod.parse_limits("none, 1.02") == [None, 1.02]
    for bad in ("1.0", "0.5", "abc", ""):
        with pytest.raises(ValueError, match="--limits"):
            mod.parse_limits(bad)
    assert mod.parse_size_lrs("none,0.5, 1") == [None, 0.5, 1.0]
    for bad in ("0", "1.5", "abc", ""):
        with pytest.raises(ValueError, match="--size-lrs"):
            mod.parse_size_lrs(bad)
    for bad in ("1", "-0.1", "x"):
        with pytest.raises(ValueError, match="--starts"):
            mod.parse_starts(bad)
    assert mod.main(["--tracker", "demo-teacher-256", "--root", "/no/such/folder"]) == 2
