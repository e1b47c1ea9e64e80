"""``deconv-gui fit-decoder``: the transposed convolution a network would learn to undo a layer.

Over a folder of images (each centre-cropped to a square and resized to ``--size``), it
fits the ``K × K`` transposed convolution with bias that minimises ``Σ ‖x − D(A x + b)‖²``
(:func:`~deconv_gui.core.decoder.fit_decoder`; noise is added to ``A x + b`` only when
``--noise-sigma``/``--photons`` ask for it), saves it as ``.npz`` and compares it with
``Aᵀ`` and ``A⁺`` on held-out images (PSNR). The per-image work runs serially, or on a
dask cluster with ``--workers``/``--scheduler`` (:mod:`.cluster`), with the same result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from .cluster import add_cluster_options, input_error, map_in_order
from .options import (
    PROG,
    UsageError,
    add_problem_options,
    check_out_folder,
    is_terminal,
    one_line,
    out_folder,
    path_failure,
    positive_pair,
)
from .problem import check_filter, check_shared_values, load_spec, make_params, resolve_images

if TYPE_CHECKING:
    from ..core import Params

__all__ = ["add_parser", "command"]


def add_parser(commands: Any) -> None:
    """Add ``fit-decoder`` and its options to the subcommands ``commands``."""
    sub = commands.add_parser(
        "fit-decoder", help="fit the least-squares ConvTranspose2d that undoes the layer"
    )
    add_problem_options(sub, batch=True, image_flag="--images")
    sub.add_argument(
        "--decoder-size",
        type=positive_pair,
        required=True,
        metavar="K|KH,KW",
        help="decoder kernel (K_h·K_w·C_out + 1 at most 4097 unknowns)",
    )
    sub.add_argument(
        "--size",
        type=int,
        default=128,
        metavar="N",
        help="images are cropped square, resized to N²",
    )
    sub.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        metavar="FRACTION",
        help="share of the images (the last ones, sorted) kept out of the fit and compared on",
    )
    sub.add_argument("--out", required=True, type=out_folder, metavar="PATH.npz")
    sub.add_argument("--overwrite", action="store_true", help="replace an existing file")
    sub.add_argument("--json", action="store_true", help="print a JSON report on stdout")
    add_cluster_options(sub)
    sub.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _square(spec: str, size: int) -> np.ndarray:
    from skimage.transform import resize

    pixels = np.asarray(load_spec(spec, None).pixels, dtype=np.float64)
    h, w = pixels.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = pixels[top : top + side, left : left + side]
    return np.asarray(resize(crop, (size, size), anti_aliasing=side > size), dtype=np.float64)


def _measure(job: tuple[str, int, Any, int]) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: the prepared image and the layer's (noisy, when asked) output."""
    from ..core import ConvOperator
    from ..core.limits import check_magnitudes

    spec, size, params, index = job
    x = _square(spec, size)
    check_magnitudes(x, params.weights, params.bias)  # one line, not overflow warnings
    op = ConvOperator(params.geometry(x.shape), params.weights)
    y = op.apply(x) + np.asarray(params.bias)
    rng = np.random.default_rng([params.noise_seed, index])
    if params.photons > 0:
        y = rng.poisson(np.maximum(y, 0) * params.photons) / params.photons
    if params.noise_sigma > 0:
        y = y + rng.normal(0.0, params.noise_sigma, y.shape)
    return x, y


def _terms(job: tuple[str, int, Any, int, Any, Any]):
    from ..core.decoder import normal_equations

    *measure, stride, kernel = job
    x, y = _measure((measure[0], measure[1], measure[2], measure[3]))
    return normal_equations(x, y, stride=stride, kernel_size=kernel)


def _compare(job: tuple[str, int, Any, int, Any]) -> dict[str, float]:
    """PSNR of Aᵀ(y − b), A⁺(y − b) and the decoder on one held-out image."""
    from skimage.metrics import peak_signal_noise_ratio as psnr

    from ..core import ConvOperator, pinv_reconstruction

    *measure, decoder = job
    x, y = _measure((measure[0], measure[1], measure[2], measure[3]))
    params = measure[2]
    op = ConvOperator(params.geometry(x.shape), params.weights)
    centred = y - np.asarray(params.bias)
    images = {
        "transposed": op.apply_adjoint(centred),
        "pinv": np.asarray(pinv_reconstruction(y, op, params.bias).image),
        "decoder": decoder.apply(y),
    }
    return {name: float(psnr(x, np.clip(im, 0, 1), data_range=1.0)) for name, im in images.items()}


def command(args: argparse.Namespace) -> int:
    """Fit the decoder on the images, save it and compare it on the held-out ones: 0, or 1
    when an image failed (the others are used)."""
    from tqdm import tqdm

    from ..core.decoder import solve_decoder
    from ..io.decoder_file import write_decoder

    images, _ = resolve_images(args.image)
    out = _checked_options(args)
    params = _checked_layer(args, images)
    train, held = _held_out(images, args.holdout)
    stride, kernel = params.stride, args.decoder_size
    errors: list[dict[str, str]] = []
    # in a log, the bar would run into the error lines
    bar = tqdm(
        total=len(images),
        desc="images",
        unit="image",
        file=sys.stderr,
        disable=not is_terminal(sys.stderr),
    )

    def done(outcome) -> None:
        bar.update(1)
        index, _, error = outcome
        if error is not None:
            tqdm.write(f"{PROG}: error: {input_error(images[index], error)}", file=sys.stderr)

    jobs = [(spec, args.size, params, i, stride, kernel) for i, spec in enumerate(train)]
    outcomes = map_in_order(
        _terms, jobs, workers=args.workers, scheduler=args.scheduler, on_done=done
    )
    terms = [result for _, result, error in outcomes if error is None]
    errors += [{"image": train[i], "error": e} for i, _, e in outcomes if e is not None]
    if not terms:
        bar.close()
        if len(images) == 1:  # its error line said it all: not a second line
            return 1
        raise ValueError("--images: no image could be used to fit the decoder")
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    fit = solve_decoder(total, stride=stride, kernel_size=kernel)
    held_jobs = [
        (spec, args.size, params, len(train) + i, fit.decoder) for i, spec in enumerate(held)
    ]
    compared = map_in_order(
        _compare,
        held_jobs,
        workers=args.workers,
        scheduler=args.scheduler,
        on_done=lambda o: done((o[0] + len(train), o[1], o[2])),
    )
    bar.close()
    errors += [{"image": held[i], "error": e} for i, _, e in compared if e is not None]
    scores = [r for _, r, e in compared if e is None]
    used = [Path(train[i]).name for i, _, error in outcomes if error is None]
    write_decoder(out, fit.decoder, _metadata(params, args.size, used, fit.mse))
    _report(args, fit, out, held, scores, errors)
    return 1 if errors else 0


def _metadata(params: Params, size: int, images: list[str], mse: float) -> dict[str, Any]:
    """What the decoder file says of its fit: the layer, the work size, the images used."""
    return {
        "version": __version__,
        "layer": params.to_dict(),
        "size": size,
        "images": images,
        "mse": mse,
    }


def _checked_layer(args: argparse.Namespace, images: list[str]) -> Params:
    """The layer's Params, checked on the first usable image before any work: its geometry,
    its values and ``--decoder-size`` (before normal equations of that size are allocated)."""
    from ..core.decoder import check_decoder_size
    from ..core.limits import check_filter_magnitudes

    source, first = _first_usable(images, args.size)  # the others are reported by the run
    params = make_params(args, first.shape[2], source)
    check_filter_magnitudes(params.weights, params.bias)  # what no image can be fitted with
    try:
        check_decoder_size(args.decoder_size, params.weights.shape[-1])
    except ValueError as exc:
        raise UsageError(f"--decoder-size: {exc}") from None
    params.geometry(first.shape)  # a geometry error now, in one line
    return params


def _checked_options(args: argparse.Namespace) -> Path:
    """``--out``, once the filter, ``--size``, ``--holdout`` and ``--out`` are valid: an
    existing file (without ``--overwrite``) or a folder that cannot take the file is
    refused now, not after the whole fit; so are a ``--filter`` ``.npy`` and a ``--bias``
    that no image can be fitted with (one line naming them, before any image is read)."""
    check_filter(args)
    if not 8 <= args.size <= 4096:
        raise UsageError(f"--size must be between 8 and 4096, got {args.size}")
    if not 0.0 <= args.holdout < 1.0:
        raise UsageError(f"--holdout must be in [0, 1), got {args.holdout}")
    out: Path = args.out
    try:
        is_dir, exists = out.is_dir(), out.exists()
    except OSError as exc:  # a name the system refuses (too long, say)
        raise path_failure("--out", out, exc) from None
    if out.suffix.lower() != ".npz" or is_dir:
        raise UsageError(f"--out must be a .npz file path: {out}")
    if exists and not args.overwrite:
        raise ValueError(f"{out} already exists (use --overwrite to replace it)")
    check_out_folder(out.parent)
    check_shared_values(args)  # a filter or bias no image can use: once, before any image
    return out


def _held_out(images: list[str], holdout: float) -> tuple[list[str], list[str]]:
    """The images to fit on and the last ones, a ``holdout`` share of them, kept out to
    compare on: at least one when ``holdout > 0``, never all of them."""
    n_hold = round(holdout * len(images)) if len(images) > 1 else 0
    n_hold = min(max(n_hold, 1 if holdout > 0 and len(images) > 1 else 0), len(images) - 1)
    return images[: len(images) - n_hold], images[len(images) - n_hold :]


def _first_usable(images: list[str], size: int) -> tuple[str, np.ndarray]:
    """The first image that loads: it sets the channel count the filter is made for."""
    first_error = ""
    for spec in images:
        try:
            return spec, _square(spec, size)
        except ValueError as exc:
            first_error = first_error or input_error(spec, one_line(exc))
    if len(images) == 1:  # its own reason, not a count of one
        raise ValueError(first_error)
    raise ValueError(
        f"--images: none of the {len(images)} image(s) could be read (the first: {first_error})"
    )


def _report(args, fit, out: Path, held, scores, errors) -> None:
    mean = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]} if scores else {}
    if args.json:
        print(
            json.dumps(
                {
                    "command": "fit-decoder",
                    "out": str(out),
                    "n_images": fit.n_images,
                    "mse": fit.mse,
                    "stride": list(fit.decoder.stride),
                    "padding": list(fit.decoder.padding),
                    "output_padding": list(fit.decoder.output_padding),
                    "heldout": [{"image": h, **s} for h, s in zip(held, scores, strict=False)],
                    "heldout_mean_psnr": mean,
                    "errors": errors,
                },
                allow_nan=False,
            )
        )
        return
    d = fit.decoder
    print(
        f"{out}: {d.weights.shape[0]}×{d.weights.shape[1]} decoder, stride {d.stride}, padding "
        f"{d.padding}, output_padding {d.output_padding}; fitted on {fit.n_images} image(s), "
        f"mean squared error {fit.mse:.3g}"
    )
    if mean:
        row = " · ".join(f"{name} {value:.2f} dB" for name, value in mean.items())
        print(f"held-out PSNR ({len(scores)} image(s)): {row}")
    if errors:  # each was said as it came: a summary, as run's batch gives
        names = ", ".join(error["image"] for error in errors)
        print(f"{PROG}: {len(errors)} image(s) failed: {names}", file=sys.stderr)
