"""J⁺ of a prefix, made faster: the whole J Jᵀ as the preconditioner of a small output,
the early switch when the symbol's pace is hopeless, and the floored symbol of a tall
convolution (a ResNet stem); every answer against numpy.linalg.pinv of the dense J."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, MaxPool, Network, ReLU
from deconv_gui.core.network.dense_gram import DENSE_UNITS, DenseGram, dense_pays
from deconv_gui.core.network.precondition import (
    ActivationPreconditioner,
    PrefixPreconditioner,
    prefix_preconditioner,
)
from deconv_gui.core.network.solve import _hopeless, solve_prefix_pinv
from deconv_gui.core.solvers import SolveCancelled


def _deep(rng, size=8):
    w1 = rng.standard_normal((3, 3, 2, 4))
    w2 = rng.standard_normal((3, 3, 4, 3))
    op1 = ConvOperator.from_weights(w1, input_shape=(size, size, 2), padding=1)
    op2 = ConvOperator.from_weights(w2, input_shape=(size // 2,) * 2 + (4,), padding=1)
    return Network([Conv(op1, rng.standard_normal(4)), ReLU(), MaxPool(2), Conv(op2)])


def _stem(rng, size=8, relu=True):
    """A tall first layer (more outputs than inputs): 3 → 16 at stride 2, 5×5."""
    w = rng.standard_normal((5, 5, 3, 16))
    op = ConvOperator.from_weights(w, input_shape=(size, size, 3), stride=2, padding=2)
    return Network([Conv(op, rng.standard_normal(16)), *([ReLU()] if relu else [])])


@pytest.mark.parametrize("reg", [0.0, 0.4])
def test_dense_gram_is_the_inverse_of_the_shifted_dense_j_jt(reg):
    rng = np.random.default_rng(0)
    net = _deep(rng)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    dense = lin.to_dense()
    gram = dense @ dense.T
    shift = reg + 1e-8 * np.diag(gram).max()
    pre = DenseGram(lin, reg)
    shape = net.shapes[-1]
    got = np.stack([pre(e.reshape(shape)).ravel() for e in np.eye(gram.shape[0])], axis=1)
    want = np.linalg.inv(gram + shift * np.eye(gram.shape[0]))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9 * np.abs(want).max())
    assert np.linalg.eigvalsh(0.5 * (got + got.T)).min() > 0  # SPD though J Jᵀ is singular


def test_dense_gram_is_built_only_for_a_small_output():
    rng = np.random.default_rng(1)
    lin = _deep(rng).linearize(rng.standard_normal((8, 8, 2)))
    units = int(np.prod(lin.output_shape))
    assert dense_pays(lin, 0) and dense_pays(lin, units // 4)
    assert not dense_pays(lin, units // 5)  # more than DENSE_SHARE times the blocks
    big = SimpleNamespace(output_shape=(DENSE_UNITS + 1, 1, 1))
    assert not dense_pays(big, 10**6)


def test_cancel_stops_the_dense_set_up():
    rng = np.random.default_rng(2)
    lin = _deep(rng).linearize(rng.standard_normal((8, 8, 2)))
    with pytest.raises(SolveCancelled):
        DenseGram(lin, cancel=lambda: True)


@pytest.mark.parametrize("consistent", [True, False])
def test_the_solve_through_the_whole_j_jt_is_numpys_pinv(consistent):
    rng = np.random.default_rng(3)
    net = _deep(rng)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    dense = lin.to_dense()
    y = lin.apply(lin.x0)
    if not consistent:  # 48 outputs of rank ≤ 64 masked units: perhaps off the range
        y = y + 0.1 * rng.standard_normal(y.shape)
    x, report = solve_prefix_pinv(lin, y, rtol=1e-12, consistent=consistent)
    assert report.converged
    expected = np.linalg.pinv(dense) @ y.ravel()
    np.testing.assert_allclose(x.ravel(), expected, atol=1e-7 * np.linalg.norm(expected))


def _history(values, rtol=1e-6):
    return SimpleNamespace(iiter=len(values), history=list(values), rtol=rtol, phase="pcg")


def test_the_pace_rule_switches_a_hopeless_solve_and_spares_a_fast_one():
    slow = 0.5 * 0.99 ** np.arange(40)  # 1 % a step: ~1300 more to 10⁻⁶
    fast = 0.5 ** np.arange(1, 41)  # past 10⁻⁶ soon
    stuck = np.full(40, 0.1)
    assert _hopeless(_history(slow), cost=100)
    assert not _hopeless(_history(slow), cost=5000)
    assert not _hopeless(_history(fast[:15]), cost=1)  # too few steps to judge
    assert not _hopeless(_history(fast[:19] * 1e3), cost=20)
    assert _hopeless(_history(stuck), cost=10**6)
    assert not _hopeless(SimpleNamespace(**{**vars(_history(slow)), "phase": "cgls"}), 1)


@pytest.mark.parametrize("relu", [True, False], ids=["relu", "alone"])
def test_a_tall_first_layer_gets_a_floored_symbol_and_keeps_jplus(relu):
    rng = np.random.default_rng(4 + relu)
    net = _stem(rng, relu=relu)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    pre = prefix_preconditioner(net, states=lin.states)
    inner = pre.inner if relu else pre
    assert isinstance(pre, ActivationPreconditioner if relu else PrefixPreconditioner)
    assert isinstance(inner, PrefixPreconditioner)
    dense = lin.to_dense()
    for y in (lin.apply(lin.x0), lin.apply(lin.x0) + 0.1 * rng.standard_normal(lin.output_shape)):
        x, report = lin.pinv(y, rtol=1e-12, max_iter=3000, preconditioner=pre)
        assert report.converged
        expected = np.linalg.pinv(dense) @ y.ravel()
        np.testing.assert_allclose(x.ravel(), expected, atol=1e-7 * np.linalg.norm(expected))


def test_a_tall_stem_with_its_relu_converges_sooner_than_plain_cg():
    rng = np.random.default_rng(6)
    net = _stem(rng, size=24)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    y = lin.apply(lin.x0)
    pre = prefix_preconditioner(net, states=lin.states)
    _x, ours = lin.pinv(y, rtol=1e-8, max_iter=2000, preconditioner=pre, consistent=True)
    _x, plain = lin.pinv(y, rtol=1e-8, max_iter=2000, preconditioner=None, consistent=True)
    assert ours.converged and plain.converged
    assert ours.iterations < plain.iterations
