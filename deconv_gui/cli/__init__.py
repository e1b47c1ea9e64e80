"""Headless commands: ``deconv-gui run``, ``info``, ``code``, ``animate`` and ``layers``.

``run`` computes the same pipeline as the window and writes the same files as its
export; ``info`` prints the shape arithmetic (equations, unknowns, rank, nullity);
``code`` prints a runnable NumPy or PyTorch snippet; ``animate`` writes a GIF of the
convolution or its transpose, one frame per step; ``layers`` lists a model file's conv
layers. Bad input gives a one-line message on stderr and a non-zero exit code, never a
traceback.

Exit codes (the same for every command): 0 success; 1 a failure with valid arguments
(an image or filter file that cannot be read or used, a problem too large, an output that
cannot be written; in a batch the other images are still processed); 2 bad command-line
input (unknown option, malformed or out-of-range value, missing file or sample name);
130 interrupted.

One module per command (:mod:`.run`, :mod:`.info`, :mod:`.code`, :mod:`.animate`,
:mod:`.layers`, …: its options and what it does), over :mod:`.problem` (loading the image,
filter and Params; :mod:`.model_problem` for a layer of a model file) and :mod:`.options`
(the parser, value types and the option groups from the schema).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.memory import keep_freed_memory
from . import animate, code, fit_decoder, info, layers, run
from .code import PLACEHOLDER_NPY
from .info import rank_report
from .options import (
    AUTO_WORK_SIZE,
    METHOD_CHOICES,
    METHOD_PANELS,
    PROG,
    UsageError,
    field_type,
    non_negative_pair,
    one_line,
    parse_pair,
    positive_pair,
    shown_default,
)
from .options import _Parser as _Parser  # the app's parser shares it
from .problem import resolve_images
from .run import LARGE_RUN_BYTES

__all__ = [
    "AUTO_WORK_SIZE",
    "COMMANDS",
    "LARGE_RUN_BYTES",
    "METHOD_CHOICES",
    "METHOD_PANELS",
    "PLACEHOLDER_NPY",
    "PROG",
    "UsageError",
    "build_parser",
    "field_type",
    "main",
    "non_negative_pair",
    "parse_pair",
    "positive_pair",
    "rank_report",
    "resolve_images",
    "shown_default",
]

#: Each subcommand's module: ``add_parser(commands)`` and ``command(args) -> int``.
COMMANDS = {
    "run": run,
    "info": info,
    "code": code,
    "animate": animate,
    "fit-decoder": fit_decoder,
    "layers": layers,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the subcommands."""
    parser = _Parser(prog=PROG, description="Deconvolution Explorer, headless commands.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a headless command; ``argv`` includes the subcommand (``run``, ``info``, …).

    Returns
    -------
    int
        The exit code (see the module docstring).
    """
    keep_freed_memory()  # each image of a batch allocates the same large arrays again
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        return COMMANDS[args.command].command(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:  # valid arguments, but the data cannot be used
        if debug:
            raise
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"{PROG}: error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1
