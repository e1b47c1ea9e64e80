"""``deconv-gui animate``: a GIF or MP4 of the convolution, its transpose or the pseudo-inverse."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import (
    UsageError,
    add_problem_options,
    add_solver_options,
    check_out_folder,
    out_folder,
    write_made_folder,
)
from .problem import load_problem, problem_geometry

__all__ = ["PINV_FRAMES", "add_parser", "command"]

#: The most iterations the pinv mode shows (one frame each).
PINV_FRAMES = 60


def _pixel(text: str) -> tuple[int, int]:
    try:
        row, col = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ROW,COL (two ints), got {text!r}") from None
    if min(row, col) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative ROW,COL, got {text!r}")
    return row, col


def add_parser(commands: Any) -> None:
    """Add ``animate`` and its options to the subcommands ``commands``."""
    from ..core import ANIMATION_MODES

    animate = commands.add_parser(
        "animate",
        help="write a GIF or MP4 of the convolution, its transpose or the pseudo-inverse, "
        "step by step",
    )
    add_problem_options(animate, batch=False, model=True)
    add_solver_options(animate)  # --reg, --rtol, --max-iter: the pinv mode's solver
    animate.add_argument(
        "--mode",
        choices=(*ANIMATION_MODES, "pinv"),
        default="forward",
        help="forward: the window over the padded input; scatter: the transpose as "
        "kernel × value added into the result; zero-insertion: the transpose as a stride-1 "
        "correlation of the spread y with the flipped kernel; pinv: the pseudo-inverse "
        "solver, one frame per iteration (default forward)",
    )
    animate.add_argument(
        "--out", required=True, type=out_folder, metavar="PATH.gif|PATH.mp4",
        help="a .gif, or a .mp4 when imageio-ffmpeg is installed (pip install "
        '"deconv-gui[mp4]")',
    )  # fmt: skip
    animate.add_argument(
        "--crop", type=_pixel, default=None, metavar="ROW,COL",
        help="animate a crop of the image around this pixel (large images have too many "
        "steps to watch); see --crop-size",
    )  # fmt: skip
    animate.add_argument("--crop-size", type=int, default=12, metavar="N",
                         help="the crop's side in pixels (default 12)")  # fmt: skip
    animate.add_argument("--frame-ms", type=int, default=500, metavar="MS",
                         help="milliseconds per step (default 500)")  # fmt: skip
    animate.add_argument("--overwrite", action="store_true", help="replace an existing file")
    animate.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core import PinvAnimation, StepAnimation, crop_window
    from ..io.animation import TITLE_FRAMES
    from ..io.video import export_frames, mp4_available, write_animation

    out: Path = args.out
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise UsageError(f"--out must name a .gif or .mp4 file, got {out}")
    if suffix == ".mp4" and not mp4_available():
        raise UsageError(
            'MP4 needs the optional imageio-ffmpeg: pip install "deconv-gui[mp4]" (or write a .gif)'
        )
    if out.exists() and not args.overwrite:
        raise ValueError(f"{out} already exists (use --overwrite to replace it)")
    if args.frame_ms < 1:
        raise UsageError(f"--frame-ms must be >= 1, got {args.frame_ms}")
    if args.crop_size < 1:
        raise UsageError(f"--crop-size must be >= 1, got {args.crop_size}")
    check_out_folder(out.parent)  # before the frames are computed (a missing one is made)
    loaded, params, geometry = load_problem(args)
    pixels, where = loaded.pixels, ""
    if args.crop is not None:
        h, w, _ = pixels.shape
        if args.crop[0] >= h or args.crop[1] >= w:
            raise UsageError(f"--crop {args.crop[0]},{args.crop[1]} is outside the {h}×{w} image")
        r0, c0, ch, cw = crop_window(geometry, args.crop, args.crop_size)
        pixels = np.ascontiguousarray(pixels[r0 : r0 + ch, c0 : c0 + cw])
        geometry = problem_geometry(params, pixels.shape)
        where = f" of the {ch}×{cw} crop at ({r0}, {c0})"
    hint = "; try --crop ROW,COL (a small crop around that pixel) or --work-size 16"
    try:
        if args.mode == "pinv":
            # the pinv panel's solver settings, at most PINV_FRAMES frames
            limit = min(PINV_FRAMES, params.max_iter or PINV_FRAMES)
            anim: Any = PinvAnimation(
                geometry, params.weights, pixels, max_iter=limit, reg=params.reg, rtol=params.rtol
            )
        else:
            anim = StepAnimation(geometry, params.weights, pixels, args.mode)
        frames = list(export_frames(anim))
    except ValueError as exc:
        raise ValueError(f"{exc}{hint}") from None
    write_made_folder(
        "--out", out, lambda path: write_animation(path, frames, step_ms=args.frame_ms)
    )
    unit = "iterations" if args.mode == "pinv" else "steps"
    count = len(anim) - 1 if args.mode == "pinv" else len(anim)
    print(f"{out}: {count} {unit}{where} + {TITLE_FRAMES} title frames ({args.mode})")
    return 0
