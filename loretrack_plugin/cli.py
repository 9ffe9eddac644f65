"""``loretrack`` command line: one subcommand per module in :mod:`loretrack_plugin.commands`.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Modules are imported only when their command runs, so ``loretrack --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = {
    "profile": "profile_net",
    "profile-data": "profile_data",
    "export": "export",
    "bench": "bench",
    "eval": "eval",
    "make-dataset": "make_dataset",
    "report": "report",
    "vot-setup": "vot_setup",
    "pretrain": "pretrain",
    "train": "train",
    "distill": "distill",
    "demo": "demo",
}


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit status 2."""


def _module(name: str):
    return importlib.import_module(f"loretrack_plugin.commands.{COMMANDS[name]}")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="loretrack", description="LoReTrack: low-resolution tracking "
                                     "distilled from a high-resolution teacher")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # build only the chosen subcommand's parser (importing every module would be slow)
    chosen = next((a for a in argv if a in COMMANDS), None)
    for name in COMMANDS:
        if name == chosen:
            mod = _module(name)
            p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
            mod.add_arguments(p)
        else:
            sub.add_parser(name, help=f"(see `loretrack {name} --help`)", add_help=False)
    args = parser.parse_args(argv)
    # our loggers speak at INFO; third-party ones (fontTools logs every glyph at INFO) only warn
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("loretrack", "loretrack_plugin"):
        logging.getLogger(name).setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(_module(args.command).run(args) or 0)
    except UserError as e:
        print(f"loretrack {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as e:
        # bad input (missing file, unreadable checkpoint, wrong layout...): one clear line, no traceback
        if args.verbose:
            raise
        print(f"loretrack {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        # the file system refused (an output folder that cannot be written, a full disk): one line naming the path
        if args.verbose:
            raise
        from .utils.files import describe_os_error
        print(f"loretrack {args.command}: error: {describe_os_error(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"loretrack {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
