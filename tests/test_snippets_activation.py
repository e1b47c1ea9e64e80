"""Snippets of a layer with its activation (ReLU, leaky ReLU): run in a subprocess, their
forward output act(A x + b), Jᵀ(y − c), Jᵀ1, the normalised transpose, J⁺(y − c), the split
and the deconvnet and guided backprop compared with run_pipeline's."""

from __future__ import annotations

import numpy as np
import pytest
from test_snippets_solvers import PINV_RTOL, _relative, _run_all
from threadpoolctl import threadpool_limits

from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io.snippets import make_snippet

METHODS = (
    "transposed",
    "normalized_transposed",
    "pinv",
    "coverage",
    "nullspace",
    "deconvnet",
    "guided_backprop",
)
EXACT = ("forward_output", "transposed", "normalized_transposed", "coverage")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _cases() -> dict[str, tuple[np.ndarray, Params]]:
    rng = np.random.default_rng(21)
    image = rng.random((10, 9, 3))
    weights = make_filter("random", size=3, in_channels=3, out_channels=4, seed=21)
    relu = Params(weights, bias=(-0.3, 0.2, -0.1, 0.0), stride=2, padding=1, activation="relu")
    leaky = Params(
        rng.standard_normal((3, 3, 2, 4)),
        bias=(0.1, -0.2, 0.3, -0.4),
        stride=(2, 1),
        padding=(1, 2),
        padding_mode="reflect",
        groups=2,
        activation="leaky_relu",
        leaky_slope=0.1,
        noise_sigma=0.05,
        noise_seed=4,
        channel=1,
        reg=1e-3,
    )
    decoder = Params(
        make_filter("random", size=3, in_channels=2, out_channels=3, seed=22),
        layer_kind="conv_transpose",
        bias=(0.2, -0.3),
        stride=2,
        padding=1,
        activation="relu",
        channel=0,
    )
    return {
        "relu": (image, relu.replace(methods=METHODS)),
        "leaky_reflect_groups_noise": (
            rng.random((9, 8, 4)).astype(np.float32),
            leaky.replace(methods=METHODS),
        ),
        "transposed_relu": (rng.random((5, 4, 3)), decoder.replace(methods=METHODS)),
    }


@pytest.mark.parametrize("language", ["numpy", "api", "torch"])
def test_activation_snippets_reproduce_the_pipeline(tmp_path, language):
    if language == "torch":
        pytest.importorskip("torch")
    cases = _cases()
    saved = _run_all(tmp_path, language, cases)
    for name, (image, params) in cases.items():
        result = run_pipeline(image, params)
        got = saved[name]
        for key in (*EXACT, "deconvnet", "guided_backprop"):
            expected = np.asarray(result.panel("forward" if key == "forward_output" else key))
            assert got[key].shape == expected.shape, (name, key)
            atol = (1e-4 if expected.dtype == np.float32 else 1e-11) * np.abs(expected).max()
            np.testing.assert_allclose(
                got[key], expected, rtol=0, atol=atol, err_msg=f"{name} {key}"
            )
        # J⁺: the pipeline's solve and the script's (LSQR, CGLS, or the same J⁺ in the API)
        assert _relative(got["pinv"], result.pinv) <= PINV_RTOL, name
        for key in ("recoverable", "nullspace"):
            miss = np.linalg.norm(got[key].astype(np.float64) - result.panel(key))
            assert miss <= PINV_RTOL * np.linalg.norm(image), (name, key)


def test_the_scripts_name_the_activation_and_leave_the_preimage_out():
    image, params = _cases()["relu"]
    params = params.replace(methods=(*METHODS, "relu_preimage"))
    numpy_code = make_snippet("numpy", params, image.shape)
    assert "np.maximum(v, 0)" in numpy_code and "relu(A x + b)" in numpy_code
    assert "the ReLU preimage" in numpy_code and "is left out" in numpy_code
    leaky = params.replace(activation="leaky_relu", leaky_slope=0.2)
    torch_code = make_snippet("torch", leaky, image.shape)
    assert "F.leaky_relu(v, negative_slope=slope)" in torch_code and "slope = 0.2" in torch_code
    api_code = make_snippet("api", leaky, image.shape)
    assert "layer_network(op, bias, 'leaky_relu', 0.2)" in api_code
    for code in (numpy_code, torch_code, api_code):
        compile(code, "<snippet>", "exec")


def test_a_prior_with_an_activation_is_refused_naming_the_methods():
    # the window refuses them too: the priors solve with the conv alone, not with J
    image, params = _cases()["relu"]
    for language in ("numpy", "api", "torch"):
        with pytest.raises(ValueError, match=r"^methods: tv, nonneg: the priors need activation"):
            make_snippet(language, params.replace(methods=("pinv", "tv", "nonneg")), image.shape)
