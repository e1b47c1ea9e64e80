"""``deconv-gui code``: a runnable NumPy or PyTorch snippet of one problem."""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..io.snippets import PLACEHOLDER_NPY, SNIPPET_METHODS
from .options import (
    PROG,
    add_problem_options,
    add_schema_options,
    add_solver_options,
    check_out_folder,
    check_output,
    out_folder,
    write_output,
)
from .problem import left_out_note, load_problem, methods_that_apply

__all__ = ["PLACEHOLDER_NPY", "add_parser", "command"]


def add_parser(commands: Any) -> None:
    """Add ``code`` and its options to the subcommands ``commands``."""
    code = commands.add_parser("code", help="print a runnable NumPy or PyTorch snippet")
    add_problem_options(code, batch=False, model=True)
    add_solver_options(code)
    add_schema_options(code, "run")  # --methods: pinv and the priors are written out too
    code.add_argument("--lang", choices=("numpy", "api", "torch"), default="numpy")
    code.add_argument(
        "--npy",
        default=None,
        metavar="PATH",
        help="the .npy image the snippet loads (default: the --image if it is a .npy used "
        f"as is, else {PLACEHOLDER_NPY}: see --write-input)",
    )
    code.add_argument(
        "--write-input",
        type=out_folder,
        default=None,
        metavar="PATH.npy",
        help="write the image as used (converted, resized) there and make the snippet load it, "
        "so that it runs as printed",
    )
    code.add_argument("--save", default=None, metavar="PATH.npz", help="make the snippet save")
    code.add_argument(
        "--weights",
        default=None,
        metavar="PATH.npz",
        help="write the layer's weights and bias there and make the snippet load them (with "
        "--model the default: LAYER.npz in the current folder; the weights are never inlined)",
    )
    code.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --write-input or --weights file (one with the same "
        "contents is always kept as it is)",
    )
    code.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    from ..io.snippets import make_snippet, snippet_image_path

    for option, given in (("--write-input", args.write_input), ("--weights", args.weights)):
        if given is not None:  # refused before the work, made when written
            check_out_folder(Path(given).parent, option)
    loaded, params, _ = load_problem(args)
    # --methods all: as run does, only what applies to the layer (no priors with an
    # activation); a note for what the script would have written
    params, skipped = methods_that_apply(args.methods, params)
    notes = [left_out_note(m, why) for m, why in skipped.items() if m in SNIPPET_METHODS]
    npy = args.npy
    outputs = _outputs(args, loaded.pixels, params)
    for option, path, data in outputs.values():  # each refusal before any file is written
        check_output(option, path, data, overwrite=args.overwrite)
    written = {
        option: write_output(option, path, data, overwrite=args.overwrite)
        for option, path, data in outputs.values()
    }
    if "--write-input" in written:
        npy = str(written["--write-input"])
    elif npy is None:
        npy = snippet_image_path(loaded.source, loaded.pixels.shape)
    weights = written["--weights"].resolve() if "--weights" in written else None
    code = make_snippet(
        args.lang,
        params,
        loaded.pixels.shape,
        image_path=npy,
        save_path=args.save,
        weights_path=None if weights is None else str(weights),
    )
    print(code, end="")
    for note in notes:
        print(note, file=sys.stderr)
    if weights is not None:
        print(f"{PROG}: note: the layer's weights are in {weights}", file=sys.stderr)
    if npy == PLACEHOLDER_NPY and not Path(npy).exists():
        print(
            f"{PROG}: note: the snippet loads {PLACEHOLDER_NPY}, which does not exist here; "
            f"add --write-input {PLACEHOLDER_NPY} to write the image as used (converted and "
            f"resized), or take {PLACEHOLDER_NPY} from 'run --out DIR'",
            file=sys.stderr,
        )
    return 0


def _outputs(
    args: argparse.Namespace, pixels: np.ndarray, params
) -> dict[str, tuple[str, Path, bytes]]:
    """The files to write, by option: ``--write-input`` (the image as used, ``.npy`` added
    when missing) and ``--weights`` (asked for, or a model's layer: the weights are never
    inlined), each ``(option, path, data)``."""
    from ..io.snippets import layer_weights_name, layer_weights_npz, layer_weights_path

    outputs: dict[str, tuple[str, Path, bytes]] = {}
    if args.write_input is not None:
        path = args.write_input
        if path.suffix.lower() != ".npy":
            path = path.with_name(path.name + ".npy")
        buffer = io.BytesIO()
        np.save(buffer, pixels, allow_pickle=False)
        outputs["--write-input"] = ("--write-input", path, buffer.getvalue())
    if args.weights is not None or getattr(args, "model", None) is not None:
        target = layer_weights_path(args.weights or layer_weights_name(args.layer or "layer"))
        outputs["--weights"] = ("--weights", target, layer_weights_npz(params))
    return outputs
