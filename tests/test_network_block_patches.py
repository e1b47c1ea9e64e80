"""J⁺'s block-Jacobi preconditioner on patches of output pixels and past a gate: each
patch's block against the dense J Jᵀ (edge patches that stick out included), its symmetry,
the side it chooses, the spacing past a squeeze-excitation gate, and every answer against
numpy.linalg.pinv of the dense J."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import (
    AvgPool,
    Conv,
    Network,
    Product,
    ReLU,
    Sigmoid,
    SiLU,
    dense_gram,
)
from deconv_gui.core.network.block_jacobi import (
    BlockJacobi,
    probe_count,
    probe_patch,
    probe_spacing,
)
from deconv_gui.core.network.solve import solve_prefix_pinv


def _net(rng, size, circular=False):
    """Conv 3×3, ReLU, conv 3×3, both "same": receptive fields of 5, a spacing of 5."""
    mode = "circular" if circular else "zeros"
    op1 = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 5)),
        input_shape=(size, size, 2),
        padding=1,
        padding_mode=mode,
    )
    op2 = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 5, 3)), input_shape=(size, size, 5), padding=1
    )
    return Network([Conv(op1, rng.standard_normal(5)), ReLU(), Conv(op2)])


def _patch_blocks(gram: np.ndarray, shape, patch: int) -> list:
    """Each patch's block of ``gram`` (row-major patches; units row-major, then channel)."""
    h, w, c = shape
    index = np.arange(h * w * c).reshape(h, w, c)
    out = []
    for top in range(0, h, patch):
        for left in range(0, w, patch):
            units = index[top : top + patch, left : left + patch].ravel()
            out.append((top, left, gram[np.ix_(units, units)]))
    return out


@pytest.mark.parametrize(("size", "patch"), [(12, 2), (13, 2), (14, 4), (11, 3)])
def test_each_patch_block_is_that_of_the_dense_j_jt(size, patch):
    rng = np.random.default_rng(size + patch)
    net = _net(rng, size)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    dense = lin.to_dense()
    shape = net.shapes[-1]
    pre = BlockJacobi(lin, patch=patch)
    for top, left, want in _patch_blocks(dense @ dense.T, shape, patch):
        rows, cols = min(patch, shape[0] - top), min(patch, shape[1] - left)
        # the block's units inside the image, in its (row, column, channel) order
        inside = np.zeros((patch, patch, shape[2]), bool)
        inside[:rows, :cols] = True
        got = np.linalg.inv(pre.inverse[top // patch, left // patch])
        got = got[np.ix_(inside.ravel(), inside.ravel())]
        np.testing.assert_allclose(got, want, atol=1e-9 * np.abs(want).max())
    u, v = rng.standard_normal((2, *shape))  # a dot test: the preconditioner is symmetric
    assert np.vdot(u, pre(v)) == pytest.approx(np.vdot(pre(u), v), rel=1e-10)
    assert probe_count(lin, patch) == min(-(-(5 + patch - 1) // patch) * patch, size) ** 2 * 3


def test_the_side_is_the_largest_whose_probes_stay_within_their_share():
    rng = np.random.default_rng(1)
    lin = _net(rng, 16).linearize(rng.standard_normal((16, 16, 2)))
    assert probe_spacing(lin) == (5, 5)  # 25 phases; 4×4 patches: 64, 2.56 times as many
    assert probe_patch(lin) == 4 and probe_count(lin, 4) == 64 * 3
    circular = _net(rng, 16, circular=True).linearize(rng.standard_normal((16, 16, 2)))
    assert probe_patch(circular) == 1  # the seam's lattice is found for pixels only
    with pytest.raises(ValueError, match=r"^patch must be"):
        BlockJacobi(lin, patch=0)


def test_the_switch_to_patch_blocks_keeps_the_minimum_norm_answer(monkeypatch):
    monkeypatch.setattr(dense_gram, "DENSE_UNITS", 0)  # the blocks, not the whole J Jᵀ
    rng = np.random.default_rng(2)
    net = _net(rng, 12)
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    target = lin.apply(x0)
    reference = np.linalg.pinv(lin.to_dense()) @ target.ravel()
    x, report = solve_prefix_pinv(lin, target, rtol=1e-11, consistent=True)
    assert report.converged, report.message
    assert re.search(r"then block-Jacobi from iteration \d+", report.message), report.message
    np.testing.assert_allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))


def _excited(rng, size):
    """conv, SiLU, x · σ(conv(mean(x))) (a squeeze-excitation), conv: fields of 5 but for
    the gate's global mean."""
    op1 = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 4)), input_shape=(size, size, 2), padding=1
    )
    gate_op = ConvOperator.from_weights(rng.standard_normal((1, 1, 4, 4)), input_shape=(1, 1, 4))
    gate = Product([[], [AvgPool((size, size), (size, size)), Conv(gate_op), Sigmoid()]])
    op2 = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 4, 3)), input_shape=(size, size, 4), padding=1
    )
    return Network([Conv(op1), SiLU(), gate, Conv(op2)])


@pytest.mark.parametrize("consistent", [True, False])
def test_a_gate_leaves_the_local_spacing_and_the_answer_is_numpy_pinv(monkeypatch, consistent):
    monkeypatch.setattr(dense_gram, "DENSE_UNITS", 0)
    rng = np.random.default_rng(3)
    net = _excited(rng, 12)
    x0 = rng.random(net.input_shape)
    lin = net.linearize(x0)
    # the gate sees the whole map, the blocks' lattice only the convolutions' fields
    assert probe_spacing(lin) == (5, 5)
    pre = BlockJacobi(lin)
    u, v = rng.standard_normal((2, *lin.output_shape))
    assert np.vdot(u, pre(v)) == pytest.approx(np.vdot(pre(u), v), rel=1e-10)
    target = lin.apply(x0)
    dense = lin.to_dense()
    reference = np.linalg.pinv(dense) @ target.ravel()
    x, report = solve_prefix_pinv(lin, target, rtol=1e-11, consistent=consistent)
    assert report.converged, report.message
    np.testing.assert_allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))
    x, report = solve_prefix_pinv(lin, target, rtol=1e-11, preconditioner=pre)
    assert report.converged, report.message
    np.testing.assert_allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))


class _Clock:
    """``time`` for the solve's module: one second passes at each reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_a_set_up_that_cannot_end_within_the_time_limit_is_not_started(monkeypatch):
    from deconv_gui.core.network import solve

    monkeypatch.setattr(dense_gram, "DENSE_UNITS", 0)
    monkeypatch.setattr(solve, "_hopeless", lambda *_: True)  # it would switch at once
    monkeypatch.setattr(solve, "time", _Clock())
    rng = np.random.default_rng(4)
    net = _net(rng, 12)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    target = lin.apply(lin.x0)
    # a reading an iteration: the blocks' 192 products (75 of pixels) take 192 s, 49 are left
    _x, report = solve_prefix_pinv(lin, target, rtol=1e-300, time_limit=50.0, consistent=True)
    assert "stopped at the time limit" in report.message
    assert "block-Jacobi (192 products with J Jᵀ) would have taken more than half" in report.message
    assert "then block-Jacobi" not in report.message
    built = []

    class Recorded(BlockJacobi):
        def __init__(self, *args, patch=1, **keywords):
            built.append(patch)
            super().__init__(*args, patch=patch, **keywords)

    monkeypatch.setattr(solve, "BlockJacobi", Recorded)
    for seconds, patch in ((5000.0, 4), (300.0, 1)):  # 149 s of 299 left: a pixel's blocks
        _x, report = solve_prefix_pinv(lin, target, rtol=1e-300, time_limit=seconds, max_iter=5)
        assert "then block-Jacobi from iteration 1" in report.message
        assert "half the time left" not in report.message
        assert built.pop() == patch


def test_a_smooth_prefix_that_stops_short_names_its_slopes_and_gates():
    rng = np.random.default_rng(5)
    net = _excited(rng, 8)
    lin = net.linearize(rng.random(net.input_shape))
    _x, report = solve_prefix_pinv(lin, lin.apply(lin.x0), rtol=1e-300, max_iter=2)
    assert "ill-conditioned (its activations' slopes, gates," in report.message


def test_the_symbol_goes_on_alone_while_its_pace_says_it_ends_before_the_set_up(monkeypatch):
    from deconv_gui.core.network import solve

    monkeypatch.setattr(dense_gram, "DENSE_UNITS", 0)
    monkeypatch.setattr(solve, "_hopeless", lambda *_: False)  # the pace: nearly there
    rng = np.random.default_rng(6)
    lin = _net(rng, 12).linearize(rng.standard_normal((12, 12, 2)))
    cost = probe_count(lin, probe_patch(lin))
    target = lin.apply(lin.x0)
    _x, report = solve_prefix_pinv(lin, target, rtol=1e-300, max_iter=2 * cost + 3)
    # not at the set-up's cost: at twice it, the most the pace may defer it
    assert f"then block-Jacobi from iteration {2 * cost}" in report.message, report.message
