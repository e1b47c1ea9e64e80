"""ConvTranspose2d as the layer under study: PyTorch's conv_transpose2d and its operator.

References: ``torch.nn.functional.conv_transpose2d`` (and autograd for its adjoint),
dense matrices and ``numpy.linalg.pinv``.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import conv2d_transpose


def _random_layer(rng: np.random.Generator) -> dict:
    stride = tuple(int(v) for v in rng.integers(1, 4, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 4, 2))
    groups = int(rng.choice([1, 2]))
    return {
        "stride": stride,
        "dilation": dilation,
        "padding": tuple(int(v) for v in rng.integers(0, 3, 2)),
        "output_padding": tuple(int(rng.integers(0, max(stride[a], dilation[a]))) for a in (0, 1)),
        "groups": groups,
        "kernel": tuple(int(v) for v in rng.integers(1, 5, 2)),
        "c_in": groups * int(rng.integers(1, 3)),
        "c_out": groups * int(rng.integers(1, 3)),
        "hw": tuple(int(v) for v in rng.integers(1, 6, 2)),
    }


def test_conv2d_transpose_is_torchs_for_every_output_padding() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    checked = 0
    while checked < 60:
        layer = _random_layer(rng)
        g = layer["groups"]
        x = rng.standard_normal((2, *layer["hw"], layer["c_in"]))
        w_t = rng.standard_normal((layer["c_in"], layer["c_out"] // g, *layer["kernel"]))
        hyper = {k: layer[k] for k in ("stride", "padding", "output_padding", "dilation")}
        try:
            ref = torch.nn.functional.conv_transpose2d(
                torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(w_t), groups=g, **hyper
            )
        except RuntimeError:  # an empty output: PyTorch refuses it too (checked below)
            continue
        expect = ref.permute(0, 2, 3, 1).numpy()
        weights = np.transpose(w_t, (2, 3, 1, 0))
        out = conv2d_transpose(x, weights, groups=g, **hyper)
        np.testing.assert_allclose(out, expect, atol=1e-10)
        del hyper["output_padding"]
        same = conv2d_transpose(x, weights, input_shape=expect.shape, groups=g, **hyper)
        np.testing.assert_allclose(same, expect, atol=1e-10)
        checked += 1


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"stride": 2, "output_padding": 2}, "output_padding must be smaller than max"),
        ({"stride": 2, "dilation": 3, "output_padding": (0, 3)}, "output_padding must be"),
        ({"stride": 2, "output_padding": -1}, "output_padding must be non-negative"),
        ({"stride": 2, "padding": "same", "output_padding": 2}, "smaller than the stride"),
        ({"stride": 2, "output_padding": 1, "input_shape": (8, 8, 1)}, "give one of them"),
        ({"padding": 9}, "padding 9 is too large"),
    ],
)
def test_bad_output_padding_names_it(kwargs: dict, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        conv2d_transpose(np.ones((4, 4, 1)), np.ones((3, 3, 1)), **kwargs)


def test_same_transpose_doubles_the_size_as_keras() -> None:
    y = np.ones((28, 28, 4))
    out = conv2d_transpose(y, np.ones((3, 3, 2, 4)), stride=2, padding="same")
    assert out.shape == (56, 56, 2)
    odd = conv2d_transpose(y, np.ones((3, 3, 2, 4)), stride=2, padding="same", output_padding=0)
    assert odd.shape == (55, 55, 2)


def test_the_operator_is_torchs_layer_and_its_adjoint_the_gradient() -> None:
    torch = pytest.importorskip("torch")
    from deconv_gui.core import ConvTransposeOperator

    rng = np.random.default_rng(12)
    for _ in range(12):
        layer = _random_layer(rng)
        g = layer["groups"]
        w_t = rng.standard_normal((layer["c_in"], layer["c_out"] // g, *layer["kernel"]))
        hyper = {k: layer[k] for k in ("stride", "padding", "output_padding", "dilation")}
        x = rng.standard_normal((*layer["hw"], layer["c_in"]))
        tx = torch.tensor(x).permute(2, 0, 1)[None].requires_grad_(True)
        try:
            ref = torch.nn.functional.conv_transpose2d(tx, torch.tensor(w_t), groups=g, **hyper)
        except RuntimeError:
            continue
        op = ConvTransposeOperator.from_weights(
            np.transpose(w_t, (2, 3, 1, 0)), input_shape=x.shape, groups=g, **hyper
        )
        np.testing.assert_allclose(op.apply(x), ref[0].detach().permute(1, 2, 0), atol=1e-10)
        u = rng.standard_normal(op.geometry.output_shape)
        ref.backward(torch.tensor(u).permute(2, 0, 1)[None])
        np.testing.assert_allclose(op.apply_adjoint(u), tx.grad[0].permute(1, 2, 0), atol=1e-10)
        np.testing.assert_allclose(op.to_sparse().toarray(), op.to_dense(), atol=1e-12)


@pytest.mark.parametrize(
    "hyper",
    [
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": 2, "dilation": 3, "output_padding": 2},
        {"stride": (2, 3), "padding": ((0, 1), (1, 0))},
        {"stride": 2, "padding": "same"},
    ],
)
@pytest.mark.filterwarnings("ignore::deconv_gui.core.NotConvergedWarning")
def test_pinv_tikhonov_and_priors_of_the_transposed_layer(hyper: dict) -> None:
    from deconv_gui.core import ConvTransposeOperator, pinv_reconstruction
    from deconv_gui.core.priors import nonneg_reconstruction

    rng = np.random.default_rng(13)
    op = ConvTransposeOperator.from_weights(
        rng.standard_normal((3, 3, 2, 3)), input_shape=(4, 3, 3), **hyper
    )
    a = op.to_dense()
    y = rng.standard_normal(op.geometry.output_shape)
    for method in ("dense", "iterative"):
        got = pinv_reconstruction(y, op, rtol=1e-12, max_iter=3000, method=method).image
        np.testing.assert_allclose(got.ravel(), np.linalg.pinv(a) @ y.ravel(), atol=1e-8)
        reg = 0.3
        tik = pinv_reconstruction(y, op, reg=reg, rtol=1e-12, max_iter=3000, method=method)
        tik = tik.image
        expect = np.linalg.solve(a.T @ a + reg * np.eye(a.shape[1]), a.T @ y.ravel())
        np.testing.assert_allclose(tik.ravel(), expect, atol=1e-8)
    positive = nonneg_reconstruction(np.abs(y), op, max_iter=50).image
    assert positive.shape == op.geometry.input_shape and positive.min() >= 0


# -- the layer kind in Params, the pipeline, the command line and sessions ---------------------


def _decoder_params(**changes):
    from deconv_gui.core import Params

    rng = np.random.default_rng(14)
    base = Params(
        np.abs(rng.standard_normal((4, 4, 2, 3))) / 4,
        bias=(0.1, -0.2),
        stride=2,
        padding=1,
        layer_kind="conv_transpose",
        methods=("transposed", "pinv", "coverage", "nullspace"),
        rtol=1e-10,
        max_iter=500,
    )
    return base.replace(**changes) if changes else base


def test_the_pipeline_studies_a_decoder_layer() -> None:
    from deconv_gui.core import ConvTransposeOperator, run_pipeline

    x = np.random.default_rng(15).random((6, 5, 3))
    params = _decoder_params()
    result = run_pipeline(x, params)
    op = params.operator(x.shape)
    assert isinstance(op, ConvTransposeOperator)
    assert result.forward_output.shape == (12, 10, 2) == op.geometry.output_shape
    np.testing.assert_allclose(result.forward_output, op.apply(x) + params.bias, atol=1e-12)
    # the transposed reconstruction of a decoder is the strided conv of its output
    centred = result.forward_output - np.asarray(params.bias)
    np.testing.assert_allclose(result.transposed, op.conv.apply(centred), atol=1e-12)
    expect = np.linalg.pinv(op.to_dense()) @ centred.ravel()
    np.testing.assert_allclose(result.pinv.ravel(), expect, atol=1e-7)
    np.testing.assert_allclose(result.coverage, op.conv.apply(np.ones((12, 10, 2))), atol=1e-12)
    assert result.metrics.adjoint_dot_test < 1e-12


def test_params_layer_kind_round_trips_and_checks_output_padding(tmp_path) -> None:
    from deconv_gui.core import Params
    from deconv_gui.core.params import parse_text
    from deconv_gui.io import load_session, save_session

    params = _decoder_params(output_padding=(1, 0))
    assert Params.from_dict(params.to_dict()) == params
    assert load_session(save_session(tmp_path / "decoder", params)).params == params
    assert params.geometry((6, 5, 3)).output_shape == (13, 10, 2)
    assert parse_text("output_padding", "none") is None
    assert parse_text("output_padding", "1,0") == (1, 0)
    with pytest.raises(ValueError, match="bias must be"):
        _decoder_params(bias=(1.0, 2.0, 3.0))  # C_out of the decoder is 2
    with pytest.raises(ValueError, match=r"^output_padding must be smaller"):
        _decoder_params(output_padding=2).geometry((6, 5, 3))
    with pytest.raises(ValueError, match="layer_kind must be"):
        _decoder_params(layer_kind="deconv")


def test_cli_layer_kind_and_output_padding(tmp_path, capsys) -> None:
    import json

    from deconv_gui.cli import main

    base = ["--image", "seed_toy", "--filter", "gaussian", "--layer-kind", "conv_transpose"]
    assert main(["info", *base, "--stride", "2", "--output-padding", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["layer_kind"] == "conv_transpose" and report["output_padding"] == [1, 1]
    assert report["input_shape"] == [7, 7, 3] and report["output_shape"] == [14, 14, 1]
    out = tmp_path / "o"
    argv = ["run", *base, "--stride", "2", "--padding", "same", "--methods", "pinv"]
    assert main([*argv, "--out", str(out)]) == 0
    capsys.readouterr()
    assert np.load(out / "forward_output.npy").shape == (14, 14, 1)
    assert main(["info", *base, "--stride", "2", "--output-padding", "2"]) == 2
    assert "output_padding must be smaller" in capsys.readouterr().err


def test_snippets_write_a_decoder_layer_as_conv_transpose2d() -> None:
    """The scripts are run against the pipeline in test_snippets*.py; here, what they say."""
    from deconv_gui.io.snippets import make_snippet

    code = make_snippet("torch", _decoder_params(), (6, 5, 3))
    assert "F.conv_transpose2d(" in code and "output_padding = " in code
    with pytest.raises(ValueError, match=r"^padding 'same'"):
        make_snippet("numpy", _decoder_params(padding="same"))
