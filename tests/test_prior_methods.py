"""The priors as methods of the registry: pipeline, CLI, export, sessions, window."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter, registry, run_pipeline
from deconv_gui.core.priors import nonneg_reconstruction, richardson_lucy, tv_reconstruction
from deconv_gui.io.session import load_session, save_session

PRIORS = ("tv", "nonneg", "richardson_lucy")
W = make_filter("gaussian", size=3, in_channels=1)


def _image() -> np.ndarray:
    x = np.full((20, 18, 1), 0.1)
    x[4:14, 5:12] = 0.9  # piecewise constant: what a TV prior expects
    return x


def test_registry_lists_the_priors_as_scored_reconstructions():
    assert set(PRIORS) <= set(registry.METHODS)
    for name in PRIORS:
        spec = registry.panel(name)
        assert spec.scored and spec.method == name and spec.attribute == name


def test_pipeline_panels_are_the_core_functions_results():
    x = _image()
    params = Params(
        W, stride=2, padding=1, bias=0.05, methods=PRIORS, prior_lam=2e-3, prior_iter=30
    )
    result = run_pipeline(x, params)
    y, geom = result.forward_output, dict(input_shape=x.shape, stride=2, padding=1)
    tv = tv_reconstruction(y, W, 0.05, lam=2e-3, max_iter=30, **geom).image
    nn = nonneg_reconstruction(y, W, 0.05, max_iter=30, **geom).image
    rl = richardson_lucy(y, W, 0.05, n_iter=30, **geom).image
    np.testing.assert_allclose(result.tv, tv, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.nonneg, nn, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(result.richardson_lucy, rl, rtol=1e-6, atol=1e-9)
    assert result.nonneg.min() >= 0 and result.richardson_lucy.min() >= 0
    assert result.pinv is None
    scores = result.metrics.reconstructions
    assert set(scores) == set(PRIORS)
    for name in PRIORS:
        assert np.isfinite(scores[name].psnr) and scores[name].psnr > 10


def test_richardson_lucy_clips_noisy_data_and_refuses_a_negative_filter():
    x = _image()
    noisy = Params(W, methods=("richardson_lucy",), noise_sigma=0.2, prior_iter=5)
    assert run_pipeline(x, noisy).richardson_lucy.min() >= 0  # y − b < 0 somewhere
    edge = make_filter("laplacian", in_channels=1)
    with pytest.raises(ValueError, match="weights"):
        run_pipeline(x, Params(edge, methods=("richardson_lucy",), prior_iter=5))


def test_prior_fields_are_validated_by_the_schema():
    for bad in ({"prior_lam": 0.0}, {"prior_lam": -1.0}, {"prior_iter": 0}, {"prior_iter": 2.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Params(W, **bad)


def test_cli_run_writes_the_prior_panels_and_their_metrics(tmp_path, capsys):
    from deconv_gui.cli import main

    out = tmp_path / "out"
    argv = ["run", "--image", "seed_toy", "--filter", "gaussian", "--methods", ",".join(PRIORS)]
    argv += ["--prior-lam", "0.004", "--prior-iter", "15", "--out", str(out), "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)["results"][0]
    for name in PRIORS:
        stem = registry.panel(name).export_name
        for fmt in ("npy", "tif", "png"):
            assert f"{stem}.{fmt}" in record["files"]
        assert (out / f"{stem}.npy").is_file() or any(out.rglob(f"{stem}.npy"))
        assert record["metrics"]["quality"][name]["psnr_db"] > 0
    saved = [json.loads(p.read_text()) for p in out.rglob("params.json")]
    assert saved, "params.json written"
    document = saved[0].get("params", saved[0])
    assert document["prior_lam"] == 0.004 and document["prior_iter"] == 15


def test_session_round_trip_keeps_the_prior_fields(tmp_path):
    params = Params(W, methods=("pinv", "tv", "richardson_lucy"), prior_lam=0.0123, prior_iter=7)
    session = load_session(save_session(tmp_path / "s", params))
    assert session.params == params
    assert (session.params.prior_lam, session.params.prior_iter) == (0.0123, 7)
    assert session.params.methods == ("pinv", "tv", "richardson_lucy")


@pytest.mark.gui
def test_window_offers_computes_and_scores_the_priors(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from qtpy import QtCore

    from deconv_gui.gui.main_window import MainWindow
    from deconv_gui.gui.support.teardown import delete_now

    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    try:
        for name in PRIORS:
            assert window.recon_options.priors.findChild(QtCore.QObject, f"method_{name}")
        window.recon_options.set_values(methods=("transposed", *PRIORS))
        window.compute_now()
        qtbot.waitUntil(
            lambda: (
                window.result is not None
                and window.result.tv is not None
                and not window.runner.busy
            ),
            timeout=60_000,
        )
        assert window.current_params().methods == ("transposed", *PRIORS)
        # a session's values are shown in the "with a prior" widgets
        window.apply_params(window.current_params().replace(prior_lam=0.05, prior_iter=9))
        assert window.current_params().prior_lam == 0.05
        assert window.current_params().prior_iter == 9
        for name in PRIORS:
            panel = window.panels.panel(name)
            assert panel.data is not None and not panel.isHidden()
            assert registry.panel(name).title.split("  ")[0] in panel.title_text
        table = window.metrics.text()
        for name in PRIORS:
            assert registry.panel(name).row_label in table
    finally:
        delete_now(window)


def test_the_priors_iterations_and_convergence_are_in_the_metrics():
    x = _image()
    geom = dict(input_shape=x.shape, stride=2, padding=1)
    for prior_iter in (3, 3000):  # stopped by the limit, then converged (RL: always "met")
        params = Params(W, stride=2, padding=1, methods=PRIORS, prior_iter=prior_iter)
        result = run_pipeline(x, params)
        y = result.forward_output
        expected = {
            "tv": tv_reconstruction(y, W, lam=1e-3, max_iter=prior_iter, **geom),
            "nonneg": nonneg_reconstruction(y, W, max_iter=prior_iter, **geom),
            "richardson_lucy": richardson_lucy(y, W, n_iter=prior_iter, **geom),
        }
        for name in PRIORS:
            report = expected[name].report
            assert result.prior_reports[name] == report
            score = result.metrics.reconstructions[name]
            assert score.iterations == report.iterations <= prior_iter
            assert score.converged is report.converged
            assert score.to_dict()["converged"] is report.converged
        assert result.prior_reports["richardson_lucy"].iterations == prior_iter
        assert result.prior_reports["tv"].converged is (prior_iter == 3000)
    direct = run_pipeline(x, Params(W, methods=("transposed",)))
    assert direct.metrics.reconstructions["transposed"].converged is None
    assert dict(direct.prior_reports) == {}


@pytest.mark.parametrize(
    ("shape", "methods"),
    [
        ((9, 8, 2), ("tv", "nonneg", "nullspace")),  # TV first; the dense split
        ((40, 36, 1), ("richardson_lucy", "nullspace")),  # the iterative split
    ],
)
def test_what_the_prior_invented_is_its_null_space_part_by_dense_pinv(shape, methods):
    from deconv_gui.core import ConvOperator

    x = np.random.default_rng(1).random(shape)
    w = make_filter("gaussian", size=3, in_channels=shape[2])
    params = Params(w, stride=2, padding=1, methods=methods, noise_sigma=0.01, prior_iter=40)
    result = run_pipeline(x, params)
    prior = methods[0]
    a = ConvOperator(params.geometry(x.shape), params.weights).to_dense()
    estimate = getattr(result, prior).ravel()
    expected = estimate - np.linalg.pinv(a) @ (a @ estimate)
    np.testing.assert_allclose(
        result.invented.ravel(), expected, atol=1e-6 * np.abs(estimate).max()
    )
    np.testing.assert_allclose(a @ result.invented.ravel(), 0, atol=1e-6)  # A maps it to 0
    split = result.metrics.split
    assert split.invented_by == prior
    fraction = np.linalg.norm(expected) / np.linalg.norm(estimate)
    assert split.invented_fraction == pytest.approx(fraction, rel=1e-5)
    assert split.to_dict()["invented_by"] == prior


def test_no_prior_no_invented_panel():
    x = _image()
    result = run_pipeline(x, Params(W, methods=("pinv", "nullspace")))
    assert result.invented is None and result.metrics.split.invented_by is None
    assert result.nullspace is not None


def test_run_pipeline_says_which_method_runs_before_its_progress():
    events = []
    params = Params(W, methods=("pinv", "tv", "nullspace"), prior_iter=5, noise_sigma=0.01)
    run_pipeline(
        _image(),
        params,
        progress=lambda it, value: events.append(("progress", it)),
        on_method=lambda name: events.append(("method", name)),
    )
    methods = [name for kind, name in events if kind == "method"]
    assert methods == ["pinv", "tv", "nullspace"]
    first = events.index(("method", "tv"))
    assert events[first + 1 : first + 6] == [("progress", k) for k in range(1, 6)]
