"""Generated scripts refuse what the core refuses, and solve as the core does.

Each script runs in a fresh interpreter. Richardson–Lucy with a filter that has negative
weights (the ``.npz`` beside the script edited after it was written) stops with one line
naming ``weights``, as ``richardson_lucy`` raises a ValueError naming it. A leaky ReLU's
in-range pseudo-inverse is solved on the conv (``A⁺ D⁻¹ r``), as the app does, not by
LSQR or CGLS on ``J = D A``, whose small slopes stall them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deconv_gui.core import Params, run_pipeline
from deconv_gui.io.snippets import make_snippet, write_layer_weights

REPO = Path(__file__).resolve().parents[1]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _write(tmp_path: Path, language: str, params: Params, image: np.ndarray, weights=True):
    np.save(tmp_path / "x.npy", image)
    paths = {
        "image_path": str(tmp_path / "x.npy"),
        "save_path": str(tmp_path / f"out_{language}.npz"),
    }
    if weights:
        paths["weights_path"] = str(write_layer_weights(tmp_path / "layer.npz", params))
    code = make_snippet(language, params, image.shape, **paths)
    script = tmp_path / f"script_{language}.py"
    script.write_text(code)
    return script


def _run(script: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **ONE_THREAD}
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("language", ["numpy", "api", "torch"])
def test_richardson_lucy_with_negative_weights_stops_in_one_line(tmp_path, language):
    if language == "torch":
        pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weights = rng.random((3, 3, 1, 1))
    params = Params(weights, stride=2, padding=1, methods=("richardson_lucy",), prior_iter=5)
    image = rng.random((10, 10, 1))
    script = _write(tmp_path, language, params, image)
    assert _run(script).returncode == 0  # as written: a blur
    weights[1, 1] = -0.5  # the user's edit of the file beside the script
    write_layer_weights(tmp_path / "layer.npz", params.replace(weights=weights))
    done = _run(script)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "weights" in lines[0] and "-0.5" in lines[0], done.stderr


def _leaky(**changes) -> tuple[np.ndarray, Params]:
    """2 -> 4 channels at stride 2, a leaky ReLU of slope 0.01: J = D A is 100 times worse
    conditioned than A where the slopes are small (CGLS on J took 427 iterations here)."""
    rng = np.random.default_rng(0)
    image = rng.random((32, 32, 2))
    params = Params(
        rng.standard_normal((3, 3, 2, 4)),
        bias=0.1,
        stride=2,
        padding=1,
        activation="leaky_relu",
        leaky_slope=0.01,
        methods=("pinv", "nullspace"),
        rtol=1e-8,
        **changes,
    )
    return image, params


@pytest.mark.parametrize("language", ["numpy", "torch"])
def test_a_leaky_relus_pinv_is_solved_on_the_conv_as_the_app_does(tmp_path, language):
    if language == "torch":
        pytest.importorskip("torch")
    image, params = _leaky()
    script = _write(tmp_path, language, params, image, weights=False)
    code = script.read_text()
    assert "(y - bias) / gain, 0.0" in code and "conv_forward, conv_adjoint)" in code
    done = _run(script)
    assert done.returncode == 0, done.stderr
    assert "NOT converge" not in done.stdout
    if language == "torch":  # CGLS's count: 95 here (427 on J)
        count = int(done.stdout.split("pseudo-inverse: ")[1].split()[0])
        assert count <= 150
    app = run_pipeline(image, params).images
    with np.load(tmp_path / f"out_{language}.npz") as saved:
        for name in ("pinv", "recoverable"):
            error = np.linalg.norm(saved[name] - app[name]) / np.linalg.norm(app[name])
            assert error <= 1e-5, (name, error)


def test_noise_or_tikhonov_keeps_the_solve_on_j():
    """Outside J's range (noise) or with reg > 0, A+ D^-1 is not J+: the script solves on J
    (the split's J x is in the range whatever the noise)."""
    for changes in ({"noise_sigma": 0.01}, {"reg": 0.1}):
        image, params = _leaky(**changes)
        code = make_snippet("numpy", params, image.shape)
        assert "x_pinv = pinv(y - bias, reg)" in code
        assert "x_recoverable = pinv((forward(x)) / gain, 0.0, conv_forward" in code
