"""Figures of the report, sized for a paper (one column = 3.5 in, two columns = 7.16 in, 8 pt text).

Figures are built on :class:`matplotlib.figure.Figure` directly (no pyplot): no global state, no GUI
backend, and got10k's habit of changing ``rcParams`` cannot leak in or out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .families import LABELS

RC = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
      "legend.fontsize": 7, "axes.linewidth": 0.6, "grid.linewidth": 0.4, "lines.linewidth": 1.4,
      "pdf.fonttype": 42, "svg.fonttype": "none", "font.family": "DejaVu Sans"}
ONE_COLUMN, TWO_COLUMNS = 3.5, 7.16

# colour-blind-safe palette (Okabe-Ito, then tab10 for larger sets)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
           "#8c564b", "#7f7f7f", "#bcbd22", "#17becf"]
FAMILY_LINESTYLE = {"student": "-", "baseline": (0, (5, 2)), "teacher": (0, (6, 2, 1.5, 2)),
                    "reference": (0, (4, 1, 1, 1)), "peer": (0, (3, 1, 1, 1, 1, 1)), "other": (0, (1.5, 1.5))}
LABEL_BOX = dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.8)
FAMILY_STYLE = {"student": dict(color="#D55E00", marker="o"), "baseline": dict(color="#0072B2", marker="s"),
                "teacher": dict(color="#000000", marker="*"), "peer": dict(color="#009E73", marker="D"),
                "reference": dict(color="#CC79A7", marker="v"),
                "other": dict(color="#7f7f7f", marker="^")}
#: the floor (static box): a dashed grey reference line, labelled FLOOR_LABEL, gid "floor"
FLOOR_LABEL = "static box"
FLOOR_STYLE = dict(color="#8a8a8a", linestyle="--", linewidth=1.0)


@dataclass
class Series:
    """One tracker in a figure."""
    name: str
    family: str
    color: str
    complete: bool = True

    @property
    def label(self) -> str:
        return self.name if self.complete else self.name + "*"


def tracker_colors(names: Sequence[str]) -> Dict[str, str]:
    """A fixed colour per tracker, the same in every figure (``names`` in ranking order)."""
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def _incomplete_handle(series: Sequence[Series]) -> List[Line2D]:
    """A text-only legend entry explaining the ``*`` (figure footnotes collide with axis labels)."""
    if all(s.complete for s in series):
        return []
    return [Line2D([], [], linestyle="none", label="* fewer sequences (see table)")]


def _row_major(items: Sequence, ncol: int) -> list:
    """Reorder so that matplotlib's column-by-column legend reads in ``items`` order row by row
    (legends are read left to right; the ranking must survive that)."""
    return [x for c in range(ncol) for x in items[c::ncol]]


CURVE_AXES = {
    "success": ("Overlap threshold", "Success rate", "Success plots of OPE", (0.0, 1.0)),
    "precision": ("Location error threshold (px)", "Precision", "Precision plots of OPE", (0.0, 50.0)),
    "norm_precision": ("Normalized location error threshold", "Normalized precision",
                       "Normalized precision plots of OPE", (0.0, 0.5)),
}


def curve_figure(kind: str, series: Sequence[Series], curves: Dict[str, List[float]], scores: Dict[str, float],
                 score_name: str, floor: Optional[Tuple[List[float], float]] = None) -> Figure:
    """Success / precision / normalized-precision plot, trackers sorted by score, ``Name [0.xxx]`` legend.

    ``curves[name]`` holds the y values on evenly spaced thresholds over the kind's x range
    (21 or 101 points for success, 51 for the precision curves); ``score_name`` titles the legend
    (what the bracketed number is). ``floor``: (curve, score) of the static box, drawn as a dashed
    grey reference line ``static box [0.xxx]`` (gid ``floor``), in the legend at its score's rank.
    """
    xlabel, ylabel, title, (x0, x1) = CURVE_AXES[kind]
    order = sorted((s for s in series if s.name in curves), key=lambda s: -scores.get(s.name, -1.0))
    extra = _incomplete_handle(order)
    n_items = len(order) + len(extra) + (floor is not None)
    ncol = 1 if n_items <= 2 else 2
    rows = math.ceil(n_items / ncol)
    with matplotlib.rc_context(RC):
        # legend below the axes: inside, it hides curves of weak trackers whatever corner it takes
        fig = Figure(figsize=(ONE_COLUMN, 2.6 + 0.15 * rows), layout="constrained")
        ax = fig.add_subplot()
        ranked = []  # (score, legend handle); the floor first among equals: a tie is not tracking
        if floor is not None:
            y = np.asarray(floor[0], dtype=float)
            line, = ax.plot(np.linspace(x0, x1, len(y)), y, label=f"{FLOOR_LABEL} [{floor[1]:.3f}]", zorder=5,
                            gid="floor", **FLOOR_STYLE)
            ranked.append((floor[1], line))
        for rank, s in enumerate(order):
            y = np.asarray(curves[s.name], dtype=float)
            x = np.linspace(x0, x1, len(y))
            line, = ax.plot(x, y, color=s.color, linestyle=FAMILY_LINESTYLE.get(s.family, "-"),
                            label=f"{s.label} [{scores[s.name]:.3f}]", zorder=10 + len(order) - rank)
            ranked.append((scores.get(s.name, -1.0), line))
        ranked.sort(key=lambda p: -p[0])
        ax.set_xlim(x0, x1)
        ax.set_ylim(0.0, 1.0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, color="#dddddd")
        handles = _row_major([h for _, h in ranked] + extra, ncol)
        fig.legend(handles=handles, title=score_name, loc="outside lower center", ncol=ncol, frameon=False,
                   handlelength=2.6, labelspacing=0.25, columnspacing=1.2, title_fontsize=7)
    return fig


def _x_axis(ax, values: Sequence[float], log: bool) -> None:
    """Log scale (plain-number ticks) when the values span more than 4x, else a few linear ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
    lo, hi = min(values), max(values)
    if log and lo > 0 and hi / lo > 4:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(lo / 1.4, hi * 1.4)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        pad = (hi - lo) * 0.15 or max(abs(hi) * 0.2, 1e-3)
        ax.set_xlim(lo - pad, hi + pad)


def resolution_figure(points: Sequence[dict], score_name: str, floor: Optional[float] = None,
                      gains: Optional[Sequence[dict]] = None) -> Figure:
    """Accuracy against input resolution, measured speed and GMACs, one marker style per family.

    ``points``: dicts with ``name, family, complete, auc`` and optional ``resolution, fps, gmacs, gain``.
    Panel (a) joins students and baselines over resolution, draws the teacher as a star (its score
    also as a dashed line in every panel), and links each student to its same-resolution baseline
    with the gain; panels (b) and (c) label each marker with its resolution (a CPU peer, which has
    none of ours, with its name). ``gains``: dicts with
    ``resolution, auc`` (the student's), ``gain`` and ``label`` (default: from the points' ``gain``,
    in points). ``floor``: the static box's score, a dashed grey line (gid ``floor``) in every panel.
    """
    pts = [p for p in points if p.get("auc") is not None]
    if gains is None:
        gains = [{"resolution": p["resolution"], "auc": p["auc"], "gain": p["gain"], "label": f"{100 * p['gain']:+.1f}"}
                 for p in pts if p["family"] == "student" and p.get("gain") is not None and p.get("resolution")]
    panels = (("resolution", "Input resolution (search, px)", False),
              ("fps", "Speed (fps, measured)", True), ("gmacs", "GMACs (thop-style)", True))
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(TWO_COLUMNS, 2.55), layout="constrained")
        axes = fig.subplots(1, 3, sharey=True)
        aucs = [p["auc"] for p in pts]
        teacher = next((p for p in pts if p["family"] == "teacher"), None)
        for ax, (key, xlabel, log) in zip(axes, panels):
            have = [p for p in pts if p.get(key) is not None]
            ax.set_xlabel(xlabel)
            ax.grid(True, color="#e4e4e4")
            if not have:
                ax.text(0.5, 0.5, f"no {key} data", transform=ax.transAxes, ha="center", va="center",
                        color="#888888")
                ax.set_xticks([])
                continue
            _x_axis(ax, [p[key] for p in have], log)
            if teacher is not None:
                ax.axhline(teacher["auc"], color=FAMILY_STYLE["teacher"]["color"], linestyle=(0, (4, 3)),
                           linewidth=0.7, zorder=1)
            if floor is not None:
                ax.axhline(floor, label=FLOOR_LABEL, gid="floor", zorder=1, **FLOOR_STYLE)
            for fam in ("baseline", "student"):
                # joined in resolution order in every panel: the line is the family's resolution sweep (through
                # the mean of the runs at a resolution: several seeds of one model are one point of the sweep)
                by_res: Dict[object, list] = {}
                fam_pts = sorted((p for p in have if p["family"] == fam), key=lambda p: (p.get("resolution") or 0, p[key]))
                for p in fam_pts:
                    by_res.setdefault(p.get("resolution") or ("single", p["name"]), []).append(p)
                line = [(float(np.mean([p[key] for p in ps])), float(np.mean([p["auc"] for p in ps])))
                        for ps in by_res.values()]
                if len(line) > 1:
                    ax.plot([x for x, _ in line], [y for _, y in line], color=FAMILY_STYLE[fam]["color"],
                            linewidth=1.0, zorder=2)
            for p in have:
                st = FAMILY_STYLE[p["family"]]
                ax.scatter([p[key]], [p["auc"]], s=70 if p["family"] == "teacher" else 26, marker=st["marker"],
                           facecolors=st["color"] if p.get("complete", True) else "white",
                           edgecolors=st["color"], linewidths=1.0, zorder=3)
                # markers are labelled with their resolution; a peer (no resolution of ours) with its name
                label = p.get("resolution") or (p["name"] if p["family"] in ("peer", "reference") else None)
                if key != "resolution" and label:
                    ax.annotate(str(label), (p[key], p["auc"]), textcoords="offset points",
                                xytext=(0, 5), ha="center", va="bottom", fontsize=6, color=st["color"],
                                bbox=LABEL_BOX, zorder=4)
            if key == "resolution":
                ax.set_xticks(sorted({p[key] for p in have}))
                for g in gains:
                    base = g["auc"] - g["gain"]
                    ax.plot([g["resolution"], g["resolution"]], [base, g["auc"]], color="#999999", linewidth=0.8,
                            linestyle=(0, (2, 1.5)), zorder=1.5)
                    ax.annotate(g["label"], (g["resolution"], (base + g["auc"]) / 2),
                                textcoords="offset points", xytext=(4, 0), ha="left", va="center", fontsize=6.5,
                                color="#444444", bbox=LABEL_BOX, zorder=4)
        lo, hi = min(aucs + ([floor] if floor is not None else [])), max(aucs)
        pad = max((hi - lo) * 0.15, 0.02)
        axes[0].set_ylim(max(0.0, lo - pad), min(1.0, hi + pad * 1.4))
        axes[0].set_ylabel(score_name)
        axes[0].set_title("(a) accuracy vs resolution", fontsize=8)
        axes[1].set_title("(b) accuracy vs speed", fontsize=8)
        axes[2].set_title("(c) accuracy vs compute", fontsize=8)
        fams = [f for f in ("student", "baseline", "teacher", "reference", "peer", "other")
                if any(p["family"] == f for p in pts)]
        handles = [Line2D([], [], linestyle="none", markersize=8 if f == "teacher" else 5,
                          markerfacecolor=FAMILY_STYLE[f]["color"], markeredgecolor=FAMILY_STYLE[f]["color"],
                          marker=FAMILY_STYLE[f]["marker"], label=LABELS[f]) for f in fams]
        if any(not p.get("complete", True) for p in pts):
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=5, markerfacecolor="white",
                                  markeredgecolor="#444444", label="fewer sequences"))
        if floor is not None:
            handles.append(Line2D([], [], label=FLOOR_LABEL, **FLOOR_STYLE))
        fig.legend(handles=handles, loc="outside upper center", ncol=len(handles), frameon=False,
                   handletextpad=0.3, columnspacing=1.2)
    return fig


def attribute_figure(attributes: Sequence[str], series: Sequence[Series], values: Dict[str, Dict[str, float]],
                     counts: Dict[str, int], score_name: str,
                     floor: Optional[Dict[str, Optional[float]]] = None) -> Figure:
    """Per-attribute score, one row per attribute (``values[attr][tracker]``), one marker per tracker;
    ``floor[attr]``: the static box's score, a grey bar marker labelled "static box" (gid ``floor``)."""
    markers = ["o", "s", "D", "^", "v", "P", "X", "<", ">", "h"]
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(ONE_COLUMN, 0.9 + 0.2 * len(attributes) + 0.12 * math.ceil(len(series) / 2)),
                     layout="constrained")
        ax = fig.add_subplot()
        ys = np.arange(len(attributes))[::-1]
        # trackers side by side within a row, so equal scores do not hide each other
        dodge = 0.5 / max(1, len(series))
        for i, s in enumerate(series):
            xs = [values[a].get(s.name) for a in attributes]
            off = (len(series) - 1) / 2 * dodge - i * dodge
            ok = [(x, y + off) for x, y in zip(xs, ys) if x is not None]
            if ok:
                ax.scatter([x for x, _ in ok], [y for _, y in ok], marker=markers[i % len(markers)], s=16,
                           facecolors=s.color if s.complete else "white", edgecolors=s.color, linewidths=0.9,
                           label=s.label, zorder=3)
        fl = [(floor.get(a), y) for a, y in zip(attributes, ys) if floor and floor.get(a) is not None]
        if fl:
            ax.scatter([x for x, _ in fl], [y for _, y in fl], marker="|", s=120, color=FLOOR_STYLE["color"],
                       linewidths=1.4, label=FLOOR_LABEL, zorder=2, gid="floor")
        ax.set_yticks(ys)
        ax.set_yticklabels([f"{a} ({counts[a]})" for a in attributes])
        ax.set_xlabel(score_name)
        ax.set_ylim(-0.7, len(attributes) - 0.3)
        ax.grid(True, axis="x", color="#dddddd")
        for y in ys:
            ax.axhline(y, color="#f0f0f0", linewidth=0.5, zorder=0)
        fig.suptitle(f"Per-attribute {score_name} (sequences per attribute)", fontsize=8)
        ncol = min(3, max(1, len(series)))
        fig.legend(handles=_row_major(ax.get_legend_handles_labels()[0], ncol), loc="outside lower center",
                   ncol=ncol, frameon=False, handletextpad=0.2, columnspacing=1.0)
    return fig


def save_figure(fig: Figure, path_no_ext: str, formats: Sequence[str] = ("png", "pdf")) -> List[str]:
    """Write ``<path>.<fmt>`` for each format (PNG at 300 dpi); returns the file names written."""
    out = []
    with matplotlib.rc_context(RC):  # pdf/svg font embedding is read at save time
        for fmt in formats:
            path = f"{path_no_ext}.{fmt}"
            fig.savefig(path, format=fmt, dpi=300 if fmt == "png" else None, facecolor="white")
            out.append(path)
    return out
