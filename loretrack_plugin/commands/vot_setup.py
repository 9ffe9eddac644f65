"""``loretrack vot-setup``: make a VOT toolkit workspace run LoReTrack (trackers.ini, config.yaml, stack, data).

The toolkit may live in another Python environment: every tracker entry names this interpreter
(``python = ...``), and ``--toolkit-env separate`` (chosen automatically when ``vot`` is not importable
here) copies the multistart experiment into ``WS/python/`` for the toolkit's ``PYTHONPATH``.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
from typing import Dict, List, Tuple

from ..cli import UserError

HELP = ("write VOT toolkit trackers.ini entries, config and stack (optionally a local synthetic dataset) "
        "into a workspace")

DEFAULT_IDENTIFIER = "loretrack"
DEFAULT_TIMEOUT = 600


def add_arguments(p):
    from ..trackers.vot_trax import DEFAULT_TRACKER
    p.add_argument("--workspace", required=True, help="workspace folder (created if missing)")
    p.add_argument("--trackers", default="",
                   help="comma-separated named trackers or tracker .yaml files, one trackers.ini entry each "
                        "(identifier = the tracker's name), besides 'loretrack'")
    p.add_argument("--default-tracker", default=DEFAULT_TRACKER,
                   help="named tracker or .yaml behind the identifier 'loretrack' [%(default)s]")
    p.add_argument("--checkpoint", action="append", default=[], metavar="[ID=]PATH",
                   help="weights for the entry ID (default 'loretrack'); repeatable")
    p.add_argument("--backend", default=None, help="inference backend for every entry (default: each tracker's)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads per tracker process")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                   help="seconds the toolkit waits for one tracker reply, model loading included [%(default)s]")
    p.add_argument("--stack", default=None,
                   help="'local' (multistart EAO + unsupervised on WS/sequences), a toolkit stack name "
                        "(e.g. vot2022/shorttermbox) or a stack .yaml; multistart experiments are switched to "
                        "the working class. Default: 'local' for a new workspace, else keep the configured stack")
    p.add_argument("--eao-range", default=None, metavar="LOW,HIGH",
                   help="EAO interval of the local stack (default: from the sequence lengths)")
    p.add_argument("--toolkit-env", choices=("auto", "same", "separate"), default="auto",
                   help="where the toolkit runs: 'same' imports the experiment from this package, 'separate' "
                        "copies it to WS/python (put it on PYTHONPATH); auto = same if vot imports here")
    g = p.add_argument_group("local synthetic dataset")
    g.add_argument("--synthetic", action="store_true",
                   help="render the synthetic dataset (VOT layout, with multistart anchors) into WS/sequences")
    g.add_argument("--sequences", type=int, default=3, help="number of synthetic sequences [%(default)s]")
    g.add_argument("--frames", type=int, default=40, help="frames per synthetic sequence [%(default)s]")
    g.add_argument("--seed", type=int, default=0, help="random seed of the synthetic data [%(default)s]")
    g.add_argument("--anchor-spacing", type=int, default=10,
                   help="frames between multistart anchors written where anchor.value is missing [%(default)s]")


# ------------------------------------------------------------------------------------------------
def _identifier(name: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")
    if not ident:
        raise UserError(f"tracker {name!r}: no usable identifier in its name")
    return ident


def _spec(name: str):
    from ..trackers import get_spec
    return get_spec(os.path.abspath(os.path.expanduser(name)) if name.endswith((".yaml", ".yml")) else name)


def _parse_checkpoints(values: List[str], identifiers: List[str]) -> Dict[str, str]:
    out = {}
    for value in values:
        ident, sep, path = value.partition("=")
        if not sep:
            ident, path = DEFAULT_IDENTIFIER, value
        elif ident not in identifiers:
            raise UserError(f"--checkpoint {value}: unknown entry {ident!r} (entries: {', '.join(identifiers)})")
        path = os.path.abspath(os.path.expanduser(path))
        if not os.path.isfile(path):
            raise UserError(f"--checkpoint {value}: file not found: {path}")
        out[ident] = path
    return out


def _tracker_entries(args) -> Tuple[list, List[str]]:
    """The trackers.ini entries and warnings (default checkpoints that do not exist yet)."""
    from ..tracking.backends import check_backend_name
    from ..vot.workspace import TrackerEntry

    backend = None
    if args.backend:
        try:
            backend = check_backend_name(args.backend)
        except ValueError as e:
            raise UserError(f"--backend: {e}") from None
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads: expected a positive integer, got {args.threads}")
    if args.timeout < 1:
        raise UserError(f"--timeout: expected a positive number of seconds, got {args.timeout}")

    wanted = [(DEFAULT_IDENTIFIER, args.default_tracker)]
    for name in (t.strip() for t in args.trackers.split(",")):
        if name:
            wanted.append((_identifier(_spec(name).name), name))
    identifiers = [i for i, _ in wanted]
    dup = sorted({i for i in identifiers if identifiers.count(i) > 1})
    if dup:
        raise UserError(f"--trackers: several entries would be called {', '.join(dup)}")
    checkpoints = _parse_checkpoints(args.checkpoint, identifiers)

    entries, warnings = [], []
    for ident, name in wanted:
        spec = _spec(name)
        ckpt = checkpoints.get(ident, spec.checkpoint)
        if ckpt is None or not os.path.isfile(ckpt):
            warnings.append(f"{ident}: checkpoint {ckpt or '(none)'} does not exist yet; the tracker will fail "
                            f"until it does (or pass --checkpoint {ident}=PATH)")
        label = spec.name if ident == spec.name else f"LoReTrack ({spec.name})"
        entries.append(TrackerEntry(identifier=ident, tracker=spec.source or name, python=sys.executable,
                                    label=label, checkpoint=ckpt, backend=backend, threads=args.threads,
                                    timeout=args.timeout))
    return entries, warnings


def _toolkit_importable() -> bool:
    try:
        return importlib.util.find_spec("vot.stack") is not None
    except Exception:  # noqa: BLE001 - no `vot`, or one that fails to import (attributee 0.1.10 on Py >= 3.11)
        return False


def _build_synthetic(args, sequences_dir: str) -> Dict[str, int]:
    from ..vot.workspace import build_synthetic_sequences
    if os.path.isdir(sequences_dir) and os.listdir(sequences_dir):
        raise UserError(f"--synthetic: {sequences_dir} is not empty (a dataset is there already); delete that "
                        "folder (and the workspace's results/) to rebuild it")
    for name, v in (("--sequences", args.sequences), ("--frames", args.frames)):
        if v < 1:
            raise UserError(f"{name}: expected a positive number, got {v}")
    if args.frames < 2:
        raise UserError(f"--frames: a VOT sequence needs at least 2 frames, got {args.frames}")
    parent = os.path.dirname(sequences_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".sequences.", dir=parent)
    try:
        lengths = build_synthetic_sequences(tmp, sequences=args.sequences, frames=args.frames, seed=args.seed,
                                            anchor_spacing=args.anchor_spacing)
        if os.path.isdir(sequences_dir):
            os.rmdir(sequences_dir)  # checked empty above
        os.replace(tmp, sequences_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return lengths


def _parse_eao_range(value):
    """``--eao-range LOW,HIGH`` -> (low, high), or None when not given."""
    if not value:
        return None
    try:
        low, high = (int(v) for v in value.split(","))
    except ValueError:
        raise UserError(f"--eao-range: expected LOW,HIGH integers, got {value!r}") from None
    if not 1 <= low < high:
        raise UserError(f"--eao-range: need 1 <= LOW < HIGH, got {low},{high}")
    return low, high


def _eao_from_sequences(sequences_dir: str) -> Tuple[int, int]:
    from ..vot.stack import eao_interval
    from ..vot.workspace import sequence_lengths
    if not os.path.isfile(os.path.join(sequences_dir, "list.txt")):
        raise UserError(f"local stack: no sequences in {sequences_dir} to size the EAO interval; use --synthetic, "
                        "put a VOT-layout dataset there first, or pass --eao-range LOW,HIGH")
    return eao_interval(sequence_lengths(sequences_dir).values())


def _missing_anchors(sequences_dir: str) -> List[str]:
    from ..vot.workspace import read_list
    return [n for n in read_list(sequences_dir) if not os.path.isfile(os.path.join(sequences_dir, n, "anchor.value"))]


def _unpatched_multistart(workspace: str):
    """A warning if the configured stack still uses the toolkit's (crashing) multistart experiment."""
    from ..vot import stack as stacks
    from ..vot.workspace import read_config
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


def run(args) -> int:
    from ..vot import stack as stacks
    from ..vot import workspace as ws

    workspace = os.path.abspath(os.path.expanduser(args.workspace))
    if os.path.exists(workspace) and not os.path.isdir(workspace):
        raise UserError(f"--workspace {workspace}: exists and is not a folder")
    entries, warnings = _tracker_entries(args)
    ws.read_config(workspace)  # a broken config.yaml fails here, before anything is written
    sequences_dir = os.path.join(workspace, "sequences")
    notes = []

    separate = args.toolkit_env == "separate" or (args.toolkit_env == "auto" and not _toolkit_importable())
    experiment = stacks.STANDALONE_EXPERIMENT if separate else stacks.PACKAGE_EXPERIMENT
    stack_name = args.stack
    has_config = os.path.isfile(os.path.join(workspace, "config.yaml"))
    if stack_name is None and not has_config:
        stack_name = "local"
    eao_range = _parse_eao_range(args.eao_range) if stack_name == "local" else None

    # a given stack is read before anything is written: a bad one leaves the workspace untouched
    stack, patched = None, 0
    if stack_name not in (None, "local"):
        path = stack_name if stack_name.endswith((".yaml", ".yml")) else stacks.toolkit_stack_file(stack_name)
        if path is None:
            raise UserError(f"--stack {stack_name}: no such toolkit stack (run `vot initialize` without "
                            "arguments to list them) and not a .yaml file")
        stack, patched = stacks.patch_stack(stacks.read_stack(os.path.abspath(path)), experiment)

    os.makedirs(workspace, exist_ok=True)
    if args.synthetic:
        lengths = _build_synthetic(args, sequences_dir)
        notes.append(f"synthetic dataset: {len(lengths)} sequences of {min(lengths.values())}-"
                     f"{max(lengths.values())} frames in {sequences_dir}")

    if stack_name == "local":
        low, high = eao_range or _eao_from_sequences(sequences_dir)
        if os.path.isfile(os.path.join(sequences_dir, "list.txt")):
            missing = _missing_anchors(sequences_dir)
            if missing:
                ws.write_anchors(sequences_dir, args.anchor_spacing, only_missing=True)
                notes.append(f"wrote anchor.value (every {args.anchor_spacing} frames) into {len(missing)} sequences")
        stack, patched = stacks.local_stack(experiment, low, high), 1
        notes.append(f"local stack: multistart EAO over fragment lengths {low}..{high}, unsupervised accuracy")
    elif stack is not None:
        if stack.get("dataset") and not os.path.isfile(os.path.join(sequences_dir, "list.txt")):
            notes.append(f"{sequences_dir}/list.txt is missing: the toolkit will download the stack's dataset "
                         "on first use (offline: put the sequences there first)")
    elif has_config:
        warning = _unpatched_multistart(workspace)
        if warning:
            warnings.append(warning)
    stack_ref = None
    if stack_name is not None:
        stacks.write_stack(os.path.join(workspace, "stack.yaml"), stack)
        stack_ref = "./stack.yaml"
    pythonpath = ws.install_experiment_module(workspace) if separate and patched else None

    kept = ws.write_trackers_ini(os.path.join(workspace, "trackers.ini"), entries)
    try:
        ws.write_config(workspace, stack=stack_ref)
    except ValueError as e:
        raise UserError(str(e)) from None

    print(f"VOT workspace {workspace}")
    for e in entries:
        print(f"  [{e.identifier}] {e.tracker}" + (f"  checkpoint {e.checkpoint}" if e.checkpoint else ""))
    if kept:
        print(f"  kept other trackers.ini entries: {', '.join(kept)}")
    if stack_ref:
        print(f"  stack.yaml from {stack_name}" + (f" ({patched} multistart experiment(s) -> {experiment})"
                                                   if patched else ""))
    for note in notes:
        print(f"  {note}")
    for w in warnings:
        print(f"  warning: {w}")
    env = f"PYTHONPATH={pythonpath} " if pythonpath else ""
    print("next, with the toolkit's environment:")
    print(f"  cd {workspace} && {env}vot test {DEFAULT_IDENTIFIER} && {env}vot evaluate {DEFAULT_IDENTIFIER} "
          f"&& {env}vot analysis {DEFAULT_IDENTIFIER} && {env}vot report {DEFAULT_IDENTIFIER}")
    return 0
