"""The solve's time limit (``Params.time_limit``, ``--time-limit``): a stop that says why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.cli import main
from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.core import params as schema
from deconv_gui.document import default_params
from deconv_gui.io import load_session, save_session
from deconv_gui.view.readout import metrics_rows, solve_stop_note

#: a limit every solve passes after its first iteration (no duration is asserted)
TINY = 1e-9


def _image(size: int = 64) -> np.ndarray:
    return np.random.default_rng(3).random((size, size, 3))


def _gaussian(**changes) -> Params:
    """The zero-padding stride-1 Gaussian: iterative at this size, far from converged in 1 step."""
    return Params(make_filter("gaussian"), stride=1, padding=1, **changes)


def test_a_time_limited_pinv_stops_after_its_first_iteration_and_says_why():
    result = run_pipeline(_image(), _gaussian(methods=("transposed", "pinv"), time_limit=TINY))
    report = result.solver
    assert report is not None and report.method != "dense"
    assert not report.converged and report.iterations == 1
    assert "stopped at the time limit (1e-09 s)" in report.message
    assert "estimated κ(A)" in report.message and "Tikhonov" in report.message
    note = solve_stop_note(report)
    assert note.startswith("pseudo-inverse stopped at the time limit (1e-09 s): estimated κ(A)")
    assert "try Tikhonov reg ≈" in note
    # the metrics table's pinv row carries the whole message in its tooltip notes
    row = next(r for r in metrics_rows(result) if r["name"] == "pinv")
    assert row["converged"] is False and report.message in row["notes"]
    # no limit (0, the schema's default): the same problem solves on
    free = run_pipeline(_image(), _gaussian(methods=("transposed", "pinv")))
    assert free.solver is not None and free.solver.iterations > 1
    assert "time limit" not in free.solver.message


@pytest.mark.parametrize(
    ("weights", "changes", "method"),
    [
        ((3, 3, 3, 16), {}, "cgls-normal"),  # tall: more outputs per stride cell than inputs
        ((3, 3, 3, 3), {"layer_kind": "conv_transpose"}, "pcg-normal"),
    ],
)
def test_a_solve_on_the_normal_equations_says_it_met_the_time_limit(weights, changes, method):
    w = np.random.default_rng(1).standard_normal(weights)
    params = Params(w, stride=2, padding=1, methods=("pinv",), time_limit=TINY, **changes)
    report = run_pipeline(_image(32), params).solver
    assert report is not None and report.method == method
    assert not report.converged and report.iterations == 1
    assert "NOT converged: stopped at the time limit (1e-09 s) before rtol=" in report.message
    assert solve_stop_note(report).startswith("pseudo-inverse stopped at the time limit")


def test_the_split_solve_is_limited_too():
    # with noise the split cannot reuse A⁺(y − b): it solves A⁺A x itself, under the limit
    params = _gaussian(methods=("transposed", "nullspace"), noise_sigma=0.01, time_limit=TINY)
    split = run_pipeline(_image(), params).metrics.split
    assert split is not None and not split.reused_pinv
    assert split.iterations == 1 and not split.converged


def test_the_field_round_trips_and_the_window_starts_with_a_budget(tmp_path):
    assert schema.defaults()["time_limit"] == 0.0  # the command line: no limit
    assert default_params().time_limit == schema.WINDOW_TIME_LIMIT > 0
    params = _gaussian(time_limit=0.375)
    assert Params.from_dict(params.to_dict()) == params
    assert load_session(save_session(tmp_path / "limit", params)).params.time_limit == 0.375
    for bad in (-1.0, float("nan"), float("inf"), "2", None):
        with pytest.raises(ValueError, match="time_limit"):
            _gaussian(time_limit=bad)


def test_cli_time_limit_reaches_the_solve_and_the_summary(tmp_path, capsys):
    argv = ["run", "--image", "astronaut", "--filter", "gaussian", "--stride", "1"]
    argv += ["--padding", "1", "--work-size", "64", "--methods", "pinv"]
    assert main([*argv, "--time-limit", str(TINY), "--out", str(tmp_path / "a")]) == 0
    line = capsys.readouterr().out
    assert "1 iterations" in line and "NOT converged, stopped at the time limit (1e-09 s)" in line
    assert "estimated κ(A)" in line and "Tikhonov" in line
    recorded = json.loads((tmp_path / "a" / "params.json").read_text())["params"]
    assert recorded["time_limit"] == TINY  # the export records the limit it ran with


@pytest.mark.parametrize("value", ["-1", "nan", "abc"])
def test_cli_refuses_a_bad_time_limit(tmp_path, capsys, value):
    argv = ["run", "--image", "astronaut", "--filter", "gaussian", "--out", str(tmp_path / "o")]
    assert main([*argv, "--time-limit", value]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
