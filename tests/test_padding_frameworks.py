"""Padding as frameworks write it: four sides, 'same', 'same_lower', 'valid'.

References: PyTorch (``F.pad`` then an unpadded ``conv2d``; autograd for the adjoint),
the TF/ONNX 'same' formula written out here, dense matrices and ``numpy.linalg.pinv``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core import (
    ConvGeometry,
    ConvOperator,
    conv2d,
    conv2d_transpose,
    pinv_reconstruction,
)
from deconv_gui.core.geometry import as_padding, resolve_padding

MODES = ("zeros", "reflect", "replicate", "circular")


def _tf_same(n: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's rule (``tf.nn.conv2d(padding='SAME')``), written out independently."""
    out = (n + s - 1) // s
    effective = (k - 1) * d + 1
    total = max((out - 1) * s + effective - n, 0)
    return total // 2, total - total // 2


def _random_case(rng: np.random.Generator, mode: str) -> dict:
    h, w = (int(v) for v in rng.integers(3, 11, 2))
    c_in = int(rng.integers(1, 5))
    groups = int(rng.choice([1, c_in]))
    c_out = groups * int(rng.integers(1, 3))
    limit = {"zeros": 4, "reflect": 1, "replicate": 4, "circular": 0}[mode]

    def side(n: int) -> int:
        top = min(4, n - 1) if mode == "reflect" else (min(4, n) if mode == "circular" else limit)
        return int(rng.integers(0, top + 1))

    return {
        "x": rng.standard_normal((2, h, w, c_in)),
        "w": rng.standard_normal((*(int(v) for v in rng.integers(1, 4, 2)), c_in // groups, c_out)),
        "stride": tuple(int(v) for v in rng.integers(1, 4, 2)),
        "dilation": tuple(int(v) for v in rng.integers(1, 3, 2)),
        "padding": ((side(h), side(h)), (side(w), side(w))),
        "groups": groups,
    }


@pytest.mark.parametrize("mode", MODES)
def test_four_sides_match_torch_pad_then_conv2d_and_autograd(mode: str) -> None:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    rng = np.random.default_rng(sum(map(ord, mode)))
    torch_mode = "constant" if mode == "zeros" else mode
    checked = 0
    while checked < 25:
        case = _random_case(rng, mode)
        x, w, (top, bottom), (left, right) = case["x"], case["w"], *case["padding"]
        tx = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_(True)
        padded = functional.pad(tx, (left, right, top, bottom), mode=torch_mode)
        span = [d * (k - 1) + 1 for d, k in zip(case["dilation"], w.shape[:2], strict=True)]
        if padded.shape[2] < span[0] or padded.shape[3] < span[1]:
            continue
        ref = functional.conv2d(
            padded,
            torch.tensor(w).permute(3, 2, 0, 1),
            stride=case["stride"],
            dilation=case["dilation"],
            groups=case["groups"],
        )
        kwargs = {k: case[k] for k in ("stride", "padding", "dilation", "groups")}
        out = conv2d(x, w, padding_mode=mode, **kwargs)
        np.testing.assert_allclose(out, ref.detach().permute(0, 2, 3, 1).numpy(), atol=1e-10)
        y = rng.standard_normal(out.shape)
        ref.backward(torch.tensor(y).permute(0, 3, 1, 2))
        adjoint = conv2d_transpose(y, w, input_shape=x.shape, padding_mode=mode, **kwargs)
        np.testing.assert_allclose(adjoint, tx.grad.permute(0, 2, 3, 1).numpy(), atol=1e-10)
        checked += 1


@pytest.mark.parametrize("name", ["same", "same_lower"])
def test_same_is_the_tf_and_onnx_formula(name: str) -> None:
    for n in range(1, 15):
        for k in range(1, 6):
            for s in range(1, 4):
                for d in (1, 2):
                    before, after = _tf_same(n, k, s, d)
                    expect = (before, after) if name == "same" else (after, before)
                    pads = resolve_padding(name, (n, n), (k, k), (s, s), (d, d))
                    assert pads == (expect, expect)
                    if (n + sum(expect) - d * (k - 1) - 1) >= 0:
                        geom = ConvGeometry((n, n, 1), (k, k, 1), s, name, d)
                        assert geom.output_shape[:2] == (-(-n // s),) * 2


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_same_at_stride_one_matches_torch_padding_same() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for k, d in ((3, 1), (4, 1), (2, 3), (5, 2)):
        x, w = rng.standard_normal((9, 8, 2)), rng.standard_normal((k, k - 1, 2, 3))
        ref = torch.nn.functional.conv2d(
            torch.tensor(x).permute(2, 0, 1)[None],
            torch.tensor(w).permute(3, 2, 0, 1),
            padding="same",
            dilation=d,
        )
        out = conv2d(x, w, padding="same", dilation=d)
        np.testing.assert_allclose(out, ref[0].permute(1, 2, 0).numpy(), atol=1e-10)


def test_stride_two_same_pads_the_odd_pixel_bottom_right_and_lower_top_left() -> None:
    geom = ConvGeometry((56, 56, 64), (3, 3, 64, 128), stride=2, padding="same")
    assert geom.pads == ((0, 1), (0, 1)) and geom.output_shape == (28, 28, 128)
    assert not geom.symmetric and geom.padding == (0, 0)
    lower = ConvGeometry((56, 56, 64), (3, 3, 64, 128), stride=2, padding="SAME_LOWER")
    assert lower.pads == ((1, 0), (1, 0)) and lower.padding == (1, 1)
    valid = ConvGeometry((56, 56, 64), (3, 3, 64, 128), stride=2, padding="valid")
    assert valid.pads == ((0, 0), (0, 0)) and valid.output_shape == (27, 27, 128)
    # x[0, 0] is read by output (0, 0) through tap (0, 0) with 'same', tap (1, 1) with same_lower
    x = np.zeros((56, 56, 1))
    x[0, 0] = 1.0
    w = np.arange(9.0).reshape(3, 3, 1)
    assert conv2d(x, w, stride=2, padding="same")[0, 0, 0] == 0.0
    assert conv2d(x, w, stride=2, padding="same_lower")[0, 0, 0] == 4.0


def test_the_forms_of_padding_agree() -> None:
    assert as_padding(2) == ((2, 2), (2, 2))
    assert as_padding([1, 3]) == ((1, 1), (3, 3))
    assert as_padding(((0, 1), [2, 3])) == ((0, 1), (2, 3))
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((6, 7, 2)), rng.standard_normal((3, 3, 2, 2))
    np.testing.assert_array_equal(
        conv2d(x, w, padding=(1, 2)), conv2d(x, w, padding=((1, 1), (2, 2)))
    )
    op = ConvOperator.from_weights(w, input_shape=x.shape, stride=2, padding="same")
    np.testing.assert_array_equal(op.apply(x), conv2d(x, w, stride=2, padding=((0, 1), (1, 1))))
    assert "padding=((0, 1), (1, 1))" in repr(op.geometry)


@pytest.mark.parametrize("mode", MODES)
def test_dot_test_and_sparse_matrix_with_asymmetric_padding(mode: str) -> None:
    rng = np.random.default_rng(5)
    pads = ((2, 0), (1, 3)) if mode != "reflect" else ((2, 0), (1, 2))
    op = ConvOperator.from_weights(
        rng.standard_normal((3, 2, 2, 3)),
        input_shape=(5, 4, 2),
        stride=(2, 1),
        padding=pads,
        padding_mode=mode,
    )
    x, y = rng.standard_normal(op.shape[1]), rng.standard_normal(op.shape[0])
    assert np.isclose(np.dot(op.matvec(x), y), np.dot(x, op.rmatvec(y)), rtol=1e-12)
    np.testing.assert_allclose(op.to_sparse().toarray(), op.to_dense(), atol=1e-14)


@pytest.mark.parametrize("padding", [((0, 1), (0, 1)), ((2, 0), (1, 3)), "same_lower"])
def test_pinv_of_an_asymmetric_layer_is_numpys(padding: object) -> None:
    rng = np.random.default_rng(7)
    w = rng.standard_normal((3, 3, 2, 3))
    op = ConvOperator.from_weights(w, input_shape=(6, 5, 2), stride=2, padding=padding)
    y = rng.standard_normal(op.geometry.output_shape)
    expect = np.linalg.pinv(op.to_dense()) @ y.ravel()
    for method in ("dense", "iterative"):
        got = pinv_reconstruction(y, op, rtol=1e-12, max_iter=2000, method=method).image
        np.testing.assert_allclose(got.ravel(), expect, atol=1e-7)


@pytest.mark.parametrize(
    ("padding", "mode", "words"),
    [
        ("same_upperish", "zeros", "padding must be"),
        (((0, 5), (0, 0)), "reflect", "padding 5 must be smaller"),
        (((0, 0), (6, 0)), "circular", "padding 6 must be at most"),
        (((0, -1), (0, 0)), "zeros", "padding must be non-negative"),
        ((1, 2, 3, 4), "zeros", "padding must be"),
        (((0, 1), 2), "zeros", "padding must be"),
        (1.5, "zeros", "padding must be"),
    ],
)
def test_bad_padding_names_padding(padding: object, mode: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ConvGeometry((5, 5, 1), (3, 3, 1), padding=padding, padding_mode=mode)
    with pytest.raises(ValueError, match=words):
        conv2d(np.ones((5, 5, 1)), np.ones((3, 3, 1)), padding=padding, padding_mode=mode)


# -- Params, the command line, sessions -------------------------------------------------------


def test_params_keep_each_form_and_round_trip_through_json() -> None:
    from deconv_gui.core import Params, make_filter
    from deconv_gui.core.params import parse_text

    w = make_filter("gaussian")
    assert Params(w, padding=((1, 1), (2, 2))).padding == (1, 2)  # symmetric: a pair
    assert Params(w, padding="SAME_UPPER").padding == "same"
    assert Params(w, padding=[[0, 1], [2, 3]]).padding == ((0, 1), (2, 3))
    for text, value in (
        ("same", "same"),
        ("same_lower", "same_lower"),
        ("valid", "valid"),
        ("2", (2, 2)),
        ("1,0", (1, 0)),
        ("0,1,2,3", ((0, 1), (2, 3))),
    ):
        assert parse_text("padding", text) == value
        p = Params(w, stride=2, padding=value)
        assert Params.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert Params(w, stride=2, padding="same").geometry((56, 56, 3)).pads == ((0, 1), (0, 1))
    for bad in ("same_upperish", "1,2,3", "-1", "1025", "1,x"):
        with pytest.raises(ValueError, match=r"^padding must be"):
            parse_text("padding", bad)
    with pytest.raises(ValueError, match=r"^padding must be"):
        Params(w, padding=((0, 1), (2, 2000)))


def test_sessions_keep_the_four_sides_and_open_old_pairs(tmp_path) -> None:
    from deconv_gui.core import Params, make_filter
    from deconv_gui.io import load_session, save_session

    for padding in (((0, 1), (2, 0)), "same_lower", (1, 0)):
        params = Params(make_filter("gaussian"), stride=2, padding=padding)
        path = save_session(tmp_path / f"s{len(str(padding))}", params)
        assert load_session(path).params == params
        if padding == (1, 0):  # written as before: an old reader's [1, 0]
            assert '"padding": [1, 0]' in path.read_text().replace("\n", "").replace("  ", "")


def test_cli_padding_forms_and_exit_codes(capsys) -> None:
    from deconv_gui.cli import main

    base = ["info", "--image", "seed_toy", "--filter", "box", "--json"]
    assert main([*base, "--stride", "2", "--padding", "same"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["padding"] in ([[0, 1], [0, 1]], [1, 1], [[1, 1], [0, 1]], [[0, 1], [1, 1]])
    assert main([*base, "--padding", "0,2,1,0"]) == 0
    assert json.loads(capsys.readouterr().out)["padding"] == [[0, 2], [1, 0]]
    assert main([*base, "--padding", "nonsense"]) == 2
    assert "padding must be" in capsys.readouterr().err
    assert main([*base, "--padding", "0,900,0,0", "--padding-mode", "reflect"]) == 2
    err = capsys.readouterr().err
    assert "--padding" in err and "smaller than the image" in err and "Traceback" not in err
