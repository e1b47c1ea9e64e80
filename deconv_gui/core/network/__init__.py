"""Networks of layers: a chain's forward pass, its local linear map ``J`` at an image, and
the backward rules people use to see what a unit responds to (backprop, deconvnet,
guided backprop), beside ``J⁺``.

- :mod:`.layers`: convolution, transposed convolution, batch norm (affine), (leaky)
  ReLU, max-pool (with its switches), average pool and zero padding;
- :mod:`.smooth`: element-wise curved activations (sigmoid, tanh, SiLU, GELU, hard
  sigmoid/swish, ELU, SELU, softplus), linearised by their slopes at ``x₀``;
- :mod:`.residual`: :class:`Residual`, a block that adds two branches (ResNet's),
  :class:`Concat`, one that stacks its branches' channels (a U-Net's skip connection),
  and :class:`Product`, one that multiplies them (SiLU as ``x · sigmoid(x)``, a gate);
- :mod:`.chain`: :class:`Network` and :class:`Linearization`;
- :mod:`.fields`: the theoretical receptive field of a unit;
- :mod:`.relu_preimage`: the minimum-norm image a conv + ReLU maps to an output;
- :mod:`.pipeline`: :func:`run_prefix`, a prefix's methods at an image by panel name;
- :mod:`.bounds`: per layer, the output shape, receptive field and rank/nullity bounds;
- :mod:`.solve`: the ``J⁺`` solve, its limits and why it stopped, with its
  preconditioners (:mod:`.precondition`, the last convolution's symbol, and
  :mod:`.block_jacobi`, ``J Jᵀ``'s blocks, and :mod:`.dense_gram`, the whole of a small
  output's ``J Jᵀ``).
"""

from __future__ import annotations

from .bounds import LayerBounds, exact_rank, passed_units, prefix_bounds
from .chain import RULES, Linearization, Network, ReceptiveField, receptive_field
from .layers import Affine, AvgPool, Conv, ConvTranspose, Layer, LeakyReLU, MaxPool, Pad, ReLU
from .pipeline import PREFIX_METHODS, PREFIX_PANELS, PrefixResult, run_prefix
from .relu_preimage import ReluPreimage, relu_preimage
from .residual import Concat, Fork, Product, Residual, flat_layers
from .smooth import (
    ELU,
    FIRST_ORDER_WORDS,
    GELU,
    SELU,
    SMOOTH_KINDS,
    Activation,
    Erf,
    HardSigmoid,
    HardSwish,
    Sigmoid,
    SiLU,
    Softplus,
    Tanh,
    first_order,
    linearity_words,
)

__all__ = [
    "ELU",
    "FIRST_ORDER_WORDS",
    "GELU",
    "PREFIX_METHODS",
    "PREFIX_PANELS",
    "RULES",
    "SELU",
    "SMOOTH_KINDS",
    "Activation",
    "Affine",
    "AvgPool",
    "Concat",
    "Conv",
    "ConvTranspose",
    "Erf",
    "Fork",
    "HardSigmoid",
    "HardSwish",
    "Layer",
    "LayerBounds",
    "LeakyReLU",
    "Linearization",
    "MaxPool",
    "Network",
    "Pad",
    "PrefixResult",
    "Product",
    "ReLU",
    "ReceptiveField",
    "ReluPreimage",
    "Residual",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "exact_rank",
    "first_order",
    "flat_layers",
    "linearity_words",
    "passed_units",
    "prefix_bounds",
    "receptive_field",
    "relu_preimage",
    "run_prefix",
]
