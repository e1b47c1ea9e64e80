"""The one registry of methods and panels: each entry reaches the CLI, the export, the window."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core import INSIGHT_METHODS, METHODS, Params, make_filter, registry, run_pipeline
from deconv_gui.core.decoder import fit_decoder
from deconv_gui.core.scores import Metrics, ReconstructionScore, SplitScore
from deconv_gui.io.decoder_file import write_decoder


def test_names_are_unique_and_every_method_has_panels_and_a_compute_function():
    assert len(set(registry.PANEL_NAMES)) == len(registry.PANELS)
    assert len({p.export_name for p in registry.PANELS}) == len(registry.PANELS)
    assert all(callable(spec.compute) for spec in registry.METHOD_SPECS)
    assert registry.ALL_METHODS == METHODS + INSIGHT_METHODS
    for spec in registry.METHOD_SPECS:
        assert spec.panels and all(registry.panel(p).method == spec.name for p in spec.panels)
    for spec in registry.PANELS:
        assert spec.method is None or spec.name in registry.method(spec.method).panels
        assert spec.display in registry.DISPLAY_KINDS


def test_lookups_refuse_unknown_names_naming_the_argument():
    with pytest.raises(ValueError, match="name"):
        registry.panel("forward_output")
    with pytest.raises(ValueError, match="export_name"):
        registry.panel_for_export_name("forward")
    with pytest.raises(ValueError, match="name"):
        registry.method("magic")
    assert registry.panel_for_export_name("forward_output").name == "forward"


def test_every_panel_is_computed_exported_and_reachable_from_the_cli(tmp_path, capsys):
    from deconv_gui.cli import METHOD_CHOICES, main

    assert set(registry.ALL_METHODS) < set(METHOD_CHOICES)
    out = tmp_path / "out"
    argv = ["run", "--image", "seed_toy", "--filter", "gaussian", "--methods", "all"]
    assert main([*argv, "--out", str(out), "--json"]) == 0  # the decoder left out, with a note
    capsys.readouterr()
    x, y = np.load(out / "input.npy"), np.load(out / "forward_output.npy")
    write_decoder(tmp_path / "dec.npz", fit_decoder([(x, y)], stride=2, kernel_size=4).decoder)
    argv += ["--decoder", str(tmp_path / "dec.npz"), "--overwrite"]
    # --methods all leaves out what does not apply: the priors with an activation, the
    # activation's methods without one; the two runs together give every panel
    files, shapes, quality = set(), {}, set()
    for activation in ("none", "relu"):
        out = tmp_path / activation
        assert main([*argv, "--activation", activation, "--out", str(out), "--json"]) == 0
        record = json.loads(capsys.readouterr().out)["results"][0]
        files |= set(record["files"])
        shapes.update(record["metrics"]["shapes"])
        quality |= set(record["metrics"]["quality"])
    for spec in registry.PANELS:
        for fmt in ("npy", "tif", "png"):
            assert f"{spec.export_name}.{fmt}" in files
        assert shapes[spec.export_name]
    assert quality == {p.name for p in registry.PANELS if p.scored}


def test_every_panel_is_an_array_of_the_result():
    image = np.random.default_rng(0).random((9, 8, 3))
    params = Params(make_filter("gaussian"), methods=registry.ALL_METHODS)
    y = params.operator(image.shape).apply(image)
    decoder = fit_decoder([(image, y)], stride=2, kernel_size=3).decoder
    result = run_pipeline(image, params, decoder=decoder)
    for spec in registry.PANELS:
        assert isinstance(result.panel(spec.name), np.ndarray), spec.name
        assert result.panel(spec.name) is getattr(result, spec.attribute)
        assert result.images[spec.name] is result.panel(spec.name)
    metrics = result.metrics
    assert isinstance(metrics, Metrics) and isinstance(metrics.split, SplitScore)
    assert set(metrics.reconstructions) == {p.name for p in registry.PANELS if p.scored}
    assert all(isinstance(s, ReconstructionScore) for s in metrics.reconstructions.values())
    document = json.loads(json.dumps(metrics.to_dict()))
    assert document["split"]["reused_pinv"] is True
    assert document["reconstructions"]["pinv"]["iterations"] == result.solver.iterations


@pytest.mark.gui
def test_every_panel_has_a_window_panel_and_an_export_choice(qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from qtpy import QtCore

    from deconv_gui.gui.actions.export import available_panels, window_panel
    from deconv_gui.gui.main_window import MainWindow
    from deconv_gui.gui.panels.grid import PANEL_NAMES
    from deconv_gui.gui.support.teardown import delete_now

    assert PANEL_NAMES == registry.PANEL_NAMES
    settings = QtCore.QSettings(str(tmp_path / "s.ini"), QtCore.QSettings.Format.IniFormat)
    window = MainWindow(settings, restore=False)
    try:
        qtbot.waitUntil(lambda: window.result is not None and window.live.idle, timeout=60_000)
        x = np.asarray(window.result.image, dtype=np.float64)
        params = window.current_params()
        y = params.operator(x.shape).apply(x) + np.asarray(params.bias)
        decoder = fit_decoder([(x, y)], stride=params.stride, kernel_size=4).decoder
        write_decoder(tmp_path / "dec.npz", decoder)
        window.decoders.load_path(tmp_path / "dec.npz")
        qtbot.waitUntil(lambda: "decoder" in window.current_params().methods, timeout=60_000)
        window.recon_options.set_values(methods=METHODS)
        window.insight.set_panels_visible(True)
        window.compute_now()
        qtbot.waitUntil(
            lambda: (
                window.result is not None
                and window.result.nullspace is not None
                and not window.runner.busy
            ),
            timeout=60_000,
        )
        exported = [name for name, _ in available_panels(window.state, window.panels)]
        assert exported == [p.export_name for p in registry.PANELS]
        for spec in registry.PANELS:
            panel = window_panel(window.panels, spec.export_name)
            assert panel is window.panels.panel(spec.name)
            assert panel.data is not None and spec.title.split("  ")[0] in panel.title_text
    finally:
        delete_now(window)


def test_the_registry_derives_the_priors_and_what_the_scripts_reproduce():
    from deconv_gui.io.snippets import SNIPPET_METHODS
    from deconv_gui.io.snippets.common import PRIOR_VARIABLES, saved_arrays

    assert registry.PRIORS == ("tv", "nonneg", "richardson_lucy")
    assert SNIPPET_METHODS == registry.SNIPPET_METHODS
    assert set(PRIOR_VARIABLES) == set(registry.PRIORS)
    saved = saved_arrays(registry.SNIPPET_METHODS)
    assert set(saved) - {"forward_output", "transposed", "invented"} <= set(registry.PANEL_NAMES)
    for name in registry.SNIPPET_METHODS:
        spec = registry.method(name)
        assert spec.summary and spec.api and spec.saved
    result = run_pipeline(np.ones((6, 6, 1)), Params(np.ones((2, 2, 1)), methods=("pinv",)))
    assert result.pinv is result.images["pinv"] and result.tv is None
    assert result.solver is not None and result.prior_reports == {}
    with pytest.raises(AttributeError):
        result.no_such_panel  # noqa: B018
