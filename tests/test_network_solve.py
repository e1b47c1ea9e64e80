"""J⁺ of a prefix: the block-Jacobi preconditioner's blocks against the dense J Jᵀ, the
switch to it from the symbol, the consistent solve, the time limit, the reason a solve
stopped, cancel; every answer against numpy.linalg.pinv of the dense J."""

from __future__ import annotations

import math
import re
import threading

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, MaxPool, Network, ReLU, dense_gram
from deconv_gui.core.network.block_jacobi import BlockJacobi, probe_count, probe_spacing
from deconv_gui.core.network.solve import solve_prefix_pinv, stop_words
from deconv_gui.core.solvers import PseudoInverseSolver, SolveCancelled


def _net(rng, stride=1, pool=True, size=12):
    w1 = rng.standard_normal((3, 3, 2, 5))
    op1 = ConvOperator.from_weights(w1, input_shape=(size, size, 2), padding=1)
    half = size // 2 if pool else size
    w2 = rng.standard_normal((3, 3, 5, 3))
    op2 = ConvOperator.from_weights(w2, input_shape=(half, half, 5), stride=stride, padding=1)
    layers = [Conv(op1, rng.standard_normal(5)), ReLU(), *([MaxPool(2)] if pool else []), Conv(op2)]
    return Network(layers)


def _blocks(dense: np.ndarray, shape) -> np.ndarray:
    h, w, c = shape
    gram = (dense @ dense.T).reshape(h, w, c, h, w, c)
    return np.stack([np.stack([gram[i, j, :, i, j, :] for j in range(w)]) for i in range(h)])


@pytest.mark.parametrize(("stride", "pool"), [(1, True), (2, True), (1, False), (2, False)])
def test_the_blocks_are_those_of_the_dense_j_jt(stride, pool):
    rng = np.random.default_rng(stride + 2 * pool)
    net = _net(rng, stride, pool)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    blocks = _blocks(lin.to_dense(), net.shapes[-1])
    got = np.linalg.inv(BlockJacobi(lin).inverse)
    np.testing.assert_allclose(got, blocks, atol=1e-9 * np.abs(blocks).max())
    h, w, c = net.shapes[-1]
    s_h, s_w = probe_spacing(lin)
    assert probe_count(lin) == min(s_h, h) * min(s_w, w) * c


@pytest.mark.parametrize(
    ("mode", "padding", "spacing"),
    [
        ("reflect", (1, 2), (2, 7)),  # rows: same padding, 3 / 2; columns: 3 + 2 (2·2 + 1 - 3)
        ("replicate", (1, 2), (2, 3)),  # an edge pixel inside every window: no growth
        ("replicate", (1, 4), (2, 7)),  # windows wholly in the border: 3 + 2 (4 + 1 - 3)
    ],
)
def test_a_copied_border_widens_the_spacing_and_the_blocks_stay_exact(mode, padding, spacing):
    rng = np.random.default_rng(9)
    w = rng.standard_normal((3, 3, 2, 4))
    op = ConvOperator.from_weights(
        w, input_shape=(10, 9, 2), stride=(2, 1), padding=padding, padding_mode=mode
    )
    net = Network([Conv(op)])
    lin = net.linearize(rng.standard_normal(net.input_shape))
    assert probe_spacing(lin) == spacing
    blocks = _blocks(lin.to_dense(), net.shapes[-1])
    got = np.linalg.inv(BlockJacobi(lin).inverse)
    np.testing.assert_allclose(got, blocks, atol=1e-9 * np.abs(blocks).max())


def _shared_inputs(dense: np.ndarray, shape, spacing) -> int:
    """Pairs of distinct output units of one lattice phase whose rows of J overlap."""
    h, w, c = shape
    pattern = (np.abs(dense) > 1e-9 * np.abs(dense).max()).astype(float)
    touch = ((pattern @ pattern.T).reshape(h, w, c, h, w, c) > 0).any(axis=(2, 5))
    rows, cols = np.indices((h, w)).reshape(2, -1)
    same = ((rows[:, None] - rows) % spacing[0] == 0) & ((cols[:, None] - cols) % spacing[1] == 0)
    np.fill_diagonal(same, False)
    return int((touch.reshape(h * w, h * w) & same).sum())


@pytest.mark.parametrize(
    ("size", "layers"),
    [
        (7, [("reflect", 3, (4, 0), 1, 1), ("replicate", 1, (4, 2), 2, 1)]),
        (5, [("reflect", 2, (4, 4), 2, 2)]),  # the copies of both borders meet
        (9, [("reflect", 3, (5, 5), 1, 1)]),
        (9, [("replicate", 3, (5, 1), 1, 1), ("reflect", 3, (2, 3), 2, 1)]),
    ],
)
def test_the_spacing_keeps_copied_borders_apart(size, layers):
    # against the dense J: lattice units never share an input (the blocks' exactness)
    rng = np.random.default_rng(11)
    shape, convs = (size, size, 1), []
    for mode, k, sides, stride, dilation in layers:
        op = ConvOperator.from_weights(
            rng.standard_normal((k, k, shape[2], 2)),
            input_shape=shape,
            stride=stride,
            padding=(sides, sides),
            dilation=dilation,
            padding_mode=mode,
        )
        convs += [Conv(op), ReLU()]
        shape = op.geometry.output_shape
    net = Network(convs)
    lin = net.linearize(rng.standard_normal(net.input_shape) + 0.5)
    assert _shared_inputs(lin.to_dense(), net.shapes[-1], probe_spacing(lin)) == 0


def _circular_net(rng, size):
    """A circular 3 × 3 conv on the input, a ReLU, a "same" 3 × 3 conv: fields of 5."""
    op1 = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 3)),
        input_shape=(size, size, 2),
        padding=1,
        padding_mode="circular",
    )
    w2 = rng.standard_normal((3, 3, 3, 2))
    op2 = ConvOperator.from_weights(w2, input_shape=(size, size, 3), padding=1)
    return Network([Conv(op1, rng.standard_normal(3)), ReLU(), Conv(op2)])


@pytest.mark.parametrize(("size", "spacing"), [(10, 5), (11, 6)])
def test_a_circular_input_border_keeps_the_lattice_clear_of_the_seam(size, spacing):
    # arcs of 5 input pixels on a circle of `size`: at 11, units 0 and 10 (spacing 5) both
    # read pixels 10 and 0 across the seam; units 0 and 6 do not meet
    rng = np.random.default_rng(10)
    net = _circular_net(rng, size)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    dense, shape = lin.to_dense(), net.shapes[-1]
    assert probe_spacing(lin) == (spacing, spacing)
    assert _shared_inputs(dense, shape, (spacing, spacing)) == 0
    if spacing > 5:
        assert _shared_inputs(dense, shape, (5, 5)) > 0  # the seam is real
    blocks = _blocks(dense, shape)
    pre = BlockJacobi(lin)
    got = np.linalg.inv(pre.inverse)
    np.testing.assert_allclose(got, blocks, atol=1e-9 * np.abs(blocks).max())
    u, v = rng.standard_normal((2, *shape))  # a dot test: the preconditioner is symmetric
    assert np.vdot(u, pre(v)) == pytest.approx(np.vdot(pre(u), v), rel=1e-10)
    target = lin.apply(rng.standard_normal(net.input_shape))
    x, report = solve_prefix_pinv(lin, target, rtol=1e-11)
    reference = np.linalg.pinv(dense) @ target.ravel()
    assert report.converged, report.message
    np.testing.assert_allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))


def test_a_circular_border_behind_a_stride_has_no_blocks():
    rng = np.random.default_rng(10)
    first = ConvOperator.from_weights(
        rng.standard_normal((3, 3, 2, 2)), input_shape=(8, 8, 2), stride=2, padding=1
    )
    w = rng.standard_normal((3, 3, 2, 2))
    op = ConvOperator.from_weights(w, input_shape=(4, 4, 2), padding=1, padding_mode="circular")
    lin = Network([Conv(first), ReLU(), Conv(op)]).linearize(rng.standard_normal((8, 8, 2)))
    assert probe_spacing(lin) is None and probe_count(lin) == 0


def test_a_zero_row_gives_a_floored_block_and_the_preconditioner_stays_spd():
    rng = np.random.default_rng(3)
    net = _net(rng)
    # every unit of the ReLU masked on the left half: units there see nothing
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    lin.states[1] = lin.states[1].copy()
    lin.states[1][:, :6] = False
    pre = BlockJacobi(lin, reg=0.0)
    shape = net.shapes[-1]
    n = int(np.prod(shape))
    matrix = np.stack([pre(e.reshape(shape)).ravel() for e in np.eye(n)], axis=1)
    assert np.allclose(matrix, matrix.T, atol=1e-9 * np.abs(matrix).max())
    assert np.linalg.eigvalsh(0.5 * (matrix + matrix.T)).min() > 0


@pytest.mark.parametrize("whole", [False, True], ids=["blocks", "whole"])
@pytest.mark.parametrize("consistent", [True, False])
def test_the_switch_to_the_blocks_keeps_the_minimum_norm_answer(consistent, whole, monkeypatch):
    if not whole:  # a small output takes the whole J Jᵀ: the blocks for a large one
        monkeypatch.setattr(dense_gram, "DENSE_UNITS", 0)
    rng = np.random.default_rng(4)
    net = _net(rng, stride=1, pool=False, size=8)
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    dense = lin.to_dense()
    target = lin.apply(x0)
    reference = np.linalg.pinv(dense) @ target.ravel()
    x, report = solve_prefix_pinv(lin, target, rtol=1e-11, consistent=consistent)
    assert report.converged
    found = re.search(r"then (block-Jacobi|the whole J Jᵀ) from iteration (\d+)", report.message)
    assert found is not None, report.message
    assert found[1] == ("the whole J Jᵀ" if whole else "block-Jacobi")
    assert int(found[2]) <= (math.prod(lin.output_shape) if whole else probe_count(lin))
    np.testing.assert_allclose(x.ravel(), reference, atol=1e-8 * np.linalg.norm(reference))
    if consistent:  # said to be in the range: no least-squares switch on a plateau
        assert report.method == "pcg"
    reg = 0.3
    tikhonov = np.linalg.solve(
        dense.T @ dense + reg * np.eye(dense.shape[1]), dense.T @ target.ravel()
    )
    x, report = solve_prefix_pinv(lin, target, reg=reg, rtol=1e-12)
    assert report.converged
    np.testing.assert_allclose(x.ravel(), tikhonov, atol=1e-8 * np.linalg.norm(tikhonov))


def test_restart_with_another_preconditioner_goes_on_to_the_same_answer():
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((20, 30))
    y = matrix @ rng.standard_normal(30)
    solver = PseudoInverseSolver(lambda v: matrix @ v, lambda u: matrix.T @ u, rtol=1e-12)
    solver.setup(y)
    solver.run(5)
    scale = 1.0 / np.diag(matrix @ matrix.T)
    solver.restart(lambda r: scale * r)
    solver.run(200)
    x, report = solver.finalize()
    assert report.converged
    np.testing.assert_allclose(x, np.linalg.pinv(matrix) @ y, atol=1e-9)


def test_a_consistent_solve_stays_on_cg_through_a_residual_plateau():
    # a rank-deficient J with y = J x₀: CG's residual settles for a while; without
    # `consistent` the solver takes that for a y outside the range and goes to CGLS
    rng = np.random.default_rng(6)
    left, right = rng.standard_normal((40, 8)), rng.standard_normal((8, 60))
    matrix = left @ np.diag(np.logspace(0, -4, 8)) @ right
    y = matrix @ rng.standard_normal(60)
    solver = PseudoInverseSolver(
        lambda v: matrix @ v, lambda u: matrix.T @ u, rtol=1e-10, consistent=True
    )
    x, report = solver.solve(y, 500)
    assert report.method == "pcg"
    np.testing.assert_allclose(x, np.linalg.pinv(matrix, rcond=1e-12) @ y, atol=1e-6)


def test_a_limit_stops_the_solve_and_says_why():
    rng = np.random.default_rng(7)
    net = _net(rng)
    x0 = rng.standard_normal(net.input_shape)
    lin = net.linearize(x0)
    target = lin.apply(x0)
    _x, report = solve_prefix_pinv(lin, target, rtol=1e-300, max_iter=3, consistent=True)
    assert not report.converged and report.iterations == 3
    assert "stopped at the iteration limit (3)" in report.message
    assert "set reg > 0" in report.message
    assert stop_words(report, 1e-300).startswith(
        "J⁺ stopped by its iteration limit before rtol 1e-300: 3 iterations"
    )
    _x, report = solve_prefix_pinv(lin, target, rtol=1e-300, time_limit=1e-9, consistent=True)
    assert not report.converged and report.iterations == 1
    assert "stopped at the time limit (1e-09 s, 1 iterations)" in report.message
    assert "time limit" in stop_words(report)
    with pytest.raises(ValueError, match=r"^time_limit must be"):
        solve_prefix_pinv(lin, target, time_limit=-1.0)
    with pytest.raises(ValueError, match=r"^max_iter must be"):
        solve_prefix_pinv(lin, target, max_iter=0)


def test_cancel_stops_the_block_set_up(monkeypatch):
    rng = np.random.default_rng(8)
    net = _net(rng)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    stop = threading.Event()
    stop.set()
    with pytest.raises(SolveCancelled):
        BlockJacobi(lin, cancel=stop)
    building = []
    real_batch = dense_gram.probe_batch

    def batch(*args):  # the set-up of the whole J Jᵀ has begun
        building.append(1)
        return real_batch(*args)

    monkeypatch.setattr(dense_gram, "probe_batch", batch)
    # let the symbol phase run, cancel in the set-up of the next preconditioner
    with pytest.raises(SolveCancelled):
        solve_prefix_pinv(lin, lin.apply(lin.x0), rtol=1e-300, cancel=lambda: bool(building))
    assert building
