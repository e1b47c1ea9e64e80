"""What the "How it is computed" window asks for, and the work done off the GUI thread.

A :class:`StepsRequest` is everything one animation needs (mode, geometry, filter, the
pixels it runs on, the crop they came from); :func:`make_request` builds it from the
result on screen, cropping large images around a pixel. :func:`build_renderer` (the
model and its drawing layout) and :func:`export_animation` (every frame into a file)
are jobs for :class:`~deconv_gui.gui.runner.JobRunner`. No Qt here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core import (
    ConvGeometry,
    PinvAnimation,
    Result,
    SolveCancelled,
    StepAnimation,
    corresponding_pixels,
    crop_window,
)
from ...io.video import FrameRenderer, export_frames, write_animation

__all__ = [
    "CROP_ABOVE",
    "MODES",
    "PINV_FRAMES",
    "TRANSPOSED_LAYER",
    "StepsRequest",
    "build_renderer",
    "export_animation",
    "make_request",
]

#: (mode, label, tooltip) in menu order.
MODES = (
    ("forward", "Forward: y = A x",
     "The dilated window slides over the padded input; each output value is the sum of "
     "the products of the filter and the pixels under it, over all input channels"),
    ("scatter", "Transposed Aᵀy: scatter",
     "Each output value times the filter is added into the result; where windows overlap "
     "the sums pile up (the checkerboard of uneven coverage)"),
    ("zero-insertion", "Transposed Aᵀy: zero insertion",
     "y spread out with stride − 1 zeros between its values, padded, then a stride-1 "
     "correlation with the flipped filter (the conv_arithmetic picture): the same Aᵀy"),
    ("pinv", "Pseudo-inverse A⁺y: solver iterations",
     "The solver of the pseudo-inverse panel, one frame per iteration: it keeps correcting "
     "x_k until A x_k = y, which Aᵀ does not"),
)  # fmt: skip
#: Why a ConvTranspose2d layer has no steps drawn (they follow a Conv2d's window).
TRANSPOSED_LAYER = (
    "The steps are drawn for a Conv2d layer A, and this layer is a ConvTranspose2d B = Aᵀ. "
    "B's forward pass is what 'Transposed Aᵀy: scatter' and 'zero insertion' show for "
    "the Conv2d with the same filter: set the layer kind to conv (Geometry) to watch them."
)
#: Images with a side longer than this are animated on a crop (numbers stay readable).
CROP_ABOVE = 16
#: The most solver iterations the pseudo-inverse mode shows.
PINV_FRAMES = 60


@dataclass(frozen=True)
class StepsRequest:
    """One animation: the mode and the problem it runs on.

    Attributes
    ----------
    mode : str
        ``forward``, ``scatter``, ``zero-insertion`` or ``pinv``.
    geometry : ConvGeometry
        The geometry of ``pixels`` (the crop's when cropped).
    weights : numpy.ndarray
        The filter.
    pixels : numpy.ndarray
        The image or the crop animated.
    crop : (row, col, height, width) or None
        Where ``pixels`` lie in the whole image (None: the whole image).
    full_geometry : ConvGeometry
        The whole image's geometry (for the crop's outline on the output).
    reg : float
        The Tikhonov weight of the pinv panel.
    preconditioned : bool
        The pinv mode's solver uses the FFT preconditioner (as the pinv panel does).
    rtol, max_iter
        The pinv panel's tolerance and iteration limit (at most :data:`PINV_FRAMES`).
    """

    mode: str
    geometry: ConvGeometry
    weights: np.ndarray
    pixels: np.ndarray
    crop: tuple[int, int, int, int] | None
    full_geometry: ConvGeometry
    reg: float = 0.0
    preconditioned: bool = True
    rtol: float = 1e-8
    max_iter: int = PINV_FRAMES

    def describe(self) -> str:
        """Where the animation runs, for the window's header."""
        h, w, _ = self.full_geometry.input_shape
        if self.crop is None:
            return f"the whole {h}×{w} image"
        r0, c0, ch, cw = self.crop
        return (
            f"a {ch}×{cw} crop at ({r0}, {c0}) of the {h}×{w} image (outlined in the panels; "
            "click a pixel to move it). The crop is animated as an image of its own, so its "
            "border is padded"
        )


def inspected_pixel(
    selection: tuple[str, int, int] | None, geometry: ConvGeometry
) -> tuple[int, int] | None:
    """The input pixel of an inspector selection (an output pixel maps to its centre)."""
    if selection is None:
        return None
    panel, row, col = selection
    if panel == "forward":
        return corresponding_pixels(geometry, row, col, in_output=True)[0]
    h, w, _ = geometry.input_shape
    return (row, col) if 0 <= row < h and 0 <= col < w else None


def make_request(
    result: Result,
    mode: str,
    *,
    selection: tuple[str, int, int] | None = None,
    crop_size: int = 8,
    preconditioned: bool = True,
) -> StepsRequest:
    """The animation of ``mode`` on the result's image, cropped when it is large.

    Raises
    ------
    ValueError
        When the crop has no output (a filter larger than the padded crop), or the layer
        is a ConvTranspose2d (:data:`TRANSPOSED_LAYER`).
    """
    if not isinstance(result.geometry, ConvGeometry):
        raise ValueError(TRANSPOSED_LAYER)
    geometry, pixels = result.geometry, np.asarray(result.image)
    h, w, _ = pixels.shape
    crop = None
    if max(h, w) > CROP_ABOVE:
        centre = inspected_pixel(selection, geometry)
        # at least four outputs a side (stride 3 and a dilated filter need more than 8 px)
        crop = crop_window(geometry, centre, crop_size, min_outputs=4)
        r0, c0, ch, cw = crop
        pixels = np.ascontiguousarray(pixels[r0 : r0 + ch, c0 : c0 + cw])
    cropped = result.params.geometry(pixels.shape) if crop is not None else geometry
    return StepsRequest(
        mode,
        cropped,
        result.params.weights,
        pixels,
        crop,
        geometry,
        float(result.params.reg),
        bool(preconditioned),
        float(result.params.rtol),
        min(PINV_FRAMES, result.params.max_iter or PINV_FRAMES),
    )


def build_renderer(
    request: StepsRequest,
    cancel: threading.Event | None = None,
    progress: Callable[[object], None] | None = None,
) -> FrameRenderer:
    """The model of ``request`` and its renderer (a job: the pinv mode runs the solver)."""
    if request.mode == "pinv":
        anim: StepAnimation | PinvAnimation = PinvAnimation(
            request.geometry,
            request.weights,
            request.pixels,
            max_iter=request.max_iter,
            reg=request.reg,
            rtol=request.rtol,
            preconditioned=request.preconditioned,
            cancel=cancel,
            progress=None if progress is None else (lambda it, res: progress((it, res))),
        )
    else:
        anim = StepAnimation(request.geometry, request.weights, request.pixels, request.mode)
    if cancel is not None and cancel.is_set():
        raise SolveCancelled("animation cancelled")
    return FrameRenderer(anim, scale=1.25)


def export_animation(
    request: StepsRequest,
    path: str | Path,
    step_ms: int,
    cancel: threading.Event | None = None,
    progress: Callable[[object], None] | None = None,
) -> tuple[Path, int]:
    """Draw every frame of ``request`` and write them to ``path`` (.gif or .mp4).

    Returns the path and the number of frames. Raises ``ValueError`` with one line
    (too many steps, an unwritable path, MP4 without imageio-ffmpeg).
    """
    renderer = build_renderer(request, cancel)
    frames = []
    total = len(renderer) + 1
    for n, frame in enumerate(export_frames(renderer.anim)):
        if cancel is not None and cancel.is_set():
            raise SolveCancelled("export cancelled")
        frames.append(frame)
        if progress is not None:
            progress((n + 1, total))
    written = write_animation(path, frames, step_ms=step_ms)
    return written, len(frames)
