"""What each layer of a prefix can keep: output shape, receptive field, rank and nullity.

At ``x₀`` the prefix up to layer ``k`` is ``J_k = L_k ⋯ L_1`` (each ``L_j`` the layer's
Jacobian there), so ``rank J_k ≤ min(rank J_{k−1}, rank L_k)``: a layer keeps at most
as many directions as it has outputs, a ReLU as many as the units it passes at ``x₀``
(a leaky ReLU passes all of them), a max-pool one per window. The nullity of ``J_k`` is
then at least ``unknowns − bound``. On small prefixes the rank is exact
(``numpy.linalg.matrix_rank`` of the dense ``J``).

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, Network, ReLU
>>> op = ConvOperator.from_weights(np.ones((3, 3, 1, 2)), input_shape=(8, 8, 1), stride=2)
>>> lin = Network([Conv(op), ReLU()]).linearize(np.ones((8, 8, 1)))
>>> [(b.kind, b.units, b.rank_at_most) for b in prefix_bounds(lin)]
[('conv', 18, 18), ('relu', 18, 18)]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chain import Linearization, receptive_field

__all__ = ["EXACT_RANK_ENTRIES", "LayerBounds", "exact_rank", "prefix_bounds"]

#: The dense J's entries up to which :func:`exact_rank` computes the rank (an SVD).
EXACT_RANK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class LayerBounds:
    """One layer of a prefix at ``x₀``.

    Attributes
    ----------
    name, kind : str
        The layer's name and kind.
    output_shape : (int, int, int)
        ``(H, W, C)`` after the layer.
    units : int
        Its outputs, ``H·W·C``.
    active : int or None
        For a (leaky) ReLU, the units it passes at ``x₀`` (None for other layers).
    receptive_field : (int, int)
        The theoretical receptive field of one unit after the layer, in input pixels.
    rank_at_most : int
        A bound of the rank of the prefix up to this layer.
    nullity_at_least : int
        ``unknowns − rank_at_most``.
    """

    name: str
    kind: str
    output_shape: tuple[int, int, int]
    units: int
    active: int | None
    receptive_field: tuple[int, int]
    rank_at_most: int
    nullity_at_least: int


def prefix_bounds(lin: Linearization) -> list[LayerBounds]:
    """Per layer of ``lin.network``: shape, units, receptive field and the rank bound."""
    network = lin.network
    unknowns = int(np.prod(network.input_shape))
    bound = unknowns
    out = []
    fields = receptive_field(network)
    for layer, state, shape, field in zip(
        network.layers, lin.states, network.shapes[1:], fields, strict=True
    ):
        units = int(np.prod(shape))
        active = None
        if layer.kind in ("relu", "leaky_relu"):
            passed = np.asarray(state)
            active = int(passed.sum()) if layer.kind == "relu" else units
            bound = min(bound, active)
        bound = min(bound, units)
        out.append(
            LayerBounds(
                layer.name,
                layer.kind,
                (int(shape[0]), int(shape[1]), int(shape[2])),
                units,
                active,
                field.size,
                bound,
                unknowns - bound,
            )
        )
    return out


def exact_rank(lin: Linearization) -> int | None:
    """The rank of the dense ``J`` when it has at most :data:`EXACT_RANK_ENTRIES` entries
    (``numpy.linalg.matrix_rank``'s tolerance), else None."""
    n_in = int(np.prod(lin.input_shape))
    n_out = int(np.prod(lin.output_shape))
    if n_in * n_out > EXACT_RANK_ENTRIES or n_in > 20_000:
        return None
    return int(np.linalg.matrix_rank(lin.to_dense()))
