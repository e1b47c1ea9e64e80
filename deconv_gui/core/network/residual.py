"""Blocks of branches from one input, joined: added (ResNet's ``F(x) + x``), stacked
along the channels (a U-Net's skip connection, DenseNet's) or multiplied (SiLU as ONNX
writes it, ``x · sigmoid(x)``; a squeeze-excitation gate).

A ResNet's block is ``body(x) + shortcut(x)``: the body a few convolutions, batch norms
and ReLUs, the shortcut the identity (no layers) or a projection (a strided 1×1
convolution and its batch norm). A U-Net's decoder stacks an upsampled map and the
encoder's map of the same size, ``[up(x), skip(x)]`` along the channels. Each branch is
a chain of layers (blocks among them), so a block is piecewise linear as they are, and
its linear maps follow the join (:class:`Fork`): for a sum ``J v = Σ J_b v`` and
``Jᵀ u = Σ J_bᵀ u``; for a concatenation ``J v = [J_1 v, J_2 v, …]`` and ``Jᵀ u =
Σ J_bᵀ u_b``, ``u_b`` the channels of branch ``b``; for a product ``a · b`` (element-wise,
a ``1×1×C`` gate broadcast over the map) the product rule at ``x₀``, ``J v = b₀ J_a v +
a₀ J_b v`` and ``Jᵀ u = J_aᵀ(b₀ u) + J_bᵀ(a₀ u)`` (a gate's share summed over the
pixels it covers), exact to first order only. The deconvnet and guided backprop
send the signal back through each branch by their rules and add them up, as backprop
adds the gradients of the paths. Each pass walks the block's graph (:mod:`.dag`): a
layer that several branches or nested blocks hold is evaluated once, and what its
consumers send back is summed before it goes back through it (as torch's autograd).

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, Network, ReLU
>>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 2))
>>> block = Residual([Conv(ConvOperator.from_weights(w, input_shape=(5, 5, 2), padding=1)), ReLU()])
>>> net = Network([block, ReLU()], input_shape=(5, 5, 2))
>>> x = np.random.default_rng(1).standard_normal((5, 5, 2))
>>> body = np.maximum(block.body[0].op.apply(x), 0)
>>> bool(np.allclose(net.forward(x), np.maximum(body + x, 0)))
True
>>> [layer.kind for layer, _ in flat_layers(net.layers, net.linearize(x).states)]
['conv', 'relu', 'relu']
>>> skip = Concat([[block.body[0], ReLU()], []], name="cat")
>>> skip.output_shape((5, 5, 2))
(5, 5, 4)
>>> bool(np.allclose(skip.forward(x)[0], np.concatenate([body, x], axis=-1)))
True
>>> bool(np.allclose(Product([[], [ReLU()]]).forward(x)[0], x * np.maximum(x, 0)))
True
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import numpy as np

from . import dag
from .layers import Layer, Shape

__all__ = ["Concat", "Fork", "Product", "Residual", "flat_layers"]


def _size(shape: Shape) -> str:
    return "×".join(map(str, shape))


class ForkState(NamedTuple):
    """A block's state at an input: each branch's layers' states, its channels, (for a
    product) each branch's output there, and the block's graph with each node's state
    (:mod:`.dag`; None: rebuilt from the rest when needed)."""

    branches: tuple[list[Any], ...]
    channels: tuple[int, ...]
    outputs: tuple[np.ndarray, ...] = ()
    dag: tuple[dag.Graph, list[Any]] | None = None


def _others(outputs: Sequence[np.ndarray], index: int) -> np.ndarray | float:
    """The product of the branches' outputs but ``outputs[index]``."""
    rest = [out for i, out in enumerate(outputs) if i != index]
    return functools.reduce(np.multiply, rest) if rest else 1.0


def _to_shape(arr: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``arr`` summed over the pixels a ``1×1×C`` branch was broadcast to."""
    axes = tuple(
        arr.ndim - 3 + axis for axis in range(2) if shape[axis] == 1 and arr.shape[axis - 3] > 1
    )
    return arr.sum(axis=axes, keepdims=True) if axes else arr


class Fork(Layer):
    """Branches from one input joined by :attr:`join`, ``"add"``, ``"concat"`` (along
    the channels, the last axis) or ``"mul"``; the base of :class:`Residual`,
    :class:`Concat` and :class:`Product`."""

    join: ClassVar[str] = "add"

    @property
    def branches(self) -> tuple[tuple[Layer, ...], ...]:
        """Each branch's layers, in order (an empty branch: the input itself)."""
        raise NotImplementedError

    def _check(self) -> None:
        for layer in (layer for branch in self.branches for layer in branch):
            if not isinstance(layer, Layer):
                raise ValueError(f"branches must hold layers, got {type(layer).__name__}")

    def _kept(self) -> dict[Any, Any]:
        """What the block keeps of itself: its graph, its branches' shapes per input shape.

        A block is not changed once made (its branches are tuples), and a model's blocks
        nest (each DenseNet stack is a branch of every later one): made afresh at each
        call, a stack's shapes re-walked every stack inside it, and building a deep
        block's network and its table grew as the cube of its layers or faster.
        """
        return self.__dict__.setdefault("_kept_facts", {})

    def graph(self) -> dag.Graph:
        """The block's nodes, each layer at its input once (see :mod:`.dag`), made once."""
        kept = self._kept()
        if "graph" not in kept:
            kept["graph"] = dag.Graph(self, lambda layer: isinstance(layer, Fork))
        return kept["graph"]

    def branch_shapes(self, input_shape: Shape) -> list[Shape]:
        """Each branch's output shape for inputs of ``input_shape`` (a nested block's
        its own, kept: each block's branches are walked once per input shape)."""
        key = tuple(input_shape)
        kept = self._kept()
        if key not in kept:
            shapes = []
            for branch in self.branches:
                shape: Shape = key  # type: ignore[assignment]
                for layer in branch:
                    shape = layer.output_shape(shape)
                shapes.append(shape)
            kept[key] = shapes
        return list(kept[key])

    def output_shape(self, input_shape: Shape) -> Shape:
        key = ("joined", tuple(input_shape))
        kept = self._kept()
        if key not in kept:  # a ValueError (branches that do not fit) is not kept
            kept[key] = self._join_shape(self.branch_shapes(input_shape))
        return kept[key]

    def _join_shape(self, shapes: Sequence[Shape]) -> Shape:
        """The joined shape of branches giving ``shapes``, or a ValueError naming the block."""
        if self.join == "add":
            if len({tuple(s) for s in shapes}) > 1:
                raise ValueError(
                    f"residual block {self.name!r}: its body gives {_size(shapes[0])}, its "
                    f"shortcut {_size(shapes[1])}; they must agree to be added"
                )
            return shapes[0]
        if self.join == "mul":
            return self._product_shape(shapes)
        if len({tuple(s[:2]) for s in shapes}) > 1:
            sizes = ", ".join(_size(s) for s in shapes)
            raise ValueError(
                f"concatenation {self.name!r}: its branches give {sizes}; their heights "
                "and widths must agree to be stacked along the channels"
            )
        return (shapes[0][0], shapes[0][1], sum(s[2] for s in shapes))

    def _product_shape(self, shapes: Sequence[Shape]) -> Shape:
        """The shape of a product: the branches' one, a ``1×1×C`` gate's broadcast."""
        full = max(shapes, key=lambda s: s[0] * s[1])
        if any(s != full and s != (1, 1, full[2]) for s in shapes):
            raise ValueError(
                f"product {self.name!r}: its branches give {', '.join(_size(s) for s in shapes)}"
                "; they must agree (or be a 1×1×C gate) to be multiplied"
            )
        return full

    def _joined(self, parts: Sequence[np.ndarray]) -> np.ndarray:
        if self.join == "add":
            return sum(parts[1:], parts[0])
        if self.join == "mul":
            return functools.reduce(np.multiply, parts)
        return np.concatenate(parts, axis=-1)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        graph = self.graph()
        out, states = dag.forward(graph, x)
        return out, states[-1]._replace(dag=(graph, states))

    def _join_forward(
        self, outs: Sequence[np.ndarray], branch_states: Sequence[list[Any]]
    ) -> tuple[np.ndarray, ForkState]:
        """The join of the branches' outputs ``outs`` and the block's state."""
        channels = tuple(int(np.shape(out)[-1]) for out in outs)
        kept = tuple(outs) if self.join == "mul" else ()  # the product rule needs them
        return self._joined(outs), ForkState(tuple(branch_states), channels, kept)

    def _dag(self, state: Any) -> tuple[dag.Graph, list[Any]]:
        """The graph and each node's state of the pass that gave ``state``."""
        if getattr(state, "dag", None) is not None:
            return state.dag
        graph = self.graph()
        return graph, dag.node_states(graph, state)

    def jvp(self, v: np.ndarray, state: Any) -> np.ndarray:
        graph, states = self._dag(state)
        return dag.jvp(graph, states, v)

    def _join_jvp(self, parts: Sequence[np.ndarray], state: Any) -> np.ndarray:
        """The join of the branches' ``J v`` (the product rule for a product)."""
        if self.join == "mul":  # Σ_i (Π_{j≠i} b_j(x₀)) J_i v
            terms = [_others(state.outputs, i) * part for i, part in enumerate(parts)]
            return functools.reduce(np.add, terms)
        return self._joined(parts)

    def _split(self, u: np.ndarray, state: Any) -> list[np.ndarray]:
        """Each branch's share of ``u`` sent back: all of it for a sum, its channels of a
        concatenation, its factor's product (summed over a gate's pixels)."""
        if self.join == "concat":
            return np.split(u, np.cumsum(state.channels)[:-1], axis=-1)
        if self.join == "mul":
            return [
                _to_shape(_others(state.outputs, i) * u, np.shape(out))
                for i, out in enumerate(state.outputs)
            ]
        return [u] * len(state.channels)

    def _all(self, u: np.ndarray, state: Any, rule: str) -> np.ndarray:
        """``u`` back through the block's graph by ``rule``, each node once."""
        graph, states = self._dag(state)
        return dag.back(graph, states, u, rule)

    def vjp(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._all(u, state, "vjp")

    def deconvnet(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._all(u, state, "deconvnet")

    def guided(self, u: np.ndarray, state: Any) -> np.ndarray:
        return self._all(u, state, "guided")

    @property
    def is_linear(self) -> bool:
        return all(node.layer.is_linear for node in self.graph().layer_nodes())


@dataclass
class Residual(Fork):
    """``body(x) + shortcut(x)``; an empty shortcut is the identity (see the module).

    Parameters
    ----------
    body : sequence of Layer
        The block's main branch, in order.
    shortcut : sequence of Layer
        The other branch (empty: ``x`` itself).
    name : str
        The block's name (the model's Add node).
    """

    body: Sequence[Layer]
    shortcut: Sequence[Layer] = ()
    name: str = "residual"
    kind: str = field(default="residual", init=False)

    def __post_init__(self) -> None:
        self.body, self.shortcut = tuple(self.body), tuple(self.shortcut)
        self._check()

    @property
    def branches(self) -> tuple[tuple[Layer, ...], ...]:
        return (tuple(self.body), tuple(self.shortcut))


@dataclass
class _Parts(Fork):
    """A block of any number of branches, given as one sequence."""

    parts: Sequence[Sequence[Layer]]
    least: ClassVar[int] = 1

    def __post_init__(self) -> None:
        self.parts = tuple(tuple(branch) for branch in self.parts)
        if len(self.parts) < self.least:
            raise ValueError(f"parts must hold at least {self.least} branch(es)")
        self._check()

    @property
    def branches(self) -> tuple[tuple[Layer, ...], ...]:
        return tuple(tuple(branch) for branch in self.parts)


@dataclass
class Concat(_Parts):
    """``[b_1(x), b_2(x), …]`` along the channels, in the branches' order (see the module).

    Parameters
    ----------
    parts : sequence of sequences of Layer
        Each branch's layers, in order (an empty one: ``x`` itself, a skip connection).
    name : str
        The block's name (the model's Concat node).
    """

    name: str = "concat"
    kind: str = field(default="concat", init=False)
    join: ClassVar[str] = "concat"


@dataclass
class Product(_Parts):
    """``b_1(x) · b_2(x) · …`` element-wise (see the module): SiLU as ONNX writes it,
    ``x · sigmoid(x)``, or a map times a ``1×1×C`` squeeze-excitation gate.

    Parameters
    ----------
    parts : sequence of sequences of Layer
        Each branch's layers, in order (an empty one: ``x`` itself), at least two.
    name : str
        The block's name (the model's Mul node).
    """

    name: str = "product"
    kind: str = field(default="product", init=False)
    join: ClassVar[str] = "mul"
    least: ClassVar[int] = 2


def flat_layers(
    layers: Sequence[Layer], states: Sequence[Any] | None = None
) -> Iterator[tuple[Layer, Any]]:
    """Every layer with its state (None without ``states``), a block's branches in place
    of the block (in order: a residual block's body, then its shortcut), a layer that
    branches or nested blocks share once (each node of the block's graph, :mod:`.dag`):
    the ReLUs' masks of a whole network, say."""
    for index, layer in enumerate(layers):
        state = None if states is None else states[index]
        if isinstance(layer, Fork):
            graph, inner = (layer.graph(), None) if state is None else layer._dag(state)
            inner = [None] * len(graph.nodes) if inner is None else inner
            for node, node_state in zip(graph.nodes, inner, strict=True):
                if node.layer is not None and not node.join:
                    yield node.layer, node_state
        else:
            yield layer, state
