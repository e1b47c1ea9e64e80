"""Code snippets: run them in a subprocess and compare their numbers with run_pipeline's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io.snippets import make_snippet, numpy_snippet, torch_output_padding

REPO = Path(__file__).resolve().parents[1]

CASES = {
    # the seed question's toy set-up (float64)
    "seed": (
        np.random.default_rng(48776).integers(0, 10, (7, 7, 3)).astype(np.float64),
        Params(make_filter("seed_question"), stride=2),
    ),
    # float32, two output channels with biases, uneven stride, padding, dilation and noise
    "general": (
        np.random.default_rng(1).random((13, 11, 3)).astype(np.float32),
        Params(
            make_filter("random", size=(3, 2), out_channels=2, seed=4),
            bias=(0.5, -1.0),
            stride=(2, 3),
            padding=(1, 0),
            dilation=(1, 2),
            noise_sigma=0.1,
            noise_seed=3,
        ),
    ),
    # photon (Poisson) noise, then Gaussian noise from the same generator
    "photons": (
        np.random.default_rng(2).random((9, 10, 1)),
        Params(make_filter("gaussian", in_channels=1), stride=2, photons=40.0, noise_sigma=0.01),
    ),
    # every padding mode other than zeros, with noise in one of them
    **{
        f"padded_{mode}": (
            np.random.default_rng(2).random((9, 10, 2)).astype(dtype),
            Params(
                make_filter("random", size=3, in_channels=2, out_channels=2, seed=5),
                bias=(0.25, -0.5),
                stride=(2, 1),
                padding=(2, 3),
                dilation=(1, 2),
                padding_mode=mode,
                noise_sigma=0.1 if mode == "circular" else 0.0,
            ),
        )
        for mode, dtype in (
            ("reflect", np.float64),
            ("replicate", np.float32),
            ("circular", np.float64),
        )
    },
    # padding as TF/Keras/ONNX write it: four sides, 'same' at stride 2, same_lower + reflect
    "four_sides": (
        np.random.default_rng(6).random((8, 9, 2)),
        Params(
            make_filter("random", size=3, in_channels=2, out_channels=2, seed=6),
            stride=2,
            padding=((0, 2), (1, 0)),
        ),
    ),
    "same": (
        np.random.default_rng(7).random((10, 9, 1)).astype(np.float32),
        Params(make_filter("gaussian", in_channels=1), stride=2, padding="same"),
    ),
    "same_lower_reflect": (
        np.random.default_rng(8).random((10, 7, 2)),
        Params(
            make_filter("random", size=(3, 4), in_channels=2, out_channels=1, seed=8),
            stride=(2, 1),
            padding="same_lower",
            padding_mode="reflect",
        ),
    ),
    # ConvTranspose2d layers: output_padding, groups and dilation; four sides with
    # reflect; flip with Keras's asymmetric 'same' crop
    "transposed": (
        np.random.default_rng(9).random((5, 6, 4)),
        Params(
            make_filter("random", size=3, in_channels=1, out_channels=4, seed=9),
            layer_kind="conv_transpose",
            bias=(0.5, -0.25),
            stride=2,
            padding=1,
            output_padding=(1, 0),
            dilation=(1, 2),
            groups=2,
        ),
    ),
    "transposed_reflect": (
        np.random.default_rng(10).random((6, 5, 2)).astype(np.float32),
        Params(
            make_filter("random", size=3, in_channels=3, out_channels=2, seed=10),
            layer_kind="conv_transpose",
            stride=(2, 1),
            padding=((1, 2), (0, 1)),
            padding_mode="reflect",
        ),
    ),
    "transposed_flip_crop": (
        np.random.default_rng(11).random((4, 5, 3)),
        Params(
            make_filter("random", size=3, in_channels=2, out_channels=3, seed=11),
            layer_kind="conv_transpose",
            stride=2,
            padding=((0, 1), (0, 1)),
            flip=True,
        ),
    ),
}


def _run_snippet(tmp_path: Path, language: str, case: str) -> tuple[dict, object]:
    image, params = CASES[case]
    image_path, save_path = tmp_path / "x.npy", tmp_path / "out.npz"
    np.save(image_path, image)
    code = make_snippet(
        language, params, image.shape, image_path=str(image_path), save_path=str(save_path)
    )
    script = tmp_path / f"snippet_{language}.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    with np.load(save_path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    return arrays, run_pipeline(image, params.replace(methods=("transposed",)))


def _tolerance(dtype) -> dict:
    # The snippets sum taps in another order than the core (and torch uses its own
    # kernels), so results agree to rounding: a few ulps of the data's magnitude (≤ 10).
    return {"rtol": 0, "atol": 1e-4 if dtype == np.float32 else 1e-12}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("language", ["numpy", "api"])
def test_numpy_snippets_reproduce_the_pipeline(tmp_path, language, case):
    saved, result = _run_snippet(tmp_path, language, case)
    for name in ("forward_output", "transposed"):
        expected = getattr(result, name)
        assert saved[name].shape == expected.shape and saved[name].dtype == expected.dtype
        np.testing.assert_allclose(saved[name], expected, **_tolerance(expected.dtype))


@pytest.mark.parametrize("case", sorted(CASES))
def test_torch_snippet_reproduces_the_pipeline(tmp_path, case):
    pytest.importorskip("torch")
    saved, result = _run_snippet(tmp_path, "torch", case)
    for name in ("forward_output", "transposed"):
        expected = getattr(result, name)
        assert saved[name].shape == expected.shape
        np.testing.assert_allclose(saved[name], expected, **_tolerance(expected.dtype))


def test_standalone_numpy_snippet_needs_no_package():
    image, params = CASES["seed"]
    code = numpy_snippet(params, image.shape)
    assert "deconv_gui" not in code.split('"""')[2]  # only the docstring mentions it
    compile(code, "<snippet>", "exec")
    # weights are embedded exactly (repr round-trip)
    namespace: dict = {}
    start = code.index("weights = np.array(")
    end = code.index(".astype(x.dtype)", start)
    exec("import numpy as np\n" + code[start:end], namespace)
    assert namespace["weights"].tobytes() == params.weights.tobytes()


@pytest.mark.parametrize(
    ("shape", "stride", "padding", "dilation", "expected"),
    [
        ((7, 7, 3), 2, 0, 1, (0, 0)),  # (7 - 3) divisible by 2
        ((8, 9, 3), 2, 0, 1, (1, 0)),
        ((10, 10, 1), 3, 1, 2, (1, 1)),
    ],
)
def test_output_padding(shape, stride, padding, dilation, expected):
    params = Params(np.ones((3, 3, shape[2], 1)), stride=stride, padding=padding, dilation=dilation)
    geometry = params.geometry(shape)
    pads = torch_output_padding(geometry)
    assert pads == expected
    assert all(0 <= p < s for p, s in zip(pads, geometry.stride, strict=True))


def test_unknown_language():
    with pytest.raises(ValueError, match="language"):
        make_snippet("julia", CASES["seed"][1])
