"""Comparison report across trackers and resolutions: plots, Markdown/HTML tables and report.json.

    from loretrack_plugin.report import make_report
    folder = make_report("results", "lasot", trackers=["loretrack-128", "ostrack-256"])

Inputs are the files ``loretrack eval`` writes (``<report_dir>/<benchmark>/metrics.json``, got10k's
performance.json); see :mod:`loretrack_plugin.report.data` for the score conventions.

Every report states its floor and its noise: the static box (first box kept, :mod:`.floor`) is a row
of every table and a dashed line in the plots, trackers not above it are marked "not tracking", and
runs named ``<model>@s<seed>`` give mean ± std per model and the distillation gain only with its
spread (:mod:`.seeds`).
"""
from .build import build_model, load_benchmark, make_report
from .families import assign_families

__all__ = ["make_report", "build_model", "load_benchmark", "assign_families"]
