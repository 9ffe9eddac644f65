"""Inference backends against eager on a tiny network; automatic choice; the eager guard."""
import logging

import numpy as np
import pytest
import torch

from loretrack_plugin import build_net
from loretrack_plugin.tracking import TrackerCore
from loretrack_plugin.tracking import backends as B
from loretrack_plugin.formats import load_otb_sequence, read_rgb
from tests.conftest import tiny_net_kwargs

from .test_core import FixedMaps, peaky


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(5)
    return peaky(build_net(96, 48, **tiny_net_kwargs()))


@pytest.fixture(scope="module")
def openvino(net):
    """One compiled OpenVINO engine shared by the tests (compiling takes seconds)."""
    return B.create_backend("openvino", net, threads=1)


@pytest.fixture(scope="module")
def frames(real_otb_root):
    paths, gt = load_otb_sequence(f"{real_otb_root}/Crossing")
    return [read_rgb(p) for p in paths[:25]], gt


@pytest.mark.parametrize("name", ["openvino", "onnxruntime", "onednn"])
def test_fp32_backends_equal_eager(net, openvino, name):
    eager = B.EagerBackend(net)
    be = openvino if name == "openvino" else B.create_backend(name, net, threads=1)
    assert be.name == name and be.exact
    for seed in (0, 1, 2):
        z, x = B.example_inputs(net.cfg, seed=seed)
        out, ref = be(z, x), eager(z, x)
        assert [tuple(o.shape) for o in out] == [(1, 1, 6, 6), (1, 2, 6, 6), (1, 2, 6, 6)]
        assert all(o.dtype == torch.float32 for o in out)
        assert B.max_abs_diff(out, ref) < B.EXACT_TOL


def test_bf16_backend(net):
    z, x = B.example_inputs(net.cfg)
    if B.cpu_has_bf16():
        be = B.create_backend("bf16", net)
        assert not be.exact
        diff = B.max_abs_diff(be(z, x), B.EagerBackend(net)(z, x))
        assert 0 < diff < 0.1  # bf16 rounding: close, but not exact
    else:
        with pytest.raises(B.BackendError, match="AVX512-BF16"):
            B.create_backend("bf16", net)


def test_openvino_runs_in_f32_and_honours_threads(openvino):
    be = openvino
    assert str(be.compiled.get_property("INFERENCE_PRECISION_HINT")) in ("f32", "<Type: 'float32'>")
    assert int(be.compiled.get_property("INFERENCE_NUM_THREADS")) == 1


def test_every_openvino_engine_is_compiled_by_the_one_core_of_the_process(net, openvino, monkeypatch):
    """A second ``ov.Core`` per engine is what the suite's process segfaulted on (hardware.openvino_core)."""
    import openvino as ov
    from loretrack_plugin.tracking import hardware
    core = hardware.openvino_core()
    assert hardware.openvino_core() is core
    made = []
    real_core = ov.Core
    monkeypatch.setattr(ov, "Core", lambda *a, **k: made.append(1) or real_core(*a, **k))
    B.create_backend("openvino", net, threads=1)
    if B.cpu_has_bf16():
        B.create_backend("bf16", net, threads=1)
    assert hardware.openvino_capabilities()
    hardware._openvino_mm("fp32", 64, 64, 64, 1)()
    assert made == []


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="choose one of auto, eager"):
        B.check_backend_name("tpu")
    assert B.check_backend_name(None) == "auto" and B.check_backend_name("OpenVINO") == "openvino"


@pytest.fixture(scope="module")
def auto_core(net, frames):
    imgs, gt = frames
    core = TrackerCore(net, 5.0, 2.0, backend="auto", threads=1, name="tiny")
    logger = logging.getLogger("loretrack")
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        core.init(imgs[0], gt[0])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    return core, [r.getMessage() for r in records]


def test_auto_picks_the_first_exact_backend_and_logs_it(auto_core):
    core, messages = auto_core
    assert core.backend_name == B.AUTO_ORDER[0]
    assert core.backend_diff <= B.EXACT_TOL
    assert any(m.startswith(f"tiny: backend {B.AUTO_ORDER[0]} (max |diff| vs eager") for m in messages)


def test_auto_falls_back_to_eager(net, monkeypatch):
    def broken(net, threads=None):
        raise B.BackendError("engine missing")

    monkeypatch.setitem(B._FACTORIES, "openvino", broken)
    z, x = B.example_inputs(net.cfg)
    ref = B.EagerBackend(net)(z, x)
    be, reason, diff = B.choose_backend(net, z, x, ref, order=("openvino", "onnxruntime"), tol=0.0)
    assert be.name == "eager" and diff == 0.0
    assert "openvino: engine missing" in reason and "onnxruntime: max |diff|" in reason
    be, reason, _ = B.choose_backend(net, z, x, ref, order=("openvino", "onnxruntime"))
    assert be.name == "onnxruntime"


def test_fast_backend_follows_the_eager_trajectory(net, frames, auto_core):
    imgs, gt = frames
    ref = TrackerCore(net, 5.0, 2.0, backend="eager")
    ref.init(imgs[0], gt[0])
    want = np.array([ref.update(f)[0] for f in imgs[1:]])
    core, _ = auto_core
    core.init(imgs[0], gt[0])
    got = np.array([core.update(f)[0] for f in imgs[1:]])
    assert core.backend_name != "eager"
    assert np.abs(got - want).max() < 1e-3
    assert core.stats["frames"] >= len(imgs) - 1


def test_guard_reruns_eager_only_near_a_rounding_boundary(net):
    frame = np.zeros((200, 200, 3), np.uint8)
    core = TrackerCore(net, 5.0, 2.0, backend="eager")
    core.init(frame, [80, 80, 40, 40])
    fake = FixedMaps(6, (3, 3), (0.5, 0.5), (0.2, 0.1))
    fake.exact = True
    core.backend = fake
    # crop side 200 around centre (100, 100): cx = 3.5 / 6 * 200 + 0 = 116.67, box 40 x 20 -> next crop
    # side ceil(141.42) = 142 and corner x = 116.67 - 71 = 45.67: far from every boundary
    assert not core._needs_eager((200, 200), fake(None, None), 96 / 200)
    # offset chosen so that the next crop corner x1 = cx - 71 lands on a .5 (Python round's jump)
    fake.offset[0, 0, 3, 3] = (116.5 / 200) * 6 - 3
    assert core._needs_eager((200, 200), fake(None, None), 96 / 200)
    before = core.stats["eager_reruns"]
    core.update(frame)
    assert core.stats["eager_reruns"] == before + 1
    core.guard = False
    assert not core._needs_eager((200, 200), fake(None, None), 96 / 200)


def test_load_exported_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="exported model not found"):
        B.load_exported(str(tmp_path / "none.onnx"))
    p = tmp_path / "model.pt"
    p.write_text("x")
    with pytest.raises(ValueError, match="expected .onnx or .xml"):
        B.load_exported(str(p))


def test_candidate_elimination_exports_with_input_dependent_token_choice():
    # ostrack-256/384 use CE: the kept tokens depend on the input, so the exported graphs must carry
    # the sort/gather/scatter, not a traced constant choice
    torch.manual_seed(0)
    ce_net = build_net(256, 128, **tiny_net_kwargs(depth=3), ce_loc=(1, 2))
    eager = B.EagerBackend(ce_net)
    for name in ("onnxruntime", "openvino"):
        be = B.create_backend(name, ce_net, threads=1)
        for seed in (3, 4):
            z, x = B.example_inputs(ce_net.cfg, seed=seed)
            assert B.max_abs_diff(be(z, x), eager(z, x)) < B.EXACT_TOL
