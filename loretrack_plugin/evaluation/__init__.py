"""Offline got10k experiments on every standard benchmark, plus pytracking-protocol metrics.

* :func:`evaluate` -- run trackers (resumable, parallel, sharded), got10k report, ``metrics.json``;
* :mod:`.experiments` -- ``ExperimentLaSOT`` / ``ExperimentLaSOTExt`` / ``ExperimentTrackingNet`` and
  offline variants of got10k's OTB, UAV123, NfS and GOT-10k experiments (subclasses of got10k's);
* :mod:`.static_box` -- the built-in ``static-box`` tracker (first box kept): the floor of every report;
* :mod:`.metrics` -- got10k-master and pytracking formulas;
* :mod:`.benchmark_readers` -- benchmark readers with layout checks and partial-dataset handling.
"""
from .api import EvalResult, evaluate
from .benchmarks import BENCHMARKS, Benchmark, get_benchmark
from .experiments import (ExperimentGOT10kLocal, ExperimentLaSOT, ExperimentLaSOTExt, ExperimentNfSLocal,
                          ExperimentOTBDir, ExperimentOTBOffline, ExperimentTrackingNet, ExperimentUAV123Local)
from .runner import TrackerRef, parse_shard, resolve_tracker, static_box_ref
from .static_box import STATIC_BOX, StaticBoxTracker

__all__ = ["evaluate", "EvalResult", "BENCHMARKS", "Benchmark", "get_benchmark", "TrackerRef", "resolve_tracker",
           "parse_shard", "STATIC_BOX", "StaticBoxTracker", "static_box_ref", "ExperimentLaSOT", "ExperimentLaSOTExt",
           "ExperimentTrackingNet", "ExperimentOTBOffline",
           "ExperimentOTBDir", "ExperimentUAV123Local", "ExperimentNfSLocal", "ExperimentGOT10kLocal"]
