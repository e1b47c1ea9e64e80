"""A block of branches as a graph whose nodes are evaluated once a pass.

A model reader builds each node of a model's graph once, so the branches of a block
(:class:`~.residual.Fork`) and of the blocks nested in it share layer objects: in a
DenseNet block each map is a branch of every later stack, and each stack the start of
the next layer's branch. Walked branch by branch, a block of ``n`` such layers costs
about ``2^(n+1)`` layer evaluations. Here a node is a layer *at its input node*: the
same layer object after the same node is one node, whatever branch or nested block it
is met in. :class:`Graph` lists the nodes in topological order (each after the nodes it
reads), so a pass evaluates each once: the forward pass and ``J v`` in that order, and
``Jᵀ u`` (or the deconvnet's and guided backprop's rules) in the reverse order, the
signals a node sends back to a node they share summed before going back through it, as
backprop sums the gradients of a tensor's consumers. A node is keyed by the identity of
its layer, so a layer object used at two different inputs (a hand-built chain reusing
one ``ReLU()``) is two nodes.

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core.network import Concat, ReLU
>>> relu = ReLU()
>>> inner = Concat([[], [relu]])
>>> graph = Graph(Concat([[relu], [inner]]), lambda layer: isinstance(layer, Concat))
>>> [type(node.layer).__name__ for node in graph.nodes]  # the shared ReLU once
['NoneType', 'ReLU', 'Concat', 'Concat']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Graph", "Node", "back", "forward", "jvp", "node_states", "shapes"]


@dataclass(frozen=True)
class Node:
    """One node: ``layer`` at node ``sources[0]`` or, for a join, the block ``layer``
    joining the ends of its branches ``sources`` (each branch's nodes in ``members``,
    its input node ``origin``). Node 0 is the graph's input (``layer`` None)."""

    layer: Any
    sources: tuple[int, ...]
    members: tuple[tuple[int, ...], ...] = ()
    origin: int = 0
    join: bool = False


class Graph:
    """The nodes of ``block`` (a :class:`~.residual.Fork`) in topological order, the
    block's join last; ``is_fork`` tells a nested block, which is expanded in place."""

    def __init__(self, block: Any, is_fork: Callable[[Any], bool]) -> None:
        self.nodes: list[Node] = [Node(None, ())]
        self._index: dict[tuple[int, int], int] = {}
        self._is_fork = is_fork
        self._fork(block, 0)
        del self._index

    def _fork(self, block: Any, origin: int) -> int:
        """The join node of ``block`` at node ``origin`` (added with its branches' nodes
        if they are new)."""
        key = (id(block), origin)
        if key in self._index:
            return self._index[key]
        ends, members = [], []
        for branch in block.branches:
            at, nodes = origin, []
            for layer in branch:
                at = self._fork(layer, at) if self._is_fork(layer) else self._layer(layer, at)
                nodes.append(at)
            ends.append(at)
            members.append(tuple(nodes))
        return self._add(key, Node(block, tuple(ends), tuple(members), origin, join=True))

    def _layer(self, layer: Any, source: int) -> int:
        key = (id(layer), source)
        return self._index[key] if key in self._index else self._add(key, Node(layer, (source,)))

    def _add(self, key: tuple[int, int], node: Node) -> int:
        self.nodes.append(node)
        self._index[key] = len(self.nodes) - 1
        return len(self.nodes) - 1

    def layer_nodes(self) -> list[Node]:
        """The nodes that are layers (not the input, not a join)."""
        return [node for node in self.nodes[1:] if not node.join]


def shapes(graph: Graph, input_shape: Any, last: bool = True) -> list[Any]:
    """Each node's output shape for inputs of ``input_shape`` (a join's checked by its
    block's ``_join_shape``, a ValueError naming the block); ``last`` False: all but the
    block's join."""
    out = [input_shape]
    for node in graph.nodes[1 : None if last else -1]:
        if node.join:
            out.append(node.layer._join_shape([out[s] for s in node.sources]))
        else:
            out.append(node.layer.output_shape(out[node.sources[0]]))
    return out


def forward(graph: Graph, x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """The block's output at ``x`` and each node's state (a join's: its block's state)."""
    values: list[Any] = [x]
    states: list[Any] = [None]
    for node in graph.nodes[1:]:
        if node.join:
            branch_states = [[states[m] for m in nodes] for nodes in node.members]
            out, state = node.layer._join_forward([values[s] for s in node.sources], branch_states)
        else:
            out, state = node.layer.forward(values[node.sources[0]])
        values.append(out)
        states.append(state)
    return values[-1], states


def node_states(graph: Graph, state: Any) -> list[Any]:
    """Each node's state from the block's state (its branches' states, nested), read back
    from the join: a join's state is known before its members' (they come before it)."""
    states: list[Any] = [None] * len(graph.nodes)
    states[-1] = state
    for index in range(len(graph.nodes) - 1, 0, -1):
        node = graph.nodes[index]
        if node.join:
            for nodes, inner in zip(node.members, states[index].branches, strict=True):
                for member, member_state in zip(nodes, inner, strict=True):
                    if states[member] is None:
                        states[member] = member_state
    return states


def jvp(graph: Graph, states: Sequence[Any], v: np.ndarray) -> np.ndarray:
    """``J v`` of the block, each node once, in topological order."""
    values: list[Any] = [v]
    for node, state in zip(graph.nodes[1:], states[1:], strict=True):
        if node.join:
            values.append(node.layer._join_jvp([values[s] for s in node.sources], state))
        else:
            values.append(node.layer.jvp(values[node.sources[0]], state))
    return values[-1]


def back(graph: Graph, states: Sequence[Any], u: np.ndarray, rule: str) -> np.ndarray:
    """``u`` sent back to the block's input by the layers' method ``rule`` (``"vjp"``,
    ``"deconvnet"``, ``"guided"``), in reverse topological order: what a node's consumers
    send it is summed before it goes back through the node."""
    signals: list[Any] = [None] * len(graph.nodes)
    signals[-1] = u
    for index in range(len(graph.nodes) - 1, 0, -1):
        node, signal = graph.nodes[index], signals[index]
        signals[index] = None  # free it: it has been sent back
        if node.join:
            parts = node.layer._split(signal, states[index])
        else:
            parts = [getattr(node.layer, rule)(signal, states[index])]
        for source, part in zip(node.sources, parts, strict=True):
            # a new array, never in place: a part may be a view of another signal
            signals[source] = part if signals[source] is None else signals[source] + part
    return signals[0]  # every node reaches the join, so the input is sent something
