"""``deconv-gui info``: the shape arithmetic, rank and nullity of one problem."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .options import add_problem_options, check_out_folder, write_output
from .problem import load_problem

__all__ = ["add_parser", "command", "rank_report"]


def add_parser(commands: Any) -> None:
    """Add ``info`` and its options to the subcommands ``commands``."""
    info = commands.add_parser("info", help="print the shape arithmetic, rank and nullity")
    add_problem_options(info, batch=False, model=True)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument(
        "--save-matrix",
        type=Path,
        default=None,
        metavar="PATH.npz",
        help="save A (without bias) as a scipy.sparse matrix (scipy.sparse.load_npz reads it)",
    )
    info.add_argument(
        "--overwrite", action="store_true", help="replace an existing --save-matrix file"
    )
    info.add_argument(
        "--through",
        action="store_true",
        help="with --model and --layer: the network up to the layer, layer by layer (output "
        "shape, units, ReLU units passed, receptive field, rank and nullity bounds)",
    )
    info.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def rank_report(geometry, weights: np.ndarray) -> dict[str, Any]:
    """Equations, unknowns, rank and nullity: exact when small, else stated as bounds.

    Notes
    -----
    The numbers are :func:`~deconv_gui.core.rank_info`'s, the window's too: exact (the
    SVD of the dense matrix, ``numpy.linalg.matrix_rank``'s tolerance
    ``σ_max · max(m, n) · ε``) while :func:`~deconv_gui.core.exact_rank_feasible`,
    else only ``rank ≤ min(equations, unknowns)`` and ``nullity ≥ unknowns −
    equations`` are stated.
    """
    from ..core import ConvOperator, rank_info

    info = rank_info(ConvOperator(geometry, weights, dtype=np.float64))
    report: dict[str, Any] = {
        "input_shape": list(geometry.input_shape),
        "filter_shape": list(geometry.filter_shape),
        "output_shape": list(geometry.output_shape),
        "stride": list(geometry.stride),
        "padding": (
            list(geometry.padding) if geometry.symmetric else [list(p) for p in geometry.pads]
        ),
        "padding_mode": geometry.padding_mode,
        "dilation": list(geometry.dilation),
        "groups": geometry.groups,
        "flip": geometry.flip,
        "layer_kind": getattr(geometry, "kind", "conv"),
        "equations": info.n_equations,
        "unknowns": info.n_unknowns,
    }
    if report["layer_kind"] == "conv_transpose":
        report["output_padding"] = list(geometry.output_padding)
    if info.exact:
        report.update(exact=True, rank=info.rank, nullity=info.nullity)
    else:
        report.update(
            exact=False, rank_at_most=info.rank_upper, nullity_at_least=info.nullity_lower
        )
    return report


def _padding_words(geometry: Any) -> str:
    """``1×1`` when each axis is symmetric, else ``top 0, bottom 1, left 0, right 1``."""
    if geometry.symmetric:
        return "×".join(map(str, geometry.padding))
    (top, bottom), (left, right) = geometry.pads
    return f"top {top}, bottom {bottom}, left {left}, right {right}"


def command(args: argparse.Namespace) -> int:
    """Print the problem's shape arithmetic, rank and nullity (one JSON object with
    ``--json``), saving ``A`` first with ``--save-matrix``."""
    if args.through:  # the network up to the layer, not the layer alone
        from .through_info import through_info

        return through_info(args)
    # the rank of A does not depend on the pixels (only the filter's values count); that
    # of an activation's J = D A does, through D
    from ..core.limits import check_magnitudes

    if args.save_matrix is not None:  # refused before the work, made when written
        check_out_folder(args.save_matrix.parent, "--save-matrix")
    loaded, params, geometry = load_problem(args, image_values=False)
    if params.activation != "none":
        check_magnitudes(loaded.pixels, params.weights, params.bias)
    report = rank_report(geometry, params.weights)
    report["image"] = loaded.source
    report["activation"] = params.activation
    if params.activation == "leaky_relu":
        report["leaky_slope"] = params.leaky_slope
    if args.save_matrix is not None:
        report["matrix"] = str(
            _save_matrix(args.save_matrix, geometry, params.weights, args.overwrite)
        )
    print(json.dumps(report) if args.json else "\n".join(_lines(report, geometry, params)))
    return 0


def _shape(values: Sequence[int]) -> str:
    return "×".join(map(str, values))


def _lines(report: dict[str, Any], geometry: Any, params: Any) -> list[str]:
    """The report as ``info`` prints it: one fact a line, each with where it comes from."""
    eq, unk = report["equations"], report["unknowns"]
    lines = [
        f"image      {report['image']}: {_shape(geometry.input_shape)}",
        _filter_line(geometry),
        f"output     {_shape(geometry.output_shape)}",
        f"equations  {eq:,} (H_out·W_out·C_out)",
        f"unknowns   {unk:,} (H·W·C_in)",
        *_rank_lines(report),
    ]
    if params.activation != "none":
        lines.append(_activation_line(params.activation, params.leaky_slope))
    if "matrix" in report:
        lines.append(f"matrix     {report['matrix']} (scipy.sparse.load_npz; rows y, columns x)")
    return lines


def _filter_line(geometry: Any) -> str:
    """The filter's shape and the layer's hyper-parameters, on one line."""
    return (
        f"filter     {_shape(geometry.filter_shape)} "
        f"(f_h×f_w×C_in{'/groups' if geometry.groups != 1 else ''}×C_out) · stride "
        f"{_shape(geometry.stride)} · padding {_padding_words(geometry)} "
        f"({geometry.padding_mode}) · dilation "
        f"{_shape(geometry.dilation)}"
        + (f" · groups {geometry.groups}" if geometry.groups != 1 else "")
        + (" · true convolution (flipped kernel)" if geometry.flip else "")
        + (
            f" · transposed conv (ConvTranspose2d), output_padding {geometry.output_padding}"
            if getattr(geometry, "kind", "conv") == "conv_transpose"
            else ""
        )
    )


def _rank_lines(report: dict[str, Any]) -> list[str]:
    """Rank and nullity: exact, or the bounds when the dense matrix would be too large."""
    from ..core import DENSE_COLUMN_LIMIT, DENSE_ENTRY_LIMIT

    eq, unk = report["equations"], report["unknowns"]
    if report["exact"]:
        return [
            f"rank       {report['rank']:,} (exact: numpy.linalg.matrix_rank of the dense "
            f"{eq:,}×{unk:,} matrix)",
            f"nullity    {report['nullity']:,} (exact: unknowns − rank)",
        ]
    return [
        f"rank       ≤ {report['rank_at_most']:,} (bound: rank ≤ equations; exact only "
        f"up to {DENSE_COLUMN_LIMIT:,} unknowns and {DENSE_ENTRY_LIMIT:,} matrix entries)",
        f"nullity    ≥ {report['nullity_at_least']:,} (bound: nullity ≥ unknowns − equations)",
    ]


def _activation_line(activation: str, leaky_slope: float) -> str:
    """What the activation after the layer adds to what ``A`` loses."""
    slope = f" (slope {leaky_slope:g})" if activation == "leaky_relu" else ""
    if activation == "relu":
        return (
            f"activation {activation}{slope} after the layer: rank and nullity are A's; "
            "at an image the ReLU's zeros free more directions (run --methods relu_preimage)"
        )
    return (
        f"activation {activation}{slope} after the layer: invertible, it loses nothing more than A"
    )


def _save_matrix(path: Path, geometry, weights: np.ndarray, overwrite: bool) -> Path:
    """Write ``A`` as a CSR ``.npz`` (``.npz`` added when missing, all or nothing, an
    existing file kept without ``overwrite``) and return the path."""
    from scipy import sparse

    from ..core import ConvOperator

    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
    matrix = ConvOperator(geometry, weights, dtype=np.float64).to_sparse()
    buffer = io.BytesIO()
    sparse.save_npz(buffer, matrix)
    return write_output("--save-matrix", path, buffer.getvalue(), overwrite=overwrite)
