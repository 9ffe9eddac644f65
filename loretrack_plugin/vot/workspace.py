"""VOT toolkit workspaces: ``trackers.ini`` entries, ``config.yaml``, the experiment module, local sequences.

Workspace layout written here (what ``vot`` reads; docs/toolkits.md §2.3–2.5)::

    WS/config.yaml                   registry: [./trackers.ini], stack: ./stack.yaml
    WS/trackers.ini                  one [identifier] section per tracker (other sections are kept)
    WS/stack.yaml                    see loretrack_plugin.vot.stack
    WS/python/loretrack_multistart.py  the multistart experiment, for a toolkit in another environment
    WS/sequences/list.txt, WS/sequences/<seq>/{sequence, color/%08d.jpg, groundtruth.txt, anchor.value}

Nothing here imports the toolkit or torch.
"""
from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import yaml

from ..utils.files import atomic_path, write_text

TRAX_MODULE = "loretrack_plugin.trackers.vot_trax"
ENV_PREFIX = "LORETRACK_VOT_"
IDENTIFIER = re.compile(r"^[A-Za-z0-9_-]+$")
_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")


# ------------------------------------------------------------------------------------------------
# trackers.ini
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackerEntry:
    """One ``trackers.ini`` section running :mod:`loretrack_plugin.trackers.vot_trax` (``protocol = traxpython``).

    ``tracker`` (a name or an absolute tracker .yaml path), ``checkpoint``, ``backend`` and ``threads`` reach
    the server as ``LORETRACK_VOT_*`` environment variables, so the command stays a bare module name
    (``python -m``) whatever characters the paths hold. ``python`` is the tracker's interpreter, which may
    differ from the toolkit's.
    """
    identifier: str
    tracker: str
    python: str
    label: Optional[str] = None
    checkpoint: Optional[str] = None
    backend: Optional[str] = None
    threads: Optional[int] = None
    timeout: int = 600

    def __post_init__(self):
        if not IDENTIFIER.match(self.identifier):
            raise ValueError(f"tracker identifier {self.identifier!r}: the toolkit accepts only letters, "
                             "digits, '-' and '_'")
        for what, value in (("python", self.python), ("checkpoint", self.checkpoint)):
            if value is not None and not os.path.isabs(value):
                # the toolkit starts trackers in a fresh temporary directory: relative paths break there
                raise ValueError(f"tracker {self.identifier}: {what} path must be absolute, got {value!r}")
        if "\n" in self.tracker or int(self.timeout) < 1:
            raise ValueError(f"tracker {self.identifier}: bad tracker {self.tracker!r} or timeout {self.timeout}")

    def env(self) -> Dict[str, str]:
        env = {"TRACKER": self.tracker}
        if self.checkpoint:
            env["CHECKPOINT"] = self.checkpoint
        if self.backend:
            env["BACKEND"] = self.backend
        if self.threads:
            env["THREADS"] = str(int(self.threads))
        return {ENV_PREFIX + k: v for k, v in env.items()}

    def to_ini(self) -> str:
        # configparser interpolates '%' in values: write it doubled
        lines = [f"[{self.identifier}]",
                 f"label = {self.label or self.identifier}",
                 "protocol = traxpython",
                 f"command = {TRAX_MODULE}",
                 f"python = {self.python}",
                 f"timeout = {int(self.timeout)}"]
        lines += [f"env_{k} = {v}" for k, v in self.env().items()]
        return "\n".join(line.replace("%", "%%") for line in lines) + "\n"


def _split_sections(text: str) -> List[tuple]:
    """``[(section name or None for the preamble, text)]`` in file order."""
    blocks, name, current = [], None, []
    for line in text.splitlines(keepends=True):
        m = _SECTION.match(line)
        if m:
            blocks.append((name, "".join(current)))
            name, current = m.group(1).strip(), [line]
        else:
            current.append(line)
    blocks.append((name, "".join(current)))
    return [(n, t) for n, t in blocks if n is not None or t.strip()]


def write_trackers_ini(path: str, entries: Sequence[TrackerEntry]) -> List[str]:
    """Write ``entries`` into ``path``, replacing sections of the same identifiers and keeping every other
    section (and comment) as it was. Returns the identifiers kept from before."""
    ids = [e.identifier for e in entries]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate tracker identifiers: {ids}")
    old = ""
    if os.path.isfile(path):
        with open(path) as f:
            old = f.read()
    kept = [(n, t) for n, t in _split_sections(old) if n not in ids]
    text = "".join(t for _, t in kept)  # kept verbatim, comments and spacing included
    for e in entries:
        if text and not text.endswith("\n"):
            text += "\n"
        if text and not text.endswith("\n\n"):
            text += "\n"
        text += e.to_ini()
    write_text(path, text)
    return [n for n, _ in kept if n is not None]


# ------------------------------------------------------------------------------------------------
# config.yaml and the experiment module
# ------------------------------------------------------------------------------------------------
def read_config(workspace: str) -> Dict:
    """``WS/config.yaml`` as a mapping ({} when there is none); ValueError naming the file if it is broken."""
    path = os.path.join(workspace, "config.yaml")
    if not os.path.isfile(path):
        return {}
    try:
        with open(path) as f:
            config = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected a mapping, got {type(config).__name__}")
    return config


def write_config(workspace: str, stack: Optional[str] = None, registry: str = "./trackers.ini") -> Dict:
    """Create or update ``WS/config.yaml``: ``registry`` contains ``./trackers.ini``; ``stack`` is set when given.

    Other keys of an existing config (``sequences``, ``report``...) are kept. Returns the written config.
    """
    path = os.path.join(workspace, "config.yaml")
    config = read_config(workspace)
    reg = config.get("registry") or []
    reg = [reg] if isinstance(reg, str) else list(reg)
    if registry not in reg:
        reg.append(registry)
    config["registry"] = reg
    if stack is not None:
        config["stack"] = stack
    if "stack" not in config:
        raise ValueError(f"{path}: no stack configured; pass one (--stack)")
    write_text(path, yaml.safe_dump(config, sort_keys=False, default_flow_style=False))
    for sub in ("sequences", "results"):
        os.makedirs(os.path.join(workspace, sub), exist_ok=True)
    return config


def install_experiment_module(workspace: str) -> str:
    """Copy :mod:`loretrack_plugin.vot.multistart` to ``WS/python/loretrack_multistart.py``; returns the folder
    to put on the toolkit's ``PYTHONPATH``. The module imports only the toolkit, so it loads in a toolkit
    environment without torch or this package."""
    from . import multistart
    folder = os.path.join(os.path.abspath(workspace), "python")
    os.makedirs(folder, exist_ok=True)
    src = multistart.__file__
    with atomic_path(os.path.join(folder, "loretrack_multistart.py")) as tmp:
        shutil.copyfile(src, tmp)
    return folder


# ------------------------------------------------------------------------------------------------
# sequences
# ------------------------------------------------------------------------------------------------
def _parse_region(line: str) -> Optional[List[float]]:
    """A ground-truth line -> its bounding box (x, y, w, h), or None for an empty/unknown one."""
    line = line.strip()
    if not line or line.startswith("m"):  # RLE masks: never used as anchors here
        return None
    try:
        vals = [float(v) for v in line.replace("\t", ",").replace(" ", ",").split(",") if v]
    except ValueError:
        return None
    if len(vals) == 4:
        box = vals
    elif len(vals) >= 6 and len(vals) % 2 == 0:
        xs, ys = vals[0::2], vals[1::2]
        box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    else:
        return None
    return box if all(math.isfinite(v) for v in box) and box[2] > 0 and box[3] > 0 else None


def read_list(sequences_dir: str) -> List[str]:
    path = os.path.join(sequences_dir, "list.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no sequence list: {path}")
    with open(path) as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise ValueError(f"{path}: lists no sequences")
    return names


def read_groundtruth(sequences_dir: str, name: str) -> List[Optional[List[float]]]:
    path = os.path.join(sequences_dir, name, "groundtruth.txt")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"sequence {name}: no ground truth {path}")
    with open(path) as f:
        return [_parse_region(line) for line in f]


def sequence_lengths(sequences_dir: str) -> Dict[str, int]:
    """``{name: number of ground-truth lines}`` for the sequences in ``list.txt``."""
    return {n: len(read_groundtruth(sequences_dir, n)) for n in read_list(sequences_dir)}


def anchor_values(boxes: Sequence[Optional[Sequence[float]]], spacing: int) -> List[int]:
    """Per-frame ``anchor.value``: every ``spacing``-th frame with a visible target is an anchor, ``+1`` (run
    forward) when at least as many frames follow it as precede it, ``-1`` (run backward) otherwise; ``0``
    elsewhere. Frame 0 is always a forward anchor when its target is visible."""
    if spacing < 1:
        raise ValueError(f"anchor spacing must be >= 1, got {spacing}")
    n = len(boxes)
    values = [0] * n
    for a in range(0, n, spacing):
        if boxes[a] is not None:
            values[a] = 1 if n - 1 - a >= a else -1
    return values


def write_anchors(sequences_dir: str, spacing: int = 10, only_missing: bool = True) -> Dict[str, int]:
    """Write ``anchor.value`` into the listed sequences (by default only those without one); returns
    ``{name: number of anchors}`` for the sequences written."""
    counts = {}
    for name in read_list(sequences_dir):
        if only_missing and os.path.isfile(os.path.join(sequences_dir, name, "anchor.value")):
            continue
        values = anchor_values(read_groundtruth(sequences_dir, name), spacing)
        if not any(values):
            raise ValueError(f"sequence {name}: no frame with a visible target every {spacing} frames "
                             "to anchor a multistart run")
        write_text(os.path.join(sequences_dir, name, "anchor.value"), "".join(f"{v}\n" for v in values))
        counts[name] = sum(1 for v in values if v)
    return counts


def build_synthetic_sequences(sequences_dir: str, sequences: int = 3, frames: int = 40, seed: int = 0,
                              anchor_spacing: int = 10) -> Dict[str, int]:
    """Render the synthetic dataset in VOT layout into ``sequences_dir``, anchored for multistart (the
    generator writes ``anchor.value``; sequences without one get anchors every ``anchor_spacing`` frames).

    Returns ``{sequence name: length}``.
    """
    from ..synthetic import make_dataset
    make_dataset(layout="vot", out=sequences_dir, sequences=sequences, frames=frames, seed=seed)
    write_anchors(sequences_dir, anchor_spacing, only_missing=True)
    return sequence_lengths(sequences_dir)
