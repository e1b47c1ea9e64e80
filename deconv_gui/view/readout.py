"""What the status bar and the metrics table say, as plain text and data (no Qt).

The cursor read-out (the value at the corresponding pixel of every panel), the rows of
the metrics table, and the adjoint badge's text.
"""

from __future__ import annotations

import re

import numpy as np

from ..core import Result, SolverReport, corresponding_pixels, registry
from .display import fmt

__all__ = [
    "ADJOINT_TOLERANCE",
    "adjoint_badge",
    "format_number_or_dash",
    "format_readout",
    "metrics_rows",
    "solve_stop_note",
]

#: The read-out's short names of the image-sized panels it lists (after the input).
_SHORT = {p.name: p.short for p in registry.PANELS if p.scored}


def _values(array: np.ndarray, channel: int = 0) -> str:
    """The values of one pixel: up to four of them, else only ``channel``'s."""
    flat = np.atleast_1d(array)
    if flat.size == 1 or flat.size > 4:
        return fmt(flat[channel if flat.size > 1 else 0])
    return "(" + ", ".join(fmt(v) for v in flat) + ")"


def format_readout(
    result: Result,
    panel: str,
    row: int,
    col: int,
    channel: int = 0,
    tile: int = -1,
    in_channel: int = 0,
) -> str:
    """One line with the value at the corresponding pixel of every panel.

    For example ``x=131 y=87 · input (0.62, 0.41, 0.33) · y[43,65] = 0.48 · Aᵀ (…) · A⁺ (…)``;
    ``x`` is the column and ``y`` the row of the input pixel, ``y[row, col]`` indexes the
    forward output. With several output channels, ``y`` shows up to four of them, else
    only ``channel``. ``tile`` is the channel of the montage tile hovered in ``panel``
    (-1: none): the forward panel's is the ``y`` channel shown, an image-side panel's
    the channel the image-side panels show when they have more than four (named after
    ``x`` and ``y``; ``in_channel`` while the forward panel is hovered). A panel of a
    partial result still computing says so.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import Params, run_pipeline
    >>> x = np.arange(6 * 6 * 8, dtype=float).reshape(6, 6, 8) / 288
    >>> box = np.full((3, 3, 8, 1), 1 / 72)
    >>> result = run_pipeline(x, Params(box, stride=1, padding=1, methods=("transposed",)))
    >>> format_readout(result, "input", 2, 3, tile=5).split("  ·  ")[:2]
    ['x=3 y=2 channel 5', 'input 0.43']
    """
    (r, c), (o_r, o_c) = corresponding_pixels(
        result.geometry, row, col, in_output=panel == "forward"
    )
    if tile >= 0 and panel == "forward":
        channel = tile
    y_values = result.forward_output[o_r, o_c]
    if y_values.size > 4:
        y_text = f"y[{o_r},{o_c},{channel}] = {fmt(y_values[channel])}"
    else:
        y_text = f"y[{o_r},{o_c}] = {_values(y_values)}"
    deep = result.image.shape[2] > 4  # the image side shows one channel of a montage
    side = tile if tile >= 0 and panel != "forward" else in_channel
    side = side if 0 <= side < result.image.shape[2] else 0  # a pick of another layer's
    where = f"x={c} y={r}" + (f" channel {side}" if deep else "")
    parts = [where, f"input {_values(result.image[r, c], side)}", y_text]
    for name, short in _SHORT.items():
        data = getattr(result, name)
        if data is not None:
            parts.append(f"{short} {_values(data[r, c], side)}")
        elif registry.panel(name).method in result.pending:
            parts.append(f"{short} computing…")
    return "  ·  ".join(parts)


#: Relative dot-test mismatch above which the adjoint badge turns red.
ADJOINT_TOLERANCE = 1e-6


def format_number_or_dash(value: object, spec: str) -> str:
    """``value`` formatted with ``spec``; ``–`` for None and ``∞`` for infinity."""
    if value is None:
        return "–"
    value = float(value)  # type: ignore[arg-type]
    if value == float("inf"):
        return "∞"
    return format(value, spec)


def metrics_rows(result: Result) -> list[dict[str, object]]:
    """The table's rows as data: name, psnr, ssim, residual, iterations, seconds, notes.

    Nothing is computed here: every number comes from ``result.metrics`` (the worker
    thread filled it with the core functions) or ``result.timings``. A partial result's
    panels still computing (``result.pending``) get a row whose ``pending`` is True and
    whose figures are None, in the registry's order among the others.
    """
    rows: list[dict[str, object]] = [
        {
            "name": "forward",
            "label": registry.panel("forward").row_label_for(result.params.activation),
            "psnr": None,
            "ssim": None,
            "residual": None,
            "iterations": None,
            "seconds": result.timings.get("forward"),
            "notes": (),
        }
    ]
    scores = result.metrics.reconstructions
    for spec in registry.PANELS:
        if spec.name in scores:
            rows.append(_score_row(result, spec.name))
        elif spec.scored and spec.method in result.pending:
            blank = dict.fromkeys(("psnr", "ssim", "residual", "iterations", "seconds"))
            label = _row_label(result, spec.name)
            rows.append({"name": spec.name, "label": label, **blank, "notes": (), "pending": True})
    return rows


def _row_label(result: Result, name: str) -> str:
    if name == "pinv" and result.params.reg > 0:
        return f"Tikhonov  λ = {fmt(result.params.reg)}"
    return registry.panel(name).row_label_for(result.params.activation)


def _score_row(result: Result, name: str) -> dict[str, object]:
    score = result.metrics.reconstructions[name]
    label, notes = _row_label(result, name), tuple(score.notes)
    if name == "pinv" and result.solver is not None:
        label += f"  [{result.solver.method}]"
        if not result.solver.converged:  # why it stopped short, in the row's tooltip
            notes += (result.solver.message,)
    return {
        "name": name,
        "label": label,
        "psnr": score.psnr,
        "ssim": score.ssim,
        "residual": score.relative_residual,
        "iterations": score.iterations,
        "seconds": score.seconds,
        "notes": notes,
        "converged": score.converged,
    }


def adjoint_badge(value: float | None) -> tuple[str, bool]:
    """The badge text and whether it is good (green) for a dot-test value.

    Examples
    --------
    >>> adjoint_badge(2.3e-17), adjoint_badge(0.0), adjoint_badge(0.02)
    (('adjoint exact  2e-17', True), ('adjoint exact  0', True), ('adjoint MISMATCH  2e-02', False))
    """
    if value is None:
        return "adjoint: not tested", False
    good = bool(value <= ADJOINT_TOLERANCE)
    word = "adjoint exact" if good else "adjoint MISMATCH"
    # short: the badge sits beside the table under narrow panels; the formula is its tooltip;
    # an exact 0 (an integer toy example) reads 0, not "0e+00"
    return f"{word}  {f'{value:.0e}' if value else '0'}", good


def solve_stop_note(report: SolverReport | None, what: str = "pseudo-inverse") -> str:
    """One short line on a solve that stopped short ("" when it converged or is None).

    What stopped it (the time or the iteration limit), the estimated ``κ(A)`` and the
    suggested Tikhonov ``reg``, read from the report's message.

    Examples
    --------
    >>> from deconv_gui.core import SolverReport
    >>> message = ("pcg NOT converged: stopped at the time limit (2 s) before rtol=1e-08; "
    ...     "A is ill-conditioned, estimated κ(A) ≈ 1.0e+04 (σ_max/σ_min of its symbol): "
    ...     "...; try Tikhonov, reg > 0 (e.g. reg = σ_max·σ_min ≈ 1e-04, which caps ...)")
    >>> solve_stop_note(SolverReport("pcg", 12, 1e-3, False, message=message))
    'pseudo-inverse stopped at the time limit (2 s): estimated κ(A) ≈ 1.0e+04; try Tikhonov reg ≈ 1e-04'
    """  # noqa: E501
    if report is None or report.converged:
        return ""
    message = report.message
    stop = re.search(r"stopped at the (?:time|iteration) limit \([^)]*\)", message)
    kappa = re.search(r"estimated κ\(A\) ≈ (\S+)", message)
    reg = re.search(r"reg = [^,;)]*≈ ([^,;) ]+)", message)
    parts = [f"{what} {stop.group(0) if stop else 'did not converge'}"]
    if kappa:
        parts[0] += f": estimated κ(A) ≈ {kappa.group(1)}"
    if reg:
        parts.append(f"try Tikhonov reg ≈ {reg.group(1)}")
    return "; ".join(parts)
