"""``deconv-gui animate``: a GIF of the convolution or its transpose, one frame per step."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import UsageError, add_problem_options, out_folder
from .problem import load_problem

__all__ = ["add_parser", "command"]


def add_parser(commands: Any) -> None:
    """Add ``animate`` and its options to the subcommands ``commands``."""
    from ..core import ANIMATION_MODES

    animate = commands.add_parser(
        "animate", help="write a GIF of the convolution or its transpose, step by step"
    )
    add_problem_options(animate, batch=False)
    animate.add_argument(
        "--mode",
        choices=ANIMATION_MODES,
        default="forward",
        help="forward: the window over the padded input; scatter: the transpose as "
        "kernel × value added into the result; zero-insertion: the transpose as a stride-1 "
        "correlation of the spread y with the flipped kernel (default forward)",
    )
    animate.add_argument("--out", required=True, type=out_folder, metavar="PATH.gif")
    animate.add_argument("--frame-ms", type=int, default=500, metavar="MS",
                         help="milliseconds per step (default 500)")  # fmt: skip
    animate.add_argument("--overwrite", action="store_true", help="replace an existing file")
    animate.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    from ..core import StepAnimation
    from ..core.groups import dense_filter
    from ..io.animation import TITLE_FRAMES, animation_frames, write_gif

    out: Path = args.out
    if out.suffix.lower() != ".gif":
        raise UsageError(f"--out must name a .gif file, got {out}")
    if out.exists() and not args.overwrite:
        raise ValueError(f"{out} already exists (use --overwrite to replace it)")
    if args.frame_ms < 1:
        raise UsageError(f"--frame-ms must be >= 1, got {args.frame_ms}")
    loaded, params, geometry = load_problem(args)
    try:
        # groups and flip as the one dense kernel they apply: the frames show it as used
        weights = dense_filter(params.weights, geometry.groups, geometry.flip)
        anim = StepAnimation(geometry.dense(), weights, loaded.pixels, args.mode)
        frames = list(animation_frames(anim))
    except ValueError as exc:
        raise ValueError(f"{exc}; try --work-size 16") from None
    write_gif(out, frames, step_ms=args.frame_ms)
    print(f"{out}: {len(anim)} steps + {TITLE_FRAMES} title frames ({args.mode})")
    return 0
