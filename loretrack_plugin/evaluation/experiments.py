"""got10k experiments that work offline with got10k 0.1.3 from PyPI.

They subclass got10k's own classes, so ``run(tracker)`` / ``report(names)`` behave as in got10k:

* :class:`ExperimentLaSOT` / :class:`ExperimentLaSOTExt` -- absent from PyPI; same numbers and
  ``performance.json`` keys as got10k master's ``ExperimentLaSOT`` (NaN ground-truth rows dropped,
  normalised precision = mean of the 0..0.5 curve), plots ``success_plots.png``,
  ``precision_plots.png`` and ``norm_precision_plots.png`` (x axis 0..0.5). Results:
  ``<result_dir>/LaSOT/<tracker>/<seq>.txt``; missing sequences are skipped with a warning.
* :class:`ExperimentOTBOffline` -- ``ExperimentOTB`` without its forced download.
* :class:`ExperimentOTBDir` -- any folder of OTB-layout sequences (folder ``OTB``).
* :class:`ExperimentUAV123Local`, :class:`ExperimentNfSLocal` -- got10k's, on partial datasets.
* :class:`ExperimentGOT10kLocal` -- got10k's GOT-10k val/test on the sequences present; the test
  submission zip is written without changing the working directory and into its own folder
  ``GOT-10k-test`` (val results never end up in it).
* :class:`ExperimentTrackingNet` -- TEST split (first box only): runs and writes the submission
  zip ``<result_dir>/TrackingNet/<tracker>.zip`` (one ``<seq>.txt`` per sequence); evaluation is
  server-side.
"""
from __future__ import annotations

import json
import logging
import os
import zipfile
from typing import Dict, List, Sequence

import numpy as np
from got10k.experiments import ExperimentGOT10k, ExperimentNfS, ExperimentOTB, ExperimentUAV123

from ..utils.files import atomic_path, write_json
from . import metrics as M
from .benchmark_readers import (LaSOTDataset, OTBDirDataset, TrackingNetTest, got10k_dataset, nfs_dataset,
                                otb_dataset, quiet, uav123_dataset)

log = logging.getLogger("loretrack")


def _otb_like_init(exp, dataset, result_dir: str, report_dir: str, folder: str) -> None:
    exp.dataset = dataset
    exp.result_dir = os.path.join(result_dir, folder)
    exp.report_dir = os.path.join(report_dir, folder)
    exp.nbins_iou = 21
    exp.nbins_ce = 51
    exp.nbins_nce = 51


class ExperimentOTBOffline(ExperimentOTB):
    """got10k's ExperimentOTB (versions 2013, 2015, 'tb50', 'tb100') that never downloads."""

    def __init__(self, root_dir, version=2015, result_dir="results", report_dir="reports"):
        _otb_like_init(self, otb_dataset(root_dir, version), result_dir, report_dir, "OTB" + str(version))


class ExperimentOTBDir(ExperimentOTB):
    """got10k's ExperimentOTB on any folder of OTB-layout sequences (see :class:`OTBDirDataset`)."""

    def __init__(self, root_dir, result_dir="results", report_dir="reports"):
        _otb_like_init(self, OTBDirDataset(root_dir), result_dir, report_dir, "OTB")


class ExperimentUAV123Local(ExperimentUAV123):
    """got10k's ExperimentUAV123 (NaN ground truth dropped) on the sequences present."""

    def __init__(self, root_dir, version="UAV123", result_dir="results", report_dir="reports"):
        _otb_like_init(self, uav123_dataset(root_dir, version), result_dir, report_dir, version.upper())


class ExperimentNfSLocal(ExperimentNfS):
    """got10k's ExperimentNfS (30 fps by default, as papers report) on the sequences present."""

    def __init__(self, root_dir, fps=30, result_dir="results", report_dir="reports"):
        _otb_like_init(self, nfs_dataset(root_dir, fps), result_dir, report_dir, "NfS/%d" % fps)


def _savefig(fig, path: str) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=300, bbox_inches="tight")


def plot_otb_style(performance: Dict, names: Sequence[str], report_dir: str, title: str) -> List[str]:
    """Success / precision / normalised-precision plots of got10k-master performance entries.

    Trackers are sorted by the plotted score; legends read ``name: [score]`` (AUC, precision at 20 px,
    normalised-precision score). Returns the PNG paths.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    perf = {n: performance[n]["overall"] for n in names if n in performance}
    specs = [("success_plots.png", "success_curve", "success_score", M.IOU_THRESHOLDS, "Overlap threshold",
              "Success rate", f"Success plots on {title}", "lower left"),
             ("precision_plots.png", "precision_curve", "precision_score", M.CE_THRESHOLDS,
              "Location error threshold (px)", "Precision", f"Precision plots on {title}", "lower right"),
             ("norm_precision_plots.png", "normalized_precision_curve", "normalized_precision_score",
              M.NCE_THRESHOLDS, "Normalized location error threshold", "Normalized precision",
              f"Normalized precision plots on {title}", "lower right")]
    styles = [c + m for m in ("-", "--", "-.") for c in [""] * 10]
    paths = []
    with matplotlib.rc_context({"font.size": 9}):
        for fname, curve, score, thr, xlabel, ylabel, ttl, loc in specs:
            if not perf or any(score not in v for v in perf.values()):
                continue  # e.g. a got10k OTB-style performance.json: no normalised precision
            order = sorted(perf, key=lambda n: -perf[n][score])
            fig, ax = plt.subplots()
            for i, n in enumerate(order):
                ax.plot(thr, perf[n][curve], styles[i % len(styles)], label="%s: [%.3f]" % (n, perf[n][score]))
            ax.legend(loc=loc, fontsize=7.4)
            ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(0, float(thr.max())), ylim=(0, 1), title=ttl)
            ax.grid(True)
            fig.tight_layout()
            path = os.path.join(report_dir, fname)
            _savefig(fig, path)
            plt.close(fig)
            paths.append(path)
    return paths


class ExperimentLaSOT(ExperimentOTB):
    """LaSOT test (280 sequences) with got10k master's protocol, on got10k PyPI.

    Args:
        root_dir: LaSOT root (``<class>/<class>-<k>/...``).
        subset: ``'test'`` (LaSOT protocol II) or ``'ext'`` (extension subset, 150 sequences).
        result_dir, report_dir: results go to ``<result_dir>/<folder>/<tracker>/<seq>.txt`` and
            ``times/<seq>_time.txt``; the report to ``<report_dir>/<folder>/<first tracker>/``.
    """
    folder = "LaSOT"
    title = "LaSOT"

    def __init__(self, root_dir, subset="test", result_dir="results", report_dir="reports"):
        _otb_like_init(self, LaSOTDataset(root_dir, subset), result_dir, report_dir, self.folder)

    def record_file(self, name: str, seq: str) -> str:
        return os.path.join(self.result_dir, name, "%s.txt" % seq)

    def report(self, tracker_names, plot_curves=True):
        """Evaluate ``tracker_names`` (the first names the report folder); returns the performance dict."""
        assert isinstance(tracker_names, (list, tuple))
        report_dir = os.path.join(self.report_dir, tracker_names[0])
        performance = {}
        for name in tracker_names:
            seqs, speeds, seq_wise = [], [], {}
            for s, seq in enumerate(self.dataset.seq_names):
                _, anno = self.dataset[s]
                boxes = np.loadtxt(self.record_file(name, seq), delimiter=",", ndmin=2)
                if len(boxes) != len(anno):
                    log.warning("%s: %d result rows for %d ground-truth rows, cut to the shorter", seq,
                                len(boxes), len(anno))
                sc = M.got10k_sequence(boxes, anno, drop_nan_gt=True)
                time_file = os.path.join(self.result_dir, name, "times", "%s_time.txt" % seq)
                speed = M.got10k_speed(np.loadtxt(time_file, ndmin=1)) if os.path.isfile(time_file) else 0.0
                seqs.append(sc)
                speeds.append(speed)
                seq_wise[seq] = dict(sc.to_dict(), speed_fps=speed if speed > 0 else -1)
            overall = M.got10k_overall(seqs)
            performance[name] = {"overall": dict(overall.to_dict(), speed_fps=M.got10k_overall_speed(speeds)),
                                 "seq_wise": seq_wise}
        write_json(os.path.join(report_dir, "performance.json"), performance, indent=4)
        if plot_curves:
            self.plot_curves(tracker_names, performance)
        return performance

    def plot_curves(self, tracker_names, performance=None):
        report_dir = os.path.join(self.report_dir, tracker_names[0])
        if performance is None:
            with open(os.path.join(report_dir, "performance.json")) as f:
                performance = json.load(f)
        return plot_otb_style(performance, tracker_names, report_dir, self.title)


class ExperimentLaSOTExt(ExperimentLaSOT):
    """The LaSOT extension subset (15 classes x 10 sequences), LaSOT layout and protocol."""
    folder = "LaSOT_ext"
    title = "LaSOT_ext"

    def __init__(self, root_dir, result_dir="results", report_dir="reports"):
        super().__init__(root_dir, "ext", result_dir, report_dir)


def _zip_files(zip_path: str, files: Dict[str, str]) -> str:
    """Write ``{archive name: file}`` to ``zip_path`` atomically."""
    with atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for arc, path in sorted(files.items()):
                z.write(path, arc)
    return zip_path


class ExperimentGOT10kLocal(ExperimentGOT10k):
    """got10k's ExperimentGOT10k on the sequences present (``subset`` 'val' or 'test').

    Test results live in ``<result_dir>/GOT-10k-test/`` so the submission zip
    ``<result_dir>/GOT-10k-test/<tracker>.zip`` (``<seq>/<seq>_001.txt`` + ``<seq>_time.txt``)
    never contains validation results.
    """

    def __init__(self, root_dir, subset="val", result_dir="results", report_dir="reports"):
        self.subset = subset
        self.dataset = got10k_dataset(root_dir, subset)
        folder = "GOT-10k" if subset == "val" else "GOT-10k-test"
        self.result_dir = os.path.join(result_dir, folder)
        self.report_dir = os.path.join(report_dir, folder)
        self.nbins_iou = 101
        self.repetitions = 3

    def submission_zip(self, tracker_name: str) -> str:
        """Zip this tracker's test results for the evaluation server; returns the zip path."""
        base = os.path.join(self.result_dir, tracker_name)
        files = {}
        for seq in self.dataset.seq_names:
            for f in sorted(os.listdir(os.path.join(base, seq))):
                if f.endswith(".txt"):
                    files[f"{seq}/{f}"] = os.path.join(base, seq, f)
        return _zip_files(base + ".zip", files)

    def report(self, tracker_names):
        if self.subset == "test":
            for name in tracker_names:
                log.info("GOT-10k test submission: %s (upload it to the evaluation server)", self.submission_zip(name))
            return None
        with quiet():
            return super().report(tracker_names)


class ExperimentTrackingNet(ExperimentOTB):
    """TrackingNet TEST split: only the first box is public, so ``report`` writes the submission zip."""

    def __init__(self, root_dir, result_dir="results", report_dir="reports"):
        _otb_like_init(self, TrackingNetTest(root_dir), result_dir, report_dir, "TrackingNet")

    def run(self, tracker, visualize=False):
        for s, seq in enumerate(self.dataset.seq_names):
            record_file = os.path.join(self.result_dir, tracker.name, "%s.txt" % seq)
            if os.path.exists(record_file):
                continue
            img_files, anno = self.dataset[s]
            boxes, times = tracker.track(img_files, anno[0], visualize=visualize)
            self._record(record_file, boxes, times)

    def submission_zip(self, tracker_name: str) -> str:
        base = os.path.join(self.result_dir, tracker_name)
        return _zip_files(base + ".zip", {f"{seq}.txt": os.path.join(base, f"{seq}.txt")
                                          for seq in self.dataset.seq_names})

    def report(self, tracker_names):
        for name in tracker_names:
            log.info("TrackingNet submission: %s (upload it to the evaluation server)", self.submission_zip(name))
        return None
