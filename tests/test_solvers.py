"""The matrix-free pseudo-inverse solver against dense numpy.linalg references.

The dense path of ``pinv_reconstruction`` would hide the iterative solver on small
problems, so every test here forces the iterative path (``method="iterative"``,
:func:`make_pinv_solver` or :class:`PseudoInverseSolver` on explicit matrices).

Tolerances. The solver stops when ``‖y − A x̂‖ ≤ rtol ‖y‖`` (y in the range) or when
``‖Aᵀ(y − A x̂)‖ ≤ rtol ‖A‖ ‖y − A x̂‖`` (least squares), and ``x̂`` lies in the range
of ``Aᵀ``. With ``κ = σ_max / σ_min`` over the non-zero singular values this bounds
the relative error by ``κ · rtol`` in the first case and by ``κ² · rtol · ‖r‖/‖P y‖``
in the second (``AᵀA (x̂ − x*) = Aᵀ r̂``). We use ``rtol = 1e-10``, keep geometries
with ``κ ≤ 300`` (hypothesis rejects the rare worse ones), and allow
``50 κ² rtol + 1e-9`` — a bound that holds with room to spare, while a wrong
(e.g. not minimum-norm) answer is off by O(1).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deconv_gui.core import ConvGeometry, ConvOperator, make_filter
from deconv_gui.core.reconstruct import make_pinv_solver, pinv_reconstruction
from deconv_gui.core.solvers import (
    NotConvergedWarning,
    PseudoInverseSolver,
    SolveCancelled,
    SolverReport,
)

RTOL = 1e-10
MAX_KAPPA = 300.0
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


def _kappa_and_pinv(matrix: np.ndarray) -> tuple[float, np.ndarray]:
    """Condition number over the non-zero singular values, and the matching pinv.

    Zero is zero to rounding (``1e-12 σ_max``): a singular value between that and a
    cut such as ``1e-9`` is a direction the solver rightly inverts (``y``'s share of it
    divided by the tiny value), which a pinv cut there would drop; such a problem has a
    huge κ here and is left out by the tests that bound κ."""
    singular = np.linalg.svd(matrix, compute_uv=False)
    cutoff = 1e-12 * singular[0]
    nonzero = singular[singular > cutoff]
    return float(nonzero[0] / nonzero[-1]), np.linalg.pinv(matrix, rcond=1e-12)


@st.composite
def problems(draw):
    """A random small geometry, a filter (sometimes tied across channels), and y."""
    h = draw(st.integers(4, 10))
    w = draw(st.integers(4, 10))
    c_in = draw(st.integers(1, 3))
    c_out = draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    try:
        geom = ConvGeometry((h, w, c_in), (fh, fw, c_in, c_out), stride, padding, dilation)
    except ValueError:
        assume(False)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    weights = rng.standard_normal((fh, fw, c_in, c_out))
    tie = draw(st.sampled_from(["none", "channels", "outputs"]))
    if tie == "channels":  # the same filter in every input channel
        weights[:] = weights[:, :, :1, :]
    elif tie == "outputs":  # identical output channels: duplicate rows, A Aᵀ singular
        weights[:] = weights[:, :, :, :1]
    matrix = ConvOperator(geom, weights).to_dense()
    if draw(st.booleans()):
        y = (matrix @ rng.standard_normal(matrix.shape[1])).reshape(geom.output_shape)
    else:  # generic y: outside the range whenever A is rank-deficient
        y = rng.standard_normal(geom.output_shape)
    return geom, weights, matrix, y


def _solve(geom, weights, y, **kw):
    return pinv_reconstruction(
        y,
        weights,
        input_shape=geom.input_shape,
        stride=geom.stride,
        padding=geom.padding,
        dilation=geom.dilation,
        method="iterative",
        **kw,
    )


@SETTINGS
@given(problems())
def test_iterative_pinv_matches_numpy_pinv(problem):
    geom, weights, matrix, y = problem
    kappa, pinv = _kappa_and_pinv(matrix)
    assume(kappa <= MAX_KAPPA)
    image, report = _solve(geom, weights, y, rtol=RTOL, max_iter=5000)
    expected = pinv @ y.ravel()
    assert report.converged, report.message
    assert image.shape == geom.input_shape
    scale = max(np.linalg.norm(expected), 1e-300)
    assert np.linalg.norm(image.ravel() - expected) <= (50 * kappa**2 * RTOL + 1e-9) * scale
    # the reported residual is the true one
    true_rel = np.linalg.norm(matrix @ image.ravel() - y.ravel()) / np.linalg.norm(y)
    assert report.relative_residual == pytest.approx(true_rel, rel=1e-6, abs=1e-14)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(problems(), st.sampled_from([1e-3, 0.1, 2.0]))
def test_iterative_tikhonov_matches_closed_form(problem, reg):
    geom, weights, matrix, y = problem
    image, report = _solve(geom, weights, y, reg=reg, rtol=RTOL, max_iter=5000)
    n = matrix.shape[1]
    expected = np.linalg.solve(matrix.T @ matrix + reg * np.eye(n), matrix.T @ y.ravel())
    # (A Aᵀ + reg I) has condition number <= (σ_max² + reg) / reg: the error bound is
    # that times rtol; 1e-6 relative leaves a wide margin for every reg drawn here.
    assert report.converged, report.message
    scale = max(np.linalg.norm(expected), 1e-300)
    assert np.linalg.norm(image.ravel() - expected) <= 1e-6 * scale


def _rank_deficient_case():
    """Stride 1, the same Sobel filter in every channel, padding 2: y outside the range."""
    geom = ConvGeometry((8, 9, 3), (3, 3, 3, 1), 1, 2)
    weights = make_filter("sobel_x")
    y = np.random.default_rng(3).standard_normal(geom.output_shape)
    return geom, weights, y


def test_inconsistent_y_gives_min_norm_least_squares_and_says_so():
    geom, weights, y = _rank_deficient_case()
    matrix = ConvOperator(geom, weights).to_dense()
    kappa, pinv = _kappa_and_pinv(matrix)
    image, report = _solve(geom, weights, y, rtol=RTOL, max_iter=5000)
    expected = pinv @ y.ravel()
    assert report.converged
    assert report.method == "pcg+cgls"
    assert "least-squares" in report.message
    assert report.normal_residual <= RTOL
    assert report.relative_residual > 0.1  # y really is outside the range
    assert np.linalg.norm(image.ravel() - expected) <= (
        50 * kappa**2 * RTOL + 1e-9
    ) * np.linalg.norm(expected)
    # orthogonal to the null space: x̂ = A⁺ A x̂
    np.testing.assert_allclose(pinv @ (matrix @ image.ravel()), image.ravel(), atol=1e-7)


@pytest.mark.parametrize("preconditioned", [True, False])
def test_solver_class_both_variants_match_dense(preconditioned):
    geom = ConvGeometry((11, 9, 3), (3, 3, 3, 2), 2, 1)
    weights = np.random.default_rng(0).standard_normal(geom.filter_shape)
    matrix = ConvOperator(geom, weights).to_dense()
    y = np.random.default_rng(1).standard_normal(geom.output_shape)
    kappa, pinv = _kappa_and_pinv(matrix)
    solver = make_pinv_solver(geom, weights, rtol=RTOL, preconditioned=preconditioned)
    image, report = solver.solve(y, 2000)
    assert isinstance(report, SolverReport)
    assert report.converged and solver.converged
    assert solver.iiter == report.iterations == len(report.history)
    np.testing.assert_allclose(
        image.ravel(), pinv @ y.ravel(), atol=50 * kappa * RTOL * np.abs(image).max()
    )


def test_preconditioner_cuts_iterations_at_stride_2():
    geom = ConvGeometry((40, 36, 3), (3, 3, 3, 1), 2, 1)
    weights = make_filter("random", seed=4)
    y = np.random.default_rng(2).standard_normal(geom.output_shape)
    plain = make_pinv_solver(geom, weights, rtol=1e-8, preconditioned=False).solve(y, 500)[1]
    fast = make_pinv_solver(geom, weights, rtol=1e-8).solve(y, 500)[1]
    assert plain.converged and fast.converged
    assert fast.iterations < plain.iterations


def test_generic_solver_on_explicit_rank_deficient_matrix():
    """Independent of convolutions: a 30×50 matrix of rank 12, y outside its range."""
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((30, 12)) @ rng.standard_normal((12, 50))
    y = rng.standard_normal(30)
    solver = PseudoInverseSolver(lambda v: matrix @ v, lambda v: matrix.T @ v, rtol=RTOL)
    image, report = solver.solve(y, 2000)
    kappa, pinv = _kappa_and_pinv(matrix)
    assert report.converged, report.message
    np.testing.assert_allclose(image, pinv @ y, atol=(50 * kappa**2 * RTOL + 1e-9) * 10)


def test_zero_right_hand_side():
    geom = ConvGeometry((9, 9, 3), (3, 3, 3, 1), 2, 0)
    solver = make_pinv_solver(geom, make_filter("random"))
    image, report = solver.solve(np.zeros(geom.output_shape))
    assert report.converged and report.iterations == 0
    assert report.relative_residual == 0.0
    assert image.shape == geom.input_shape and not image.any()


class _CancelAfter:
    """A cancel callable that returns True from its ``k``-th call on."""

    def __init__(self, k: int) -> None:
        self.k, self.calls = k, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.k


def test_cancel_stops_within_one_iteration():
    geom, weights, y = _rank_deficient_case()
    steps: list[int] = []
    cancel = _CancelAfter(4)
    with pytest.raises(SolveCancelled):
        _solve(geom, weights, y, progress=lambda i, r: steps.append(i), cancel=cancel)
    # checked before every iteration: 3 iterations ran, the 4th never started
    assert steps == [1, 2, 3]
    assert cancel.calls == 4


def test_cancel_with_a_set_event_runs_no_iteration():
    geom, weights, y = _rank_deficient_case()
    event = threading.Event()
    event.set()
    steps: list[int] = []
    with pytest.raises(SolveCancelled):
        _solve(geom, weights, y, progress=lambda i, r: steps.append(i), cancel=event)
    assert steps == []


def test_progress_reports_every_iteration_with_the_history():
    geom = ConvGeometry((20, 20, 3), (3, 3, 3, 1), 1, 1)
    weights = make_filter("random", seed=1)
    y = np.random.default_rng(0).standard_normal(geom.output_shape)
    seen: list[tuple[int, float]] = []
    _, report = _solve(geom, weights, y, progress=lambda i, r: seen.append((i, r)))
    assert [i for i, _ in seen] == list(range(1, report.iterations + 1))
    assert tuple(r for _, r in seen) == report.history
    assert report.converged


def test_iteration_limit_is_reported_honestly():
    geom = ConvGeometry((20, 20, 3), (3, 3, 3, 1), 1, 1)
    weights = make_filter("random", seed=1)
    y = np.random.default_rng(0).standard_normal(geom.output_shape)
    image, report = _solve(geom, weights, y, max_iter=2)
    assert report.iterations == 2
    assert not report.converged
    assert "NOT converged" in report.message
    assert report.relative_residual > 1e-8
    assert image.shape == geom.input_shape and np.isfinite(image).all()
    with pytest.warns(NotConvergedWarning, match="NOT converged"):  # only for the bare image
        pinv_reconstruction(
            y,
            weights,
            input_shape=geom.input_shape,
            padding=1,
            max_iter=2,
            method="iterative",
            return_report=False,
        )


def test_iterate_stopped_early_lies_in_range_of_adjoint():
    geom = ConvGeometry((9, 8, 3), (3, 3, 3, 1), 1, 1)
    weights = make_filter("random", seed=5)
    y = np.random.default_rng(9).standard_normal(geom.output_shape)
    image, report = _solve(geom, weights, y, max_iter=3)
    assert not report.converged
    _, pinv = _kappa_and_pinv(matrix := ConvOperator(geom, weights).to_dense())
    np.testing.assert_allclose(pinv @ (matrix @ image.ravel()), image.ravel(), atol=1e-9)


def test_converged_run_emits_no_warning():
    geom = ConvGeometry((9, 9, 3), (3, 3, 3, 1), 2, 0)
    y = np.random.default_rng(0).standard_normal(geom.output_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pinv_reconstruction(
            y, make_filter("random"), input_shape=geom.input_shape, stride=2, method="iterative"
        )


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"reg": -1.0}, "reg"), ({"rtol": 0.0}, "rtol"), ({"reg": np.nan}, "reg")],
)
def test_solver_rejects_bad_options(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PseudoInverseSolver(lambda v: v, lambda v: v, **kwargs)


def test_one_callbacks_object_carries_progress_cancel_and_the_hooks():
    """Every solver reports through one Callbacks: setup, each step, finalize; cancel stops."""
    from deconv_gui.core import Callbacks, ConvOperator, SolveCancelled, nonneg_reconstruction
    from deconv_gui.core.solvers import FistaSolver, make_pinv_solver

    class Recorder(Callbacks):
        def __init__(self):
            super().__init__()
            self.events = []

        def on_setup(self, solver):
            self.events.append("setup")

        def on_step(self, solver):
            self.events.append(solver.iiter)

        def on_finalize(self, solver, result):
            self.events.append(("finalize", result.report.iterations))

    rng = np.random.default_rng(3)
    op = ConvOperator.from_weights(rng.random((3, 3, 1)), input_shape=(12, 12, 1), stride=2)
    y = op.apply(rng.random((12, 12, 1)))
    for solver in (make_pinv_solver(op, callbacks=Recorder()), None):
        if solver is None:
            recorder = Recorder()
            result = nonneg_reconstruction(y, op, max_iter=5, tol=1e-30, callbacks=recorder)
            events, n = recorder.events, result.report.iterations
        else:
            _, report = solver.solve(y, 50)
            events, n = solver.callbacks.events, report.iterations
        assert events == ["setup", *range(1, n + 1), ("finalize", n)]
    stop = Callbacks(cancel=lambda: True)
    with pytest.raises(SolveCancelled):
        FistaSolver(op, tol=1e-6, callbacks=stop).solve(y, 5)
    with pytest.raises(ValueError, match="callbacks"):
        make_pinv_solver(op, callbacks=stop, progress=print)


def test_old_result_and_report_names_warn_and_still_work():
    import deconv_gui.core as core
    from deconv_gui.core import Reconstruction, SolverReport

    for old, new in (
        ("PinvResult", Reconstruction),
        ("PriorResult", Reconstruction),
        ("PriorReport", SolverReport),
    ):
        with pytest.warns(DeprecationWarning, match=old):
            assert getattr(core, old) is new


@pytest.mark.parametrize("method", ["dense", "iterative"])
@pytest.mark.parametrize("c", [1e-200, 1e160, 1e300])
def test_pinv_of_filters_whose_square_leaves_the_floats(method, c):
    """``A = c A₀`` gives ``A⁺ y = A₀⁺ y / c`` also where ``c²`` is 0 or inf in float64:
    the unit scaling's Tikhonov weight ``λ / c²`` raised ZeroDivisionError (c = 1e-200) or
    OverflowError (c = 1e160) instead of solving (no ValueError, no answer)."""
    rng = np.random.default_rng(3)
    w, y = rng.standard_normal((3, 3, 2, 1)), rng.standard_normal((3, 3, 1))
    hyper = {"input_shape": (6, 6, 2), "stride": 2, "padding": 1, "method": method}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unit = pinv_reconstruction(y, w, **hyper).image
        scaled = pinv_reconstruction(y, w * c, **hyper).image
        # λ / c² beyond every float: an infinite weight, whose solution is 0
        damped = pinv_reconstruction(y, w * c, reg=1e-3, **hyper).image
    np.testing.assert_allclose(scaled * c, unit, rtol=1e-6, atol=1e-9)
    assert np.isfinite(damped).all()
    if c < 1:
        assert np.abs(damped * c).max() < 1e-250 * np.abs(unit).max()
