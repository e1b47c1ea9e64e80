"""A block-Jacobi preconditioner for ``J Jᵀ`` of a network prefix: its exact diagonal blocks.

The symbol preconditioner (:mod:`.precondition`) is stationary: it sees the last
convolution and takes everything before it (the ReLU masks, the earlier convolutions) as
a multiple of the identity. The masks are what make ``J`` ill-conditioned: on the guide's
three-conv net at 32² (``scripts/make_network_model.py``), ``κ(J)`` is 119 without its
ReLUs and 1739 with them, and the symbol brings ``κ(J Jᵀ)`` only from 3.0·10⁶ to 1.3·10⁶.
Inverting ``J Jᵀ``'s own ``C_out × C_out`` block at each output pixel (the units that
share a position) follows the masks: 2.6·10⁴ there (dense eigenvalues), and 19 instead of
35 on the benchmark's random three-conv net. At 128² it reaches a relative residual of
10⁻⁴ in 385 iterations where the symbol had not in 700.

The blocks are found by probing: output units whose receptive fields do not overlap have
orthogonal rows of ``J``, so ``J Jᵀ`` applied to a lattice of unit impulses of one channel,
spaced by the receptive field over its jump, gives one column of every block of the
lattice at once (reflected or replicated borders widen the spacing; a circular one on the
network's input keeps the lattice clear of its seam, one deeper leaves no blocks). That
costs :func:`probe_count` products with ``J Jᵀ``, as many as CG
iterations: worth it on a hard prefix (hundreds of iterations), not on an easy one
(:mod:`.solve` first runs the symbol preconditioner for that many iterations, and only
then builds this one). Where receptive fields are understated (a transposed convolution)
a block gathers some of its neighbours' products too; symmetrised, with its eigenvalues'
magnitudes floored, it is still symmetric positive definite, so ``J⁺`` is unchanged and only
the speed suffers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..solvers.base import SolveCancelled, is_cancelled
from .fields import receptive_field
from .residual import Concat, Fork, flat_layers

__all__ = [
    "BLOCK_FLOOR",
    "MAX_BLOCK_BYTES",
    "MAX_PATCH_UNITS",
    "PATCH_PROBE_SHARE",
    "PATCH_SIDES",
    "BlockJacobi",
    "probe_batch",
    "probe_count",
    "probe_patch",
    "probe_spacing",
]

#: The blocks' eigenvalues are floored at this share of the largest one (a unit whose row
#: of ``J`` vanishes, all of its inputs masked, has a zero block).
BLOCK_FLOOR = 1e-8
#: The blocks' bytes (``H_out W_out C_out² × 8``): more and the preconditioner is skipped.
MAX_BLOCK_BYTES = 256 * 2**20
#: The patches' sides :func:`probe_patch` tries, largest first.
PATCH_SIDES = (4, 2)
#: At most this many units in a patch's block (its ``eigh`` costs their cube).
MAX_PATCH_UNITS = 512
#: A patch's probes at most this many times a pixel's.
PATCH_PROBE_SHARE = 3
#: The bytes of one batch of probes through the network (its largest activation × batch).
_BATCH_BYTES = 64 * 2**20


def probe_spacing(lin: Any) -> tuple[int, int] | None:
    """Output units this far apart (per axis) have disjoint receptive fields; None when no
    spacing is known to make them so.

    A copied border reads pixels again inside the image, which can widen the field (see
    :func:`_border_growth`); the usual "same" padding ``p = (k - 1) / 2`` does not. A
    circular border wraps the image's far side onto the near: the fields are arcs of a
    circle, and the spacing grows until the lattice's first and last units are apart
    across the seam too (:func:`_clear_of_the_seam`). That is exact where the wrap is in
    the network's input coordinates (the circular layers read the input's grid); a
    circular layer behind a stride or a crop wraps a grid whose arcs map back to pieces of
    the input, which this does not follow: None there.

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(8, 8, 1), stride=2)
    >>> probe_spacing(Network([Conv(op)]).linearize(np.zeros((8, 8, 1))))
    (2, 2)
    """
    network = lin.network
    fields = receptive_field(_Layers(_local(network.layers, network.shapes[0])))
    extent = [float(fields[-1].size[0]), float(fields[-1].size[1])]
    jump_in = [(1, 1), *(f.jump for f in fields[:-1])]
    wraps = False
    for layer, jump, shape in zip(network.layers, jump_in, network.shapes[:-1], strict=True):
        if isinstance(layer, Fork) and any(
            _padding_mode(inner) != "zeros" for inner, _ in flat_layers([layer])
        ):
            return None  # a copied border inside a block: not followed (ResNets pad with 0)
        geometry = getattr(getattr(layer, "op", None), "geometry", None)
        if geometry is None or geometry.padding_mode == "zeros":
            continue
        if geometry.padding_mode == "circular":
            if jump != (1, 1) or shape[:2] != network.shapes[0][:2]:
                return None
            wraps = True  # no growth: a window reads each pixel of its arc once
            continue
        for axis in range(2):
            extent[axis] += _border_growth(geometry, axis) * jump[axis]
    jumps = fields[-1].jump
    spacing = [max(1, math.ceil(extent[axis] / max(jumps[axis], 1))) for axis in range(2)]
    if wraps:
        period, count = network.shapes[0], network.shapes[-1]
        spacing = [
            _clear_of_the_seam(spacing[axis], extent[axis], jumps[axis], period[axis], count[axis])
            for axis in range(2)
        ]
    return spacing[0], spacing[1]


class _Layers(NamedTuple):
    """What :func:`receptive_field` reads of a network."""

    layers: list[Any]


def _local(layers: Sequence[Any], shape: Any, made: dict[Any, Any] | None = None) -> list[Any]:
    """``layers`` without a product's gates: the branches that give ``1×1×C`` (a
    squeeze-excitation's global mean) while the product is wider.

    Through a gate every output unit sees the whole image, so its receptive field would
    leave one probe per unit: the blocks would cost as much as the whole ``J Jᵀ``. A gate
    adds a term of rank at most its channels to ``J``; the blocks probed without it in the
    spacing gather the gate's share of their lattice's other units as well, still
    symmetric positive definite after :class:`BlockJacobi`'s floor, and CG takes the rest
    in a few iterations more per channel. A block met again at the same input (``made``:
    those already seen) is the one made for it, so the blocks that share it (DenseNet's
    stacks) share it still and its graph is walked once (:mod:`.dag`).
    """
    made = {} if made is None else made
    local = []
    for layer in layers:
        key = (id(layer), tuple(shape))
        if not isinstance(layer, Fork):
            out = layer.output_shape(shape)
        elif key in made:
            layer, out = made[key][1], made[key][2]
        else:
            out = layer.output_shape(shape)
            kept = [
                _local(branch, shape, made)
                for branch, end in zip(layer.branches, layer.branch_shapes(shape), strict=True)
                if not (layer.join == "mul" and tuple(end[:2]) != tuple(out[:2]))
            ]
            # the fields' union of what is left (the block kept too: its id stays its own)
            made[key] = (layer, Concat(kept, name=layer.name), out)
            layer = made[key][1]
        local.append(layer)
        shape = out
    return local


def _padding_mode(layer: Any) -> str:
    geometry = getattr(getattr(layer, "op", None), "geometry", None)
    return "zeros" if geometry is None else str(geometry.padding_mode)


def _clear_of_the_seam(spacing: int, extent: float, jump: int, period: int, count: int) -> int:
    """The least spacing from ``spacing`` on whose lattice of ``count`` output units every
    two units' arcs of ``extent`` input pixels (``jump`` apart per unit) are disjoint on a
    circle of ``period`` pixels: ``count`` (one unit per phase) at the latest.

    >>> _clear_of_the_seam(3, 3.0, 1, 10, 10)  # 0 and 9 meet across the seam; 0, 5 do not
    5
    """
    for candidate in range(spacing, count):
        distances = (np.arange(1, -(-count // candidate)) * candidate * jump) % period
        if np.minimum(distances, period - distances).min(initial=period) >= extent:
            return candidate
    return max(spacing, count)


def _border_growth(geometry: Any, axis: int) -> int:
    """How far a copied border widens one layer's receptive field along ``axis`` (in its
    input's pixels).

    A window of extent ``k`` reaching ``p`` into a reflected border reads up to ``p``
    pixels in: past its own end when ``2p + 1 > k``, by ``2p + 1 - k``. A replicated border
    reads the edge pixel, past the window only when it lies wholly in a border ``p ≥ k``:
    by ``p + 1 - k``. Both borders' growths count: a unit near one border grows towards a
    unit near the other (directly on a small image, or through another layer's growth).
    """
    kernel = geometry.dilation[axis] * (geometry.filter_shape[axis] - 1) + 1
    reach = 2 if geometry.padding_mode == "reflect" else 1
    return sum(max(0, reach * p + 1 - kernel) for p in geometry.pads[axis])


def probe_count(lin: Any, patch: int = 1) -> int:
    """The products with ``J Jᵀ`` the blocks of ``patch × patch`` output pixels cost
    (lattice phases × output channels), or 0 when there are none to build: their bytes
    past :data:`MAX_BLOCK_BYTES`, or no spacing (:func:`probe_spacing`)."""
    h, w, c = lin.output_shape
    spacing = probe_spacing(lin)
    if spacing is None or _block_bytes(lin.output_shape, patch) > MAX_BLOCK_BYTES:
        return 0
    s_h, s_w = _lattice(spacing, patch)
    return min(s_h, h) * min(s_w, w) * c


def probe_patch(lin: Any) -> int:
    """The side of the blocks' patches of output pixels: the largest of
    :data:`PATCH_SIDES` whose blocks hold at most :data:`MAX_PATCH_UNITS` units and whose
    probes cost at most :data:`PATCH_PROBE_SHARE` times a pixel's blocks' (1: none).

    A pixel's blocks leave the coupling of neighbouring pixels to CG, and deep in a
    network that is what is slow: on the ResNet benchmark's prefix through layer2.conv1 at
    128² (16×16×32 out, spacing 5), blocks of one pixel (800 probes) leave a relative
    residual of 2·10⁻⁴ after 3000 iterations, of 2×2 pixels (1152) 3·10⁻⁵, of 4×4 (2048)
    converge to 10⁻⁶ in 2419. A coarse correction (per channel, 4×4 pixel aggregates)
    changed nothing there: the slow modes are local, not smooth.
    """
    h, w, c = lin.output_shape
    spacing = probe_spacing(lin)
    if spacing is None or _wraps(lin.network):
        return 1  # a lattice clear of a circular seam is found for single pixels only
    single = probe_count(lin)
    for side in PATCH_SIDES:
        if side * side * c > MAX_PATCH_UNITS or side > min(h, w):
            continue
        count = probe_count(lin, side)
        if 0 < count <= PATCH_PROBE_SHARE * single:
            return side
    return 1


def _lattice(spacing: tuple[int, int], patch: int) -> tuple[int, int]:
    """The probes' spacing for blocks of ``patch`` pixels a side: a multiple of ``patch``
    at which a probe is ``spacing`` away from every other probe's patch."""
    return (
        -(-(spacing[0] + patch - 1) // patch) * patch,
        -(-(spacing[1] + patch - 1) // patch) * patch,
    )


def _block_bytes(shape: tuple[int, int, int], patch: int) -> int:
    h, w, c = shape
    return -(-h // patch) * -(-w // patch) * (patch * patch * c) ** 2 * 8


def _wraps(network: Any) -> bool:
    """Whether a layer of ``network`` (its blocks' branches too) has a circular border."""
    return any(_padding_mode(layer) == "circular" for layer, _ in flat_layers(network.layers))


class BlockJacobi:
    """``r ↦ B⁻¹ r`` with ``B`` the diagonal blocks of ``J Jᵀ + reg I``: ``C_out × C_out``
    at each output pixel, or ``p² C_out`` square for each patch of ``p × p`` pixels.

    Parameters
    ----------
    lin : Linearization
        ``J`` at the image (typed loosely: :mod:`.chain` calls this module).
    reg : float
        The solve's Tikhonov weight (added to the blocks' diagonals).
    cancel : callable or threading.Event, optional
        Checked between batches of probes (:class:`SolveCancelled`).
    patch : int
        ``p``, the patches' side in output pixels (:func:`probe_patch` chooses it).

    Examples
    --------
    A single 1×1 convolution's ``J Jᵀ`` is its blocks: one application solves it.

    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network
    >>> w = np.random.default_rng(0).standard_normal((1, 1, 3, 2))
    >>> lin = Network([Conv(ConvOperator.from_weights(w, input_shape=(4, 4, 3)))]).linearize(
    ...     np.zeros((4, 4, 3)))
    >>> r = np.random.default_rng(1).standard_normal((4, 4, 2))
    >>> bool(np.allclose(lin.apply(lin.apply_adjoint(BlockJacobi(lin)(r))), r))
    True
    """

    label = "block-Jacobi"

    def __init__(self, lin: Any, reg: float = 0.0, cancel: Any = None, patch: int = 1) -> None:
        if isinstance(patch, bool) or int(patch) != patch or patch < 1:
            raise ValueError(f"patch must be an int >= 1, got {patch!r}")
        self.patch, self.shape = int(patch), tuple(lin.output_shape)
        blocks = _blocks(lin, cancel, self.patch)
        blocks += np.swapaxes(blocks, -1, -2)
        blocks *= 0.5
        c = blocks.shape[-1]
        blocks[..., np.arange(c), np.arange(c)] += reg
        values, vectors = np.linalg.eigh(blocks)
        # a block that gathered a neighbour's products may be indefinite: its eigenvalues'
        # magnitudes keep it symmetric positive definite and of the right scale
        values = np.abs(values)
        top = float(values.max(initial=0.0))
        values = np.maximum(values, BLOCK_FLOOR * top if top > 0 else 1.0)
        self.inverse = np.matmul(vectors / values[..., None, :], np.swapaxes(vectors, -1, -2))

    def __call__(self, residual: np.ndarray) -> np.ndarray:
        """Apply it to an output-space array ``(H_out, W_out, C_out)``."""
        if self.patch == 1:
            return np.matmul(self.inverse, residual[..., None])[..., 0]
        patches = _to_patches(residual, self.patch)
        out = np.matmul(self.inverse, patches[..., None])[..., 0]
        return _from_patches(out, self.patch, self.shape)


def _to_patches(arr: np.ndarray, p: int) -> np.ndarray:
    """``(H, W, C)`` → ``(⌈H/p⌉, ⌈W/p⌉, p·p·C)``, zeros past the edges."""
    h, w, c = arr.shape
    hp, wp = -(-h // p), -(-w // p)
    padded = np.zeros((hp * p, wp * p, c))
    padded[:h, :w] = arr
    return padded.reshape(hp, p, wp, p, c).transpose(0, 2, 1, 3, 4).reshape(hp, wp, p * p * c)


def _from_patches(arr: np.ndarray, p: int, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`_to_patches`."""
    h, w, c = shape
    hp, wp = arr.shape[:2]
    full = arr.reshape(hp, wp, p, p, c).transpose(0, 2, 1, 3, 4).reshape(hp * p, wp * p, c)
    return np.ascontiguousarray(full[:h, :w])


def probe_batch(lin: Any, count: int) -> int:
    """How many probes go through the network at once (at most ``count``): their largest
    activation's bytes within :data:`_BATCH_BYTES`."""
    largest = max(math.prod(shape) for shape in lin.network.shapes)
    return max(1, min(count, _BATCH_BYTES // (8 * largest)))


def _blocks(lin: Any, cancel: Any, patch: int = 1) -> np.ndarray:
    """``J Jᵀ``'s diagonal blocks ``(⌈H_out/p⌉, ⌈W_out/p⌉, p²C_out, p²C_out)`` by probing
    (units in a patch in row-major order, then the channel); a unit past the edge (a patch
    that sticks out) has 1 on its diagonal and 0 elsewhere, and is never used."""
    h, w, c = lin.output_shape
    spacing = probe_spacing(lin) or (h, w)  # (h, w): every unit on its own
    s_h, s_w = _lattice(spacing, patch)
    hp, wp = -(-h // patch), -(-w // patch)
    batch = probe_batch(lin, c)
    blocks = np.zeros((hp, wp, patch, patch, c, patch, patch, c))
    for a in range(min(s_h, h)):
        for b in range(min(s_w, w)):
            for start in range(0, c, batch):
                if is_cancelled(cancel):
                    raise SolveCancelled("the preconditioner's set-up was cancelled")
                channels = np.arange(start, min(start + batch, c))
                probes = np.zeros((len(channels), h, w, c))
                probes[np.arange(len(channels)), a::s_h, b::s_w, channels] = 1.0
                columns = lin.apply(lin.apply_adjoint(probes))
                # a probe's column on its own patch: the lattice's probes all sit at
                # (a mod p, b mod p) of theirs, one patch in s/p
                cells = np.stack([_to_patches(col, patch) for col in columns], axis=-1)
                cells = cells[a // patch :: s_h // patch, b // patch :: s_w // patch]
                blocks[a // patch :: s_h // patch, b // patch :: s_w // patch][
                    ..., a % patch, b % patch, channels
                ] = cells.reshape(*cells.shape[:2], patch, patch, c, len(channels))
    m = patch * patch * c
    blocks = blocks.reshape(hp, wp, m, m)
    outside = _to_patches(np.ones((h, w, c)), patch) == 0
    if outside.any():  # of the blocks' scale: the floor is a share of their top
        top = float(np.diagonal(blocks, axis1=-2, axis2=-1).max(initial=0.0))
        blocks[..., np.arange(m), np.arange(m)] += outside * (top if top > 0 else 1.0)
    return blocks
