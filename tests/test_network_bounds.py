"""The rank bounds of a prefix with ReLUs inside blocks' branches (a concatenation, a
residual block, a product, one block inside another's branch), against the rank of
the dense J at x₀ (numpy.linalg.matrix_rank): never below it, and, where the branches'
ReLUs pass few units, below the bound that counted a block by its outputs alone."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import (
    Concat,
    Conv,
    HardSigmoid,
    Network,
    Product,
    ReLU,
    Residual,
    Sigmoid,
    prefix_bounds,
)

SHAPE = (6, 6, 2)  # 72 unknowns


def _conv(rng, c_out, shift=0.0, k=3, shape=SHAPE):
    """A 'same' convolution whose bias is ``shift`` (very negative: few units pass a ReLU)."""
    w = rng.standard_normal((k, k, shape[2], c_out))
    op = ConvOperator.from_weights(w, input_shape=shape, padding=k // 2)
    return Conv(op, np.full(c_out, shift))


def _blocks(rng, shift):
    """A block per join with a ReLU in each branch, and one nested in a branch."""
    inner = Residual([_conv(rng, 2, shift), ReLU()], [ReLU()], name="inner")
    return {
        "concat": Concat([[_conv(rng, 3, shift), ReLU()], [_conv(rng, 2, shift), ReLU()]]),
        "residual": Residual([_conv(rng, 2, shift), ReLU(), _conv(rng, 2)], [ReLU()]),
        "product": Product([[_conv(rng, 2, shift), ReLU()], [_conv(rng, 2), Sigmoid()]]),
        "nested": Concat([[inner, _conv(rng, 2, shift), ReLU()], [ReLU()]]),
    }


def _outputs_only(net, lin):
    """The bound that counts a block by its outputs (its branches' ReLUs ignored)."""
    bound = int(np.prod(net.input_shape))
    for layer, state, shape in zip(net.layers, lin.states, net.shapes[1:], strict=True):
        if layer.kind == "relu":
            bound = min(bound, int(np.asarray(state).sum()))
        bound = min(bound, int(np.prod(shape)))
    return bound


@pytest.mark.parametrize("join", ["concat", "residual", "product", "nested"])
@pytest.mark.parametrize("shift", [0.0, -4.0])
def test_the_bound_holds_for_every_prefix_and_counts_the_branches_relus(join, shift):
    for seed in range(4):
        rng = np.random.default_rng(seed)
        block = _blocks(rng, shift)[join]
        net = Network([block, ReLU(), _conv(rng, 2, shape=block.output_shape(SHAPE))], SHAPE)
        x0 = rng.standard_normal(SHAPE)
        bounds = prefix_bounds(net.linearize(x0))
        for k, bound in enumerate(bounds):
            sub = net.prefix(k)
            rank = np.linalg.matrix_rank(sub.linearize(x0).to_dense())
            assert rank <= bound.rank_at_most, (join, shift, seed, k)
            assert bound.rank_at_most <= _outputs_only(sub, sub.linearize(x0))
        if shift < 0:  # the branches' ReLUs pass a few units: the bound is tighter
            first = net.prefix(0)
            assert bounds[0].rank_at_most < _outputs_only(first, first.linearize(x0))


def test_two_relu_branches_stacked_have_the_rank_of_the_units_they_pass():
    """Generic convolutions, each unit passed a row of its own: the rank is the count."""
    rng = np.random.default_rng(7)
    block = Concat([[_conv(rng, 2, -3.0), ReLU()], [_conv(rng, 2, -3.0), ReLU()]])
    net = Network([block], SHAPE)
    x0 = rng.standard_normal(SHAPE)
    lin = net.linearize(x0)
    passed = sum(int(np.asarray(state[-1]).sum()) for state in lin.states[0].branches)
    assert 0 < passed < 36  # below the 72 unknowns and the 144 outputs
    (bound,) = prefix_bounds(lin)
    assert bound.rank_at_most == passed == np.linalg.matrix_rank(lin.to_dense())
    assert bound.nullity_at_least == 72 - passed


def test_a_product_counts_the_units_the_other_factor_zeroes():
    """``x · relu(conv x)``: the identity branch is scaled by the ReLU's output, zero
    where it cuts, so its share is the units that pass."""
    rng = np.random.default_rng(8)
    gate = Product([[], [_conv(rng, 2, -3.0), ReLU()]])
    lin = Network([gate], SHAPE).linearize(rng.standard_normal(SHAPE))
    passed = int(np.count_nonzero(lin.states[0].outputs[1]))
    (bound,) = prefix_bounds(lin)
    assert bound.rank_at_most <= 2 * passed < 72
    assert np.linalg.matrix_rank(lin.to_dense()) <= bound.rank_at_most


def test_a_saturated_hard_sigmoid_keeps_only_its_units_with_a_slope():
    """``diag(f'(x₀))`` keeps the units whose slope is not 0: a hard sigmoid's outside
    ``(−3, 3)`` have none, on the chain and in a branch alike."""
    rng = np.random.default_rng(9)
    conv = _conv(rng, 2)
    for layers in ([conv, HardSigmoid()], [Concat([[conv, HardSigmoid()], [ReLU()]])]):
        lin = Network(layers, SHAPE).linearize(3 * rng.standard_normal(SHAPE))
        net = lin.network
        bound = prefix_bounds(lin)[-1].rank_at_most
        rank = np.linalg.matrix_rank(lin.to_dense())
        assert rank <= bound < _outputs_only(net, lin)
        if len(layers) == 2:  # generic weights: every sloped unit is a direction of its own
            assert bound == rank == int(np.count_nonzero(lin.states[1]))


@pytest.mark.parametrize("c_out", [1, 9])
def test_the_exact_rank_from_either_side_equals_matrix_rank_of_the_dense_j(c_out):
    """A small output's rank is taken from ``J``'s rows (``Jᵀ e_i``), a larger one's
    from its columns: both as numpy.linalg.matrix_rank of the dense ``J``."""
    from deconv_gui.core.network import MaxPool, exact_rank

    rng = np.random.default_rng(10)
    conv = _conv(rng, 3, -0.5)
    w = rng.standard_normal((3, 3, 3, c_out))
    last = Conv(ConvOperator.from_weights(w, input_shape=(3, 3, 3), padding=1))
    lin = Network([conv, ReLU(), MaxPool(2), last], SHAPE).linearize(rng.standard_normal(SHAPE))
    n_out = int(np.prod(lin.output_shape))
    assert (n_out < 72) == (c_out == 1)  # 9 rows of 72 columns, or 81 of them
    assert exact_rank(lin) == np.linalg.matrix_rank(lin.to_dense())
