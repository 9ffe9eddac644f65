"""Comparison report across trackers and resolutions: plots, Markdown/HTML tables and report.json.

    from loretrack_plugin.report import make_report
    folder = make_report("results", "lasot", trackers=["loretrack-128", "ostrack-256"])

Inputs are the files ``loretrack eval`` writes (``<report_dir>/<benchmark>/metrics.json``, got10k's
performance.json); see :mod:`loretrack_plugin.report.data` for the score conventions.
"""
from .build import build_model, load_benchmark, make_report
from .families import assign_families

__all__ = ["make_report", "build_model", "load_benchmark", "assign_families"]
