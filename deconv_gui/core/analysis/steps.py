"""Step-by-step models of the convolution and of its transpose, for animations.

One :class:`Step` per frame says which cells a window covers, which weights it uses,
their products and the cell it fills; :class:`StepAnimation` holds the problem and
produces the steps of one of three views:

``forward``
    The dilated window slides over the zero-padded input; each step is one output
    value ``y[h, w, o]``, the sum of the products over every input channel (row
    ``k`` of ``A``).
``scatter``
    The transposed convolution as scatter: each step takes one output value
    ``y[h, w, o]``, multiplies the kernel ``w[:, :, :, o]`` by it and adds the block
    into the (padded) result; overlaps accumulate, and the final crop is ``Aᵀy``.
``zero-insertion``
    The same ``Aᵀy`` as a stride-1 correlation: ``y`` is spread out with
    ``stride − 1`` zeros between its values, padded by ``dilation·(f − 1) − padding``
    (plus, at the bottom and right, the input rows and columns that the forward pass
    never reads: PyTorch's ``output_padding``), and correlated with the flipped,
    channel-transposed kernel; each step fills one result pixel (all channels).

Padding modes other than ``"zeros"`` copy image values into the border
(:mod:`~deconv_gui.core.padding`): the forward window reads the copies, the scatter
canvas is folded back (each border cell added onto the pixel it copied), and zero
insertion runs on the padded grid (no padding of its own) and is folded the same way.
Grouped and flipped filters are shown as their dense ``(f_h, f_w, C_in, C_out)``
filter, which is the same ``A``.

Only numpy: the views are computed here by literal index arithmetic, independent of
:func:`~deconv_gui.core.conv2d_transpose`, which the tests compare them with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from ..arguments import frame_index
from ..choices import check_choice
from ..geometry import ConvGeometry, as_float_array, weights_for
from ..groups import dense_filter
from ..padding import fold, pad, padded_index

__all__ = ["ANIMATION_MODES", "MAX_STEPS", "Step", "StepAnimation"]

#: The views an animation can show, in menu order.
ANIMATION_MODES: tuple[str, ...] = ("forward", "scatter", "zero-insertion")
#: The largest number of steps an animation is built for (one per output position).
MAX_STEPS = 4096


@dataclass(frozen=True)
class Step:
    """One frame of a :class:`StepAnimation`.

    Attributes
    ----------
    index : int
        The step number ``k`` (the row of ``A`` for ``forward`` and ``scatter``).
    pixel : (int, int)
        The cell the step is about: the output ``(h, w)`` computed (``forward``) or
        spread (``scatter``); the result pixel ``(r, c)`` filled (``zero-insertion``).
    channel : int or None
        The output channel ``o`` (``forward``, ``scatter``); None for
        ``zero-insertion``, whose steps fill every input channel at once.
    origin : (int, int)
        The window's top-left cell in :attr:`StepAnimation.grid`'s coordinates; tap
        ``(i, j)`` covers cell ``origin + dilation · (i, j)``.
    kernel : numpy.ndarray
        The weights at the taps: ``w[:, :, :, o]`` ``(f_h, f_w, C_in)``, or for
        ``zero-insertion`` the flipped kernel ``w[::-1, ::-1]`` ``(f_h, f_w, C_in, C_out)``.
    values : numpy.ndarray
        The grid under the window: the padded input ``(f_h, f_w, C_in)``
        (``forward``), the value ``y[h, w, o]`` as a 0-d array (``scatter``), the
        zero-inserted ``y`` ``(f_h, f_w, C_out)`` (``zero-insertion``).
    products : numpy.ndarray
        ``kernel · values``: the terms summed (``forward``: ``(f_h, f_w, C_in)``;
        ``zero-insertion``: ``(f_h, f_w, C_in, C_out)``) or the block added
        (``scatter``: ``(f_h, f_w, C_in)``).
    result : numpy.ndarray
        The value(s) written: ``y[h, w, o]`` (0-d; for ``scatter`` the value spread)
        or ``(Aᵀy)[r, c, :]`` ``(C_in,)``.
    canvas : numpy.ndarray
        The result so far: ``y`` (``forward``) or ``Aᵀy`` (``zero-insertion``) with NaN
        where not yet computed, or the padded accumulation (``scatter``).
    """

    index: int
    pixel: tuple[int, int]
    channel: int | None
    origin: tuple[int, int]
    kernel: np.ndarray
    values: np.ndarray
    products: np.ndarray
    result: np.ndarray
    canvas: np.ndarray


def _pad_or_crop(
    array: np.ndarray, before: tuple[int, int], after: tuple[int, int], fill: float = 0
) -> np.ndarray:
    """Pad the first two axes with ``fill``, or crop them where an amount is negative."""
    widths = [(max(before[a], 0), max(after[a], 0)) for a in (0, 1)]
    out = np.pad(array, [*widths, (0, 0)], constant_values=fill)
    h, w = out.shape[:2]
    return out[
        max(-before[0], 0) : h - max(-after[0], 0), max(-before[1], 0) : w - max(-after[1], 0)
    ]


class StepAnimation:
    """The steps of one view of ``A`` or ``Aᵀ`` on a given image.

    Parameters
    ----------
    geometry : ConvGeometry
        Shapes, stride, padding, dilation, padding mode, groups and flip.
    weights : array_like
        The filter ``(f_h, f_w, C_in, C_out)`` matching ``geometry``.
    image : array_like
        ``(H, W, C_in)``; ``y = A x`` is what the transposed views start from.
    mode : str
        One of :data:`ANIMATION_MODES`.

    Raises
    ------
    ValueError
        Naming ``mode``, ``weights`` or ``image``, or ``geometry`` when it would need
        more than :data:`MAX_STEPS` steps.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvGeometry, StepAnimation
    >>> geometry = ConvGeometry((4, 4, 1), (2, 2, 1), stride=2)
    >>> anim = StepAnimation(geometry, np.ones((2, 2, 1, 1)), np.arange(16.0).reshape(4, 4, 1))
    >>> len(anim), float(anim.step(1).result), anim.step(1).origin
    (4, 18.0, (0, 2))
    """

    def __init__(self, geometry: ConvGeometry, weights: Any, image: Any, mode: str = "forward"):
        check_choice("mode", mode, ANIMATION_MODES)
        w = weights_for(geometry, weights).astype(np.float64)
        # groups and flip are a rewrite of the filter: show the dense one, the same A
        w = dense_filter(w, geometry.groups, geometry.flip)
        geometry = geometry.dense()
        x = as_float_array(image, "image").astype(np.float64)
        if x.shape != geometry.input_shape:
            raise ValueError(
                f"image must have shape {geometry.input_shape} (geometry.input_shape), "
                f"got {x.shape}"
            )
        self.geometry, self.weights, self.image, self.mode = geometry, w, x, mode
        # zero insertion with copied borders runs on the padded image, then folds
        zeros = geometry.padding_mode == "zeros"
        self._zgeom = geometry if zeros else geometry.unpadded()
        n = len(self)
        if n > MAX_STEPS:
            raise ValueError(
                f"geometry: the {mode} animation would have {n:,} steps, more than "
                f"{MAX_STEPS:,}; animate a smaller image or a crop (input_shape "
                f"{geometry.input_shape})"
            )
        self.padded_input = pad(x[np.newaxis], geometry.pads, geometry.padding_mode)[0]
        self._scatter_cache: tuple[int, np.ndarray] | None = None
        self.output = self._forward()
        self.zero_inserted, self.inserted = self._zero_insert()

    # -- the grids --------------------------------------------------------------------
    @property
    def grid(self) -> np.ndarray:
        """The grid the window slides over (``(H_g, W_g, C)``).

        ``forward``: the padded input; ``scatter``: the padded result canvas (its final
        state); ``zero-insertion``: ``y`` spread out and padded.
        """
        if self.mode == "forward":
            return self.padded_input
        if self.mode == "scatter":
            return self._scatter_canvas(len(self))
        return self.zero_inserted

    @property
    def structural_zeros(self) -> np.ndarray:
        """``(H_g, W_g)`` codes of :attr:`grid`: 0 a value, 1 padding, 2 an inserted zero."""
        if self.mode == "zero-insertion":
            return self.inserted
        codes = np.ones(self.padded_input.shape[:2], dtype=np.int8)
        (ph, pw), (h, w, _) = self.geometry.padding, self.geometry.input_shape
        codes[ph : ph + h, pw : pw + w] = 0
        return codes

    def window_counts(self) -> np.ndarray:
        """``(H_p, W_p)``: how many windows cover each padded cell (uneven: the checkerboard)."""
        g = self.geometry
        counts = np.zeros(self.padded_input.shape[:2], dtype=np.int64)
        for h, w in np.ndindex(*g.output_shape[:2]):
            self._window(counts[:, :, np.newaxis], (h * g.stride[0], w * g.stride[1]))[...] += 1
        return counts

    def padding_source(self) -> tuple[np.ndarray, np.ndarray]:
        """The image row (column) each row (column) of the padded input copies (-1: zero).

        Identity inside the image; in the border, what the padding mode copies.
        """
        g = self.geometry
        (h, w, _), (rows, cols), mode = g.input_shape, g.pads, g.padding_mode
        return padded_index(h, rows, mode), padded_index(w, cols, mode)

    @property
    def folds(self) -> bool:
        """Whether a transposed view ends by folding a padded grid back onto the image."""
        g = self.geometry
        return g.padding_mode != "zeros" and g.padded_shape != g.input_shape

    def transposed(self) -> np.ndarray:
        """``Aᵀy`` as this view computes it (scatter: the folded canvas; else zero insertion)."""
        g = self.geometry
        if self.mode == "scatter":
            canvas = self._scatter_canvas(len(self))
        else:
            canvas = self._flipped_result
            if g.padding_mode == "zeros":
                return canvas.copy()
        return fold(canvas[np.newaxis], g.pads, g.padding_mode)[0]

    def __len__(self) -> int:
        if self.mode == "zero-insertion":
            h, w, _ = self._zgeom.input_shape
            return h * w
        h_out, w_out, c_out = self.geometry.output_shape
        return h_out * w_out * c_out

    def __iter__(self) -> Iterator[Step]:
        if self.mode != "scatter":
            yield from (self.step(k) for k in range(len(self)))
            return
        canvas = np.zeros(self.padded_input.shape)
        for k in range(len(self)):  # one running sum, not one per step
            step = self._step(k, canvas)
            block = self._window(canvas, step.origin)
            block += step.products
            yield replace(step, canvas=canvas.copy())

    # -- one step ---------------------------------------------------------------------
    def step(self, k: int) -> Step:
        """Step ``k`` (``0 ≤ k < len(self)``), in row-major order of its cell.

        Raises
        ------
        ValueError
            Naming ``k`` when it is out of range.
        """
        return self._step(frame_index(k, len(self)), None)

    def _step(self, k: int, scatter_canvas: np.ndarray | None) -> Step:
        g = self.geometry
        if self.mode == "zero-insertion":
            r, c = divmod(k, self._zgeom.input_shape[1])
            kernel = self.weights[::-1, ::-1]
            values = self._window(self.zero_inserted, (r, c))
            products = kernel * values[:, :, np.newaxis, :]
            result = self._flipped_result[r, c]
            canvas = self._filled(self._flipped_result, (k + 1) * g.input_shape[2])
            return Step(k, (r, c), None, (r, c), kernel, values, products, result, canvas)
        (h, w, o) = np.unravel_index(k, g.output_shape)
        origin = (int(h) * g.stride[0], int(w) * g.stride[1])
        kernel = self.weights[:, :, :, o]
        value = self.output[h, w, o]
        if self.mode == "forward":
            values = self._window(self.padded_input, origin)
            canvas = self._filled(self.output, k + 1)
        else:
            values = np.asarray(value)
            canvas = self._scatter_canvas(k + 1) if scatter_canvas is None else scatter_canvas
        return Step(
            k, (int(h), int(w)), int(o), origin, kernel, values, kernel * values,
            np.asarray(value), canvas,
        )  # fmt: skip

    def input_cells(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, cols, tap_rows, tap_cols)`` of step ``k``'s window inside the image.

        For ``forward`` and ``scatter``: the input pixels read (or written) by output
        ``k``, as :func:`~deconv_gui.core.receptive_field` lists them; with a padding
        mode that copies, a tap in the border gives the pixel it copies (a pixel may
        then appear twice). For ``zero-insertion``: the outputs ``(h, w)`` whose values
        are under the window (not inserted zeros nor padding), with the forward tap
        linking them to pixel ``k`` (of the padded image when the view folds), as
        :func:`~deconv_gui.core.touching_outputs` lists them.
        """
        step, g = self.step(k), self.geometry
        fh, fw = g.filter_shape[:2]
        ti, tj = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        rows = step.origin[0] + g.dilation[0] * ti
        cols = step.origin[1] + g.dilation[1] * tj
        if self.mode == "zero-insertion":
            keep = self.inserted[rows, cols] == 0
            lo = self._zero_insertion_pad()[0]
            out_r = (rows[keep] - lo[0]) // g.stride[0]
            out_c = (cols[keep] - lo[1]) // g.stride[1]
            # the window's tap (i, j) carries the forward tap (f − 1 − i, f − 1 − j)
            return out_r, out_c, fh - 1 - ti[keep], fw - 1 - tj[keep]
        source_rows, source_cols = self.padding_source()
        rows, cols = source_rows[rows], source_cols[cols]
        keep = (rows >= 0) & (cols >= 0)
        return rows[keep], cols[keep], ti[keep], tj[keep]

    # -- the computations, by index arithmetic ----------------------------------------
    def _window(self, grid: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        g = self.geometry
        fh, fw = g.filter_shape[:2]
        (dh, dw) = g.dilation
        return grid[origin[0] : origin[0] + dh * (fh - 1) + 1 : dh,
                    origin[1] : origin[1] + dw * (fw - 1) + 1 : dw]  # fmt: skip

    def _forward(self) -> np.ndarray:
        g = self.geometry
        out = np.empty(g.output_shape)
        for h, w in np.ndindex(*g.output_shape[:2]):
            patch = self._window(self.padded_input, (h * g.stride[0], w * g.stride[1]))
            out[h, w] = np.tensordot(patch, self.weights, axes=3)
        return out

    @staticmethod
    def _filled(full: np.ndarray, count: int) -> np.ndarray:
        """``full`` with NaN after its first ``count`` values (row-major)."""
        canvas = np.full(full.shape, np.nan)
        canvas.reshape(-1)[:count] = full.reshape(-1)[:count]
        return canvas

    def _scatter_canvas(self, n_steps: int) -> np.ndarray:
        """The padded result after the first ``n_steps`` outputs were spread.

        Scrubbing forward continues from the last canvas asked for, so playing the
        animation costs one block per step, not a sum from the start.
        """
        g = self.geometry
        done, canvas = 0, np.zeros(self.padded_input.shape)
        cache = self._scatter_cache  # read once: a drawing thread may replace it
        if cache is not None and cache[0] <= n_steps:
            done, canvas = cache[0], cache[1].copy()
        fh, fw = g.filter_shape[:2]
        (dh, dw) = g.dilation
        for k in range(done, n_steps):
            h, w, o = np.unravel_index(k, g.output_shape)
            r0, c0 = h * g.stride[0], w * g.stride[1]
            block = canvas[r0 : r0 + dh * (fh - 1) + 1 : dh, c0 : c0 + dw * (fw - 1) + 1 : dw]
            block += self.output[h, w, o] * self.weights[:, :, :, o]
        self._scatter_cache = (n_steps, canvas.copy())
        return canvas

    def _zero_insertion_pad(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Rows and columns added before and after the spread ``y`` (negative: cropped).

        Before: ``d (f − 1) − p``. After: the same plus ``output_padding``, the input
        rows (columns) past the last one the forward pass reads.
        """
        g = self._zgeom
        before, after = [], []
        for a in (0, 1):
            n_out, f = g.output_shape[a], g.filter_shape[a]
            span = (n_out - 1) * g.stride[a] + 1
            before.append(g.dilation[a] * (f - 1) - g.padding[a])
            after.append(g.input_shape[a] + g.dilation[a] * (f - 1) - before[a] - span)
        return (before[0], before[1]), (after[0], after[1])

    def _zero_insert(self) -> tuple[np.ndarray, np.ndarray]:
        """The spread and padded ``y``, and its codes (0 value, 1 padding, 2 inserted)."""
        g = self._zgeom
        h_out, w_out, c_out = g.output_shape
        (sh, sw) = g.stride
        spread = np.zeros(((h_out - 1) * sh + 1, (w_out - 1) * sw + 1, c_out))
        spread[::sh, ::sw] = self.output
        codes = np.full((*spread.shape[:2], 1), 2, dtype=np.int8)
        codes[::sh, ::sw] = 0
        before, after = self._zero_insertion_pad()
        padded_codes = _pad_or_crop(codes, before, after, fill=1)[:, :, 0]
        return _pad_or_crop(spread, before, after), padded_codes

    @cached_property
    def _flipped_result(self) -> np.ndarray:
        return self._correlate_flipped()

    def _correlate_flipped(self) -> np.ndarray:
        g = self._zgeom
        h, w, c_in = g.input_shape
        flipped = self.weights[::-1, ::-1]  # (f_h, f_w, C_in, C_out)
        out = np.empty((h, w, c_in))
        for r, c in np.ndindex(h, w):
            patch = self._window(self.zero_inserted, (r, c))  # (f_h, f_w, C_out)
            out[r, c] = np.einsum("ijo,ijco->c", patch, flipped)
        return out
