"""What each layer of a prefix can keep: output shape, receptive field, rank and nullity.

At ``x₀`` the prefix up to layer ``k`` is ``J_k = L_k ⋯ L_1`` (each ``L_j`` the layer's
Jacobian there), so ``rank J_k ≤ min(rank J_{k−1}, rank L_k)``: a layer keeps at most
as many directions as it has outputs, a ReLU as many as the units it passes at ``x₀``
(a leaky ReLU passes all of them), another activation as many as its nonzero slopes at
``x₀`` (a hard sigmoid's saturated units have none), a max-pool one per window. A block of branches
(:class:`~.residual.Fork`) is ``B = Σ_b E_b B_b`` whatever its join (``E_b`` places a
branch's output: the identity for a sum, its channels for a concatenation, the product
of the other branches' outputs at ``x₀`` for a product), so ``rank(B J_{k−1}) ≤
Σ_b min(rank(B_b J_{k−1}), rank E_b)``, each branch bounded as the chain is (its ReLUs
by the units they pass) and a product's ``E_b`` by its nonzero entries. The nullity of
``J_k`` is then at least ``unknowns − bound``. On small prefixes the rank is exact
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
from typing import Any

import numpy as np

from . import dag
from .chain import Linearization, receptive_field
from .layers import Layer, Shape
from .residual import Fork, _others
from .smooth import Activation

__all__ = ["EXACT_RANK_ENTRIES", "LayerBounds", "exact_rank", "passed_units", "prefix_bounds"]

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
        For a (leaky) ReLU, the units it passes at ``x₀``; for a block of branches, the
        units its (leaky) ReLUs pass there, each one once (a ReLU that several branches
        share counts once); None for other layers and a block without ReLUs.
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
    passed = passed_units(lin)
    for layer, state, before, shape, field in zip(
        network.layers, lin.states, network.shapes[:-1], network.shapes[1:], fields, strict=True
    ):
        bound = _after(layer, state, before, bound)
        active = passed[id(layer)][0] if id(layer) in passed else None
        out.append(
            LayerBounds(
                layer.name,
                layer.kind,
                (int(shape[0]), int(shape[1]), int(shape[2])),
                int(np.prod(shape)),
                active,
                field.size,
                bound,
                unknowns - bound,
            )
        )
    return out


def _after(layer: Layer, state: Any, shape: Shape, bound: int) -> int:
    """The bound after ``layer`` (inputs of ``shape``, its state at ``x₀``) from the bound
    before it."""
    if isinstance(layer, Fork):
        return _fork_rank(layer, state, shape, bound)
    units = int(np.prod(layer.output_shape(shape)))
    active = _passed(layer, state, units)
    if active is not None:
        bound = min(bound, active)
    elif isinstance(layer, Activation):  # diag(f'(x₀)): as many as its nonzero slopes
        bound = min(bound, int(np.count_nonzero(state)))
    return min(bound, units)


def passed_units(lin: Linearization) -> dict[int, tuple[int, int]]:
    """``(passed, of)`` per (leaky) ReLU of ``lin.network``, by the layer's ``id``: the
    units it passes at ``x₀`` of its units; a top-level ReLU's, each ReLU's inside a
    block, and a block's own (the sums over its ReLUs, each node of its graph once, as a
    plain ReLU's row counts its own). Layers without a ReLU are not keyed. ``info
    --through`` and the dock's list of a model's layers both read it, so their numbers
    are the same.

    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network, ReLU
    >>> op = ConvOperator.from_weights(np.ones((1, 1, 1, 1)), input_shape=(2, 2, 1))
    >>> relu = ReLU()
    >>> lin = Network([Conv(op), relu]).linearize(np.array([[1.0, -1], [2, 0.5]])[..., None])
    >>> passed_units(lin) == {id(relu): (3, 4)}
    True
    """
    out: dict[int, tuple[int, int]] = {}
    network = lin.network
    for layer, state, before in zip(network.layers, lin.states, network.shapes[:-1], strict=True):
        _collect_passed(layer, state, before, out)
    return out


def _collect_passed(
    layer: Layer, state: Any, shape: Shape, out: dict[int, tuple[int, int]]
) -> tuple[int, int] | None:
    """``(passed, of)`` for ``layer`` (a ReLU, or a block of branches) at its state, noted
    in ``out`` (its first count kept: a layer several branches share has one state)."""
    if isinstance(layer, Fork):
        graph, states = layer._dag(state)
        shapes = dag.shapes(graph, shape)
        counts = [  # a nested block's nodes are the graph's own
            _collect_passed(node.layer, states[index], shapes[node.sources[0]], out)
            for index, node in enumerate(graph.nodes[1:], 1)
            if not node.join
        ]
        found = [count for count in counts if count is not None]
        if not found:
            return None
        counted = (sum(c[0] for c in found), sum(c[1] for c in found))
    else:
        units = int(np.prod(layer.output_shape(shape)))
        active = _passed(layer, state, units)
        if active is None:
            return None
        counted = (active, units)
    out.setdefault(id(layer), counted)
    return counted


def _passed(layer: Layer, state: Any, units: int) -> int | None:
    """The units a (leaky) ReLU of ``units`` outputs passes at ``x₀`` (its mask's ones; a
    leaky ReLU's, all), None for another layer."""
    if layer.kind == "relu":
        return int(np.asarray(state).sum())
    return units if layer.kind == "leaky_relu" else None


def _fork_rank(fork: Fork, state: Any, shape: Shape, bound: int) -> int:
    """The bound after a block, each node of its graph once (:mod:`.dag`): a layer's from
    its input's, a join's ``Σ_b`` of its branches' (see the module), a product's branch
    also by the nonzero entries of the other branches' outputs it is multiplied by."""
    graph, states = fork._dag(state)
    shapes = dag.shapes(graph, shape)
    bounds = [bound]
    for index, node in enumerate(graph.nodes[1:], 1):
        if not node.join:
            source = node.sources[0]
            bounds.append(_after(node.layer, states[index], shapes[source], bounds[source]))
            continue
        ranks = [bounds[source] for source in node.sources]
        if node.layer.join == "mul":
            outputs, full = states[index].outputs, shapes[index]
            ranks = [
                min(rank, int(np.count_nonzero(np.broadcast_to(_others(outputs, i), full))))
                for i, rank in enumerate(ranks)
            ]
        units = int(np.prod(shapes[index]))
        bounds.append(min(bounds[node.origin], sum(ranks), units))
    return bounds[-1]


def exact_rank(lin: Linearization) -> int | None:
    """The rank of the dense ``J`` when it has at most :data:`EXACT_RANK_ENTRIES` entries
    (``numpy.linalg.matrix_rank``'s tolerance), else None.

    ``J`` is built from its smaller side: its columns ``J e_j`` (one product per input
    pixel) or, when the output is smaller, its rows ``Jᵀ e_i`` (one per output unit; the
    same singular values). A ResNet-34's prefix at 64² to its 2×2×4 head took 37 s by
    its 12,288 columns, its 16 rows take a fraction of a second.

    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> from deconv_gui.core.network import Conv, Network
    >>> op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(6, 6, 1), stride=3)
    >>> exact_rank(Network([Conv(op)]).linearize(np.zeros((6, 6, 1))))  # 4 rows of 36
    4
    """
    n_in = int(np.prod(lin.input_shape))
    n_out = int(np.prod(lin.output_shape))
    if n_in * n_out > EXACT_RANK_ENTRIES or n_in > 20_000:
        return None
    if n_out >= n_in:
        return int(np.linalg.matrix_rank(lin.to_dense()))
    basis = np.eye(n_out).reshape(n_out, *lin.output_shape)
    return int(np.linalg.matrix_rank(lin.apply_adjoint(basis).reshape(n_out, n_in)))
