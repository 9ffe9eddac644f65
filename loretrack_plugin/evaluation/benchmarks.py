"""The benchmarks ``loretrack eval`` knows: experiment class, result layout and protocol tags."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict

from . import experiments as E


@dataclass(frozen=True)
class Benchmark:
    """One benchmark.

    Attributes:
        name: the ``--benchmark`` value.
        make: ``make(root, result_dir, report_dir)`` -> a got10k experiment whose ``dataset`` is
            layout-checked and restricted to the sequences on disk.
        layout: result-file layout, ``otb`` (``<seq>.txt``) or ``got10k`` (``<seq>/<seq>_001.txt``).
        kind: pytracking's dataset tag (``lasot`` and ``uav`` have special invalid-frame rules).
        has_ground_truth: False for test splits evaluated on a server (no scores, a submission zip).
        drop_nan_gt: got10k drops ground-truth rows with NaN (LaSOT, UAV123) or counts them as
            failures (OTB, NfS).
        description: one line for ``--help``.
    """
    name: str
    make: Callable
    layout: str
    kind: str
    has_ground_truth: bool
    drop_nan_gt: bool
    description: str


BENCHMARKS: Dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("lasot", lambda r, res, rep: E.ExperimentLaSOT(r, "test", res, rep), "otb", "lasot", True, True,
              "LaSOT test, 280 sequences (<root>/<class>/<class>-<k>/)"),
    Benchmark("lasot_ext", lambda r, res, rep: E.ExperimentLaSOTExt(r, res, rep), "otb", "lasot_extension_subset",
              True, True, "LaSOT extension subset, 150 sequences, LaSOT layout"),
    Benchmark("got10k_val", lambda r, res, rep: E.ExperimentGOT10kLocal(r, "val", res, rep), "got10k", "got10k",
              True, False, "GOT-10k validation, 180 sequences (<root>/val/list.txt)"),
    Benchmark("got10k_test", lambda r, res, rep: E.ExperimentGOT10kLocal(r, "test", res, rep), "got10k", "got10k",
              False, False, "GOT-10k test: writes the submission zip (<root>/test/list.txt)"),
    Benchmark("trackingnet", lambda r, res, rep: E.ExperimentTrackingNet(r, res, rep), "otb", "trackingnet", False,
              False, "TrackingNet TEST: writes the submission zip (<root>/TEST/anno, TEST/frames)"),
    Benchmark("otb", lambda r, res, rep: E.ExperimentOTBOffline(r, 2015, res, rep), "otb", "otb", True, False,
              "OTB-2015 (OTB100), real OTB names (<root>/<Name>/img, groundtruth_rect.txt)"),
    Benchmark("uav123", lambda r, res, rep: E.ExperimentUAV123Local(r, "UAV123", res, rep), "otb", "uav", True, True,
              "UAV123 (<root>/anno/UAV123, <root>/data_seq/UAV123)"),
    Benchmark("nfs", lambda r, res, rep: E.ExperimentNfSLocal(r, 30, res, rep), "otb", "nfs", True, False,
              "NfS at 30 fps (<root>/<seq>/30/<seq>.txt)"),
    Benchmark("otb-dir", lambda r, res, rep: E.ExperimentOTBDir(r, res, rep), "otb", "otb", True, False,
              "any folder of OTB-layout sequences (<root>/<Seq>/img, groundtruth_rect.txt)"),
)}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r} (expected one of {', '.join(BENCHMARKS)})")
    return BENCHMARKS[name]
