"""A chain of layers, and its local linear map ``J`` at an image.

A network of convolutions, batch norms, (leaky) ReLUs and poolings is piecewise linear:
on the linear region of an image ``x₀`` it is exactly ``f(x) = J x + c``; with a smooth
activation (SiLU, GELU, sigmoid, …) or a product of branches, ``J`` is its Jacobian at
``x₀`` and ``f(x) ≈ J x + c`` to first order only (:func:`.smooth.first_order`). ``J`` is a
matrix-free operator (each layer's Jacobian at its recorded input), so everything this
tool shows for one layer applies to it: its transpose is backprop, ``J⁺ J x₀`` is the
minimum-norm image with the same features (on that region), ``x₀ − J⁺ J x₀`` what the
features cannot see.

Examples
--------
>>> import numpy as np
>>> from deconv_gui.core import ConvOperator
>>> from deconv_gui.core.network import Conv, Network, ReLU
>>> w = np.random.default_rng(0).standard_normal((3, 3, 1, 2))
>>> net = Network([Conv(ConvOperator.from_weights(w, input_shape=(6, 6, 1), padding=1)), ReLU()])
>>> x0 = np.random.default_rng(1).random((6, 6, 1))
>>> lin = net.linearize(x0)
>>> bool(np.allclose(lin.apply(x0) + lin.offset, net.forward(x0)))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse.linalg import LinearOperator

from ..choices import check_choice
from ..solvers import SolverReport
from .fields import ReceptiveField, receptive_field
from .layers import Conv, Layer, Shape
from .solve import solve_prefix_pinv

__all__ = ["RULES", "Linearization", "Network", "ReceptiveField", "receptive_field"]

#: Backward rules of :meth:`Linearization.project`.
RULES = ("backprop", "deconvnet", "guided_backprop")


class Network:
    """Layers applied in order to images of one shape.

    Parameters
    ----------
    layers : sequence of Layer
        The chain; each layer's ``output_shape`` must accept its predecessor's.
    input_shape : (int, int, int), optional
        ``(H, W, C)``; default: the first convolution's input shape.
    """

    def __init__(self, layers: Sequence[Layer], input_shape: Shape | None = None) -> None:
        if not layers:
            raise ValueError("layers must not be empty")
        self.layers = list(layers)
        if input_shape is None:
            first = self.layers[0]
            if not isinstance(first, Conv):
                raise ValueError(
                    "input_shape is required when the first layer is not a convolution"
                )
            input_shape = first.op.geometry.input_shape
        self.input_shape: Shape = tuple(int(v) for v in input_shape)  # type: ignore[assignment]
        self.shapes = [self.input_shape]
        for layer in self.layers:
            self.shapes.append(layer.output_shape(self.shapes[-1]))

    def prefix(self, upto: int | str) -> Network:
        """The network up to layer ``upto`` (an index, or a layer's name), included."""
        index = self.index(upto)
        return Network(self.layers[: index + 1], self.input_shape)

    def index(self, upto: int | str) -> int:
        """The index of layer ``upto`` (an index, negative allowed, or a name)."""
        if isinstance(upto, str):
            names = [layer.name for layer in self.layers]
            if upto not in names:
                raise ValueError(f"layer {upto!r} not found; the layers are {', '.join(names)}")
            return names.index(upto)
        n = len(self.layers)
        if not -n <= int(upto) < n:
            raise ValueError(f"layer index {upto} out of range for {n} layers")
        return int(upto) % n

    def forward(self, x: Any) -> np.ndarray:
        """``f(x)``, the last layer's output."""
        return self._run(x)[0]

    def _run(self, x: Any) -> tuple[np.ndarray, list[Any]]:
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[-3:] != self.input_shape:
            raise ValueError(f"x must have shape {self.input_shape}, got {arr.shape}")
        states = []
        for layer in self.layers:
            arr, state = layer.forward(arr)
            states.append(state)
        return arr, states

    def linearize(self, x0: Any) -> Linearization:
        """The linear map ``J`` of the network at ``x₀`` and its offset ``c = f(x₀) − J x₀``."""
        x = np.asarray(x0, dtype=np.float64)
        out, states = self._run(x)
        lin = Linearization(self, states, x, out)
        lin.offset = out - lin.apply(x)
        return lin


class Linearization:
    """``J`` at ``x₀``: products with ``J`` and ``Jᵀ``, the backward rules, ``J⁺``."""

    def __init__(self, network: Network, states: list[Any], x0: np.ndarray, output: np.ndarray):
        self.network = network
        self.states = states
        self.x0 = x0
        self.output = output
        self.offset = np.zeros_like(output)
        self.input_shape = network.input_shape
        self.output_shape = network.shapes[-1]

    def apply(self, v: Any) -> np.ndarray:
        """``J v`` for an image (or batch) of the input shape."""
        arr = np.asarray(v, dtype=np.float64)
        for layer, state in zip(self.network.layers, self.states, strict=True):
            arr = layer.jvp(arr, state)
        return arr

    def apply_adjoint(self, u: Any) -> np.ndarray:
        """``Jᵀ u``: backprop of ``u`` through the recorded masks and switches."""
        return self.project(u, "backprop")

    def project(self, signal: Any, rule: str = "backprop") -> np.ndarray:
        """Send ``signal`` (output-shaped) back to the input by one of :data:`RULES`.

        ``"backprop"`` is ``Jᵀ signal``; ``"deconvnet"`` applies each ReLU to the signal
        instead of masking by the forward input (Zeiler & Fergus 2014);
        ``"guided_backprop"`` does both (Springenberg et al. 2015). Convolutions are
        transposed (biases unused) and max-pools unpooled to their switches in all three.
        """
        check_choice("rule", rule, RULES)
        arr = np.asarray(signal, dtype=np.float64)
        if arr.shape[-3:] != self.output_shape:
            raise ValueError(f"signal must have shape {self.output_shape}, got {arr.shape}")
        method = {"backprop": "vjp", "deconvnet": "deconvnet", "guided_backprop": "guided"}[rule]
        for layer, state in zip(self.network.layers[::-1], self.states[::-1], strict=True):
            arr = getattr(layer, method)(arr, state)
        return arr

    def as_linear_operator(self) -> LinearOperator:
        """``J`` on flattened vectors (``scipy.sparse.linalg.LinearOperator``)."""
        n_in, n_out = int(np.prod(self.input_shape)), int(np.prod(self.output_shape))
        return LinearOperator(
            (n_out, n_in),
            matvec=lambda v: self.apply(np.reshape(v, self.input_shape)).ravel(),
            rmatvec=lambda u: self.apply_adjoint(np.reshape(u, self.output_shape)).ravel(),
            dtype=np.float64,
        )

    def to_dense(self) -> np.ndarray:
        """The explicit ``J`` (small networks only: one product per input pixel)."""
        n_in = int(np.prod(self.input_shape))
        if n_in > 20_000:
            raise ValueError(f"to_dense is for small networks: {n_in} unknowns (limit 20000)")
        basis = np.eye(n_in).reshape(n_in, *self.input_shape)
        return self.apply(basis).reshape(n_in, -1).T

    def pinv(self, signal: Any, **options: Any) -> tuple[np.ndarray, SolverReport]:
        """``J⁺ signal`` (Tikhonov when ``reg > 0``), matrix-free, with progress and cancel.

        The options (``reg``, ``rtol``, ``max_iter``, ``time_limit``, ``consistent``,
        ``progress``, ``cancel``, ``preconditioner``) are those of
        :func:`~deconv_gui.core.network.solve.solve_prefix_pinv`.
        """
        return solve_prefix_pinv(self, signal, **options)
