"""VOT toolkit workspaces: ``trackers.ini`` entries, ``config.yaml``, the experiment module, local sequences.

Workspace layout written here (what ``vot`` reads; docs/toolkits.md §2.3–2.5)::

    WS/config.yaml                   registry: [./trackers.ini], stack: ./stack.yaml
    WS/trackers.ini                  one [identifier] section per tracker (other sections are kept)
    WS/stack.yaml                    see loretrack_plugin.vot.stack
    WS/python/loretrack_multistart.py  the multistart experiment, for a toolkit in another environment
    WS/sequences/list.txt, WS/sequences/<seq>/{sequence, color/%08d.jpg, groundtruth.txt, anchor.value}

:func:`setup_workspace` does everything ``loretrack vot-setup`` does (the command parses its arguments,
calls it and prints the result): tracker entries, stack (local or a patched toolkit stack), the
experiment module for a toolkit in another environment, a local synthetic dataset, ``config.yaml``.
Problems with what was asked are ``ValueError``/``FileNotFoundError`` raised before anything is written.

Importing this module imports neither the toolkit nor torch.
"""
from __future__ import annotations

import importlib.util
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from ..utils.files import atomic_path, write_text

TRAX_MODULE = "loretrack_plugin.trackers.vot_trax"
DEFAULT_IDENTIFIER = "loretrack"
DEFAULT_TIMEOUT = 600
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


# ------------------------------------------------------------------------------------------------
# the whole set-up (``loretrack vot-setup``)
# ------------------------------------------------------------------------------------------------
def _identifier(name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    if not ident:
        raise ValueError(f"tracker {name!r}: no usable identifier in its name")
    return ident


def _spec(name: str):
    from ..trackers import get_spec
    return get_spec(os.path.abspath(os.path.expanduser(name)) if name.endswith((".yaml", ".yml")) else name)


def _parse_checkpoints(values: Sequence[str], identifiers: List[str]) -> Dict[str, str]:
    """``[ID=]PATH`` items -> {identifier: absolute path}; a bare PATH is the default entry's."""
    out = {}
    for value in values:
        ident, sep, path = value.partition("=")
        if not sep:
            ident, path = DEFAULT_IDENTIFIER, value
        elif ident not in identifiers:
            raise ValueError(f"--checkpoint {value}: unknown entry {ident!r} (entries: {', '.join(identifiers)})")
        path = os.path.abspath(os.path.expanduser(path))
        if not os.path.isfile(path):
            raise ValueError(f"--checkpoint {value}: file not found: {path}")
        out[ident] = path
    return out


def tracker_entries(default_tracker: str, trackers: Sequence[str] = (), checkpoints: Sequence[str] = (),
                    backend: Optional[str] = None, threads: Optional[int] = None,
                    timeout: int = DEFAULT_TIMEOUT) -> Tuple[List[TrackerEntry], List[str]]:
    """The ``trackers.ini`` entries (``loretrack`` = ``default_tracker``, then one per name or .yaml of
    ``trackers``, identifier = the tracker's name) and warnings (default checkpoints that do not exist yet).
    ``checkpoints``: ``[ID=]PATH`` items (a bare path is the ``loretrack`` entry's)."""
    from ..tracking.backends import check_tracker_backend

    if backend:
        try:
            backend = check_tracker_backend(backend)
        except ValueError as e:
            raise ValueError(f"--backend: {e}") from None
    if threads is not None and threads < 1:
        raise ValueError(f"--threads: expected a positive integer, got {threads}")
    if timeout < 1:
        raise ValueError(f"--timeout: expected a positive number of seconds, got {timeout}")

    wanted = [(DEFAULT_IDENTIFIER, default_tracker)]
    for name in (t.strip() for t in trackers):
        if name:
            wanted.append((_identifier(_spec(name).name), name))
    identifiers = [i for i, _ in wanted]
    dup = sorted({i for i in identifiers if identifiers.count(i) > 1})
    if dup:
        raise ValueError(f"--trackers: several entries would be called {', '.join(dup)}")
    paths = _parse_checkpoints(checkpoints, identifiers)

    entries, warnings = [], []
    for ident, name in wanted:
        spec = _spec(name)
        ckpt = paths.get(ident, spec.checkpoint)
        if ckpt is None or not os.path.isfile(ckpt):
            warnings.append(f"{ident}: checkpoint {ckpt or '(none)'} does not exist yet; the tracker will fail "
                            f"until it does (or pass --checkpoint {ident}=PATH)")
        label = spec.name if ident == spec.name else f"LoReTrack ({spec.name})"
        entries.append(TrackerEntry(identifier=ident, tracker=spec.source or name, python=sys.executable,
                                    label=label, checkpoint=ckpt, backend=backend, threads=threads,
                                    timeout=timeout))
    return entries, warnings


def toolkit_importable() -> bool:
    """Whether the VOT toolkit imports in this environment."""
    try:
        return importlib.util.find_spec("vot.stack") is not None
    except Exception:  # noqa: BLE001 - no `vot`, or one that fails to import (attributee 0.1.10 on Py >= 3.11)
        return False


def _build_synthetic(sequences_dir: str, sequences: int, frames: int, seed: int, anchor_spacing: int) -> Dict[str, int]:
    """Render the synthetic dataset into an empty ``sequences_dir`` (through a temporary folder)."""
    if os.path.isdir(sequences_dir) and os.listdir(sequences_dir):
        raise ValueError(f"--synthetic: {sequences_dir} is not empty (a dataset is there already); delete that "
                         "folder (and the workspace's results/) to rebuild it")
    for name, v in (("--sequences", sequences), ("--frames", frames)):
        if v < 1:
            raise ValueError(f"{name}: expected a positive number, got {v}")
    if frames < 2:
        raise ValueError(f"--frames: a VOT sequence needs at least 2 frames, got {frames}")
    parent = os.path.dirname(sequences_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".sequences.", dir=parent)
    try:
        lengths = build_synthetic_sequences(tmp, sequences=sequences, frames=frames, seed=seed,
                                            anchor_spacing=anchor_spacing)
        if os.path.isdir(sequences_dir):
            os.rmdir(sequences_dir)  # checked empty above
        os.replace(tmp, sequences_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return lengths


def _eao_from_sequences(sequences_dir: str) -> Tuple[int, int]:
    from .stack import eao_interval
    if not os.path.isfile(os.path.join(sequences_dir, "list.txt")):
        raise ValueError(f"local stack: no sequences in {sequences_dir} to size the EAO interval; use --synthetic, "
                         "put a VOT-layout dataset there first, or pass --eao-range LOW,HIGH")
    return eao_interval(sequence_lengths(sequences_dir).values())


def _missing_anchors(sequences_dir: str) -> List[str]:
    return [n for n in read_list(sequences_dir) if not os.path.isfile(os.path.join(sequences_dir, n, "anchor.value"))]


def _unpatched_multistart(workspace: str) -> Optional[str]:
    """A warning if the configured stack still uses the toolkit's (crashing) multistart experiment."""
    from . import stack as stacks
    name = read_config(workspace).get("stack")
    if not isinstance(name, str):
        return None
    try:
        yaml_file = name.endswith((".yaml", ".yml"))
        path = os.path.join(workspace, name) if yaml_file else stacks.toolkit_stack_file(name)
        _, count = stacks.patch_stack(stacks.read_stack(path), "x") if path else (None, 0)
    except (ValueError, FileNotFoundError):
        return None
    if count:
        return (f"the configured stack {name!r} uses the toolkit's multistart experiment, which crashes on "
                f"vot-toolkit 0.8/0.9: rerun with --stack {name} to switch it to the working class")
    return None


@dataclass
class WorkspaceSetup:
    """What :func:`setup_workspace` wrote: the entries, the trackers.ini sections kept from before, the
    stack (``stack_name`` as asked, ``patched`` multistart experiments switched to ``experiment``), the
    folder to put on the toolkit's ``PYTHONPATH`` (None: same environment), notes and warnings."""
    workspace: str
    entries: List[TrackerEntry]
    kept: List[str]
    stack_name: Optional[str]
    stack_file: Optional[str]
    experiment: str
    patched: int
    pythonpath: Optional[str]
    notes: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


def setup_workspace(workspace: str, default_tracker: str, trackers: Sequence[str] = (),
                    checkpoints: Sequence[str] = (), backend: Optional[str] = None, threads: Optional[int] = None,
                    timeout: int = DEFAULT_TIMEOUT, stack: Optional[str] = None,
                    eao_range: Optional[Tuple[int, int]] = None, toolkit_env: str = "auto", synthetic: bool = False,
                    sequences: int = 3, frames: int = 40, seed: int = 0, anchor_spacing: int = 10) -> WorkspaceSetup:
    """Make the VOT workspace ``workspace`` run LoReTrack (what ``loretrack vot-setup`` does).

    * ``trackers.ini``: :func:`tracker_entries` (other sections are kept);
    * ``stack``: ``'local'`` (multistart EAO over ``eao_range``, default from the sequence lengths, plus
      unsupervised accuracy on ``WS/sequences``), a toolkit stack name or a stack .yaml (multistart
      experiments switched to the working class); None: ``'local'`` for a new workspace, else the
      configured stack is kept (with a warning if it still uses the toolkit's multistart);
    * ``toolkit_env``: ``'same'`` (the toolkit imports this package), ``'separate'`` (the experiment is
      copied into ``WS/python``) or ``'auto'`` (same if the toolkit imports here);
    * ``synthetic``: render ``sequences`` synthetic sequences of ``frames`` frames into ``WS/sequences``;
      a local stack writes ``anchor.value`` (every ``anchor_spacing`` frames) where it is missing.
    """
    from . import stack as stacks

    workspace = os.path.abspath(os.path.expanduser(workspace))
    if os.path.exists(workspace) and not os.path.isdir(workspace):
        raise ValueError(f"--workspace {workspace}: exists and is not a folder")
    entries, warnings = tracker_entries(default_tracker, trackers, checkpoints, backend, threads, timeout)
    read_config(workspace)  # a broken config.yaml fails here, before anything is written
    sequences_dir = os.path.join(workspace, "sequences")
    notes: List[str] = []

    separate = toolkit_env == "separate" or (toolkit_env == "auto" and not toolkit_importable())
    experiment = stacks.STANDALONE_EXPERIMENT if separate else stacks.PACKAGE_EXPERIMENT
    stack_name = stack
    has_config = os.path.isfile(os.path.join(workspace, "config.yaml"))
    if stack_name is None and not has_config:
        stack_name = "local"
    if stack_name != "local":
        eao_range = None

    # a given stack is read before anything is written: a bad one leaves the workspace untouched
    stack_doc, patched = None, 0
    if stack_name not in (None, "local"):
        path = stack_name if stack_name.endswith((".yaml", ".yml")) else stacks.toolkit_stack_file(stack_name)
        if path is None:
            raise ValueError(f"--stack {stack_name}: no such toolkit stack (run `vot initialize` without "
                             "arguments to list them) and not a .yaml file")
        stack_doc, patched = stacks.patch_stack(stacks.read_stack(os.path.abspath(path)), experiment)

    os.makedirs(workspace, exist_ok=True)
    if synthetic:
        lengths = _build_synthetic(sequences_dir, sequences, frames, seed, anchor_spacing)
        notes.append(f"synthetic dataset: {len(lengths)} sequences of {min(lengths.values())}-"
                     f"{max(lengths.values())} frames in {sequences_dir}")

    if stack_name == "local":
        low, high = eao_range or _eao_from_sequences(sequences_dir)
        if os.path.isfile(os.path.join(sequences_dir, "list.txt")):
            missing = _missing_anchors(sequences_dir)
            if missing:
                write_anchors(sequences_dir, anchor_spacing, only_missing=True)
                notes.append(f"wrote anchor.value (every {anchor_spacing} frames) into {len(missing)} sequences")
        stack_doc, patched = stacks.local_stack(experiment, low, high), 1
        notes.append(f"local stack: multistart EAO over fragment lengths {low}..{high}, unsupervised accuracy")
    elif stack_doc is not None:
        if stack_doc.get("dataset") and not os.path.isfile(os.path.join(sequences_dir, "list.txt")):
            notes.append(f"{sequences_dir}/list.txt is missing: the toolkit will download the stack's dataset "
                         "on first use (offline: put the sequences there first)")
    elif has_config:
        warning = _unpatched_multistart(workspace)
        if warning:
            warnings.append(warning)
    stack_ref = None
    if stack_name is not None:
        stacks.write_stack(os.path.join(workspace, "stack.yaml"), stack_doc)
        stack_ref = "./stack.yaml"
    pythonpath = install_experiment_module(workspace) if separate and patched else None

    kept = write_trackers_ini(os.path.join(workspace, "trackers.ini"), entries)
    write_config(workspace, stack=stack_ref)
    return WorkspaceSetup(workspace, entries, kept, stack_name, stack_ref, experiment, patched, pythonpath,
                          notes, warnings)
