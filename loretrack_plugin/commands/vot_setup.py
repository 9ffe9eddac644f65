"""``loretrack vot-setup``: make a VOT toolkit workspace run LoReTrack (trackers.ini, config.yaml, stack, data).

The toolkit may live in another Python environment: every tracker entry names this interpreter
(``python = ...``), and ``--toolkit-env separate`` (chosen automatically when ``vot`` is not importable
here) copies the multistart experiment into ``WS/python/`` for the toolkit's ``PYTHONPATH``.
The work is :func:`loretrack_plugin.vot.workspace.setup_workspace`; this module parses the arguments
and prints what was done.
"""
from __future__ import annotations

from ..cli import UserError

HELP = ("write VOT toolkit trackers.ini entries, config and stack (optionally a local synthetic dataset) "
        "into a workspace")

def add_arguments(p):
    from ..trackers.vot_trax import DEFAULT_TRACKER
    from ..vot.workspace import DEFAULT_TIMEOUT
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


def run(args) -> int:
    from ..vot.workspace import DEFAULT_IDENTIFIER, setup_workspace

    done = setup_workspace(args.workspace, args.default_tracker, trackers=args.trackers.split(","),
                           checkpoints=args.checkpoint, backend=args.backend, threads=args.threads,
                           timeout=args.timeout, stack=args.stack, eao_range=_parse_eao_range(args.eao_range),
                           toolkit_env=args.toolkit_env, synthetic=args.synthetic, sequences=args.sequences,
                           frames=args.frames, seed=args.seed, anchor_spacing=args.anchor_spacing)
    print(f"VOT workspace {done.workspace}")
    for e in done.entries:
        print(f"  [{e.identifier}] {e.tracker}" + (f"  checkpoint {e.checkpoint}" if e.checkpoint else ""))
    if done.kept:
        print(f"  kept other trackers.ini entries: {', '.join(done.kept)}")
    if done.stack_file:
        print(f"  stack.yaml from {done.stack_name}" + (f" ({done.patched} multistart experiment(s) -> "
                                                        f"{done.experiment})" if done.patched else ""))
    for note in done.notes:
        print(f"  {note}")
    for w in done.warnings:
        print(f"  warning: {w}")
    env = f"PYTHONPATH={done.pythonpath} " if done.pythonpath else ""
    print("next, with the toolkit's environment:")
    print(f"  cd {done.workspace} && {env}vot test {DEFAULT_IDENTIFIER} && {env}vot evaluate {DEFAULT_IDENTIFIER} "
          f"&& {env}vot analysis {DEFAULT_IDENTIFIER} && {env}vot report {DEFAULT_IDENTIFIER}")
    return 0
