"""Hostile values get one line naming the argument, at once, and nothing is written.

Huge magnitudes (1e300, 1e308), NaN, ``.npy`` headers claiming terabytes, paths longer
than the system takes, numbers given as text, channel counts in the hundred thousands:
through the core, the file readers, sessions and the command line. Each is refused with
a ``ValueError`` (exit 1 on the command line; 2 for an out-of-range option) whose single
line names what is wrong. The work is bounded by construction (every refusal comes before
any computation); nothing is timed.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconv_gui.cli import main
from deconv_gui.core import (
    Params,
    conv2d,
    nonneg_reconstruction,
    pinv_reconstruction,
    run_pipeline,
    tv_reconstruction,
)
from deconv_gui.core.limits import MAX_MAGNITUDE, check_magnitudes
from deconv_gui.io import load_image, load_session, save_session
from deconv_gui.io.decode import read_npy

X = np.random.default_rng(0).random((8, 8, 3))
W = np.full((3, 3, 3, 1), 1.0 / 27)
Y = conv2d(X, W)
SHAPE = {"input_shape": X.shape}


def fake_npy(path, shape, descr="<f8"):
    """A ``.npy`` whose header claims ``shape`` but which holds no data."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (118 - len(header)) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    return path


def one_line_error(call, *words):
    with pytest.raises(ValueError) as info:
        call()
    text = str(info.value)
    assert text and "\n" not in text.strip(), text
    for word in words:
        assert word in text, (word, text)
    return text


# --- the core --------------------------------------------------------------------------


def test_huge_weights_are_a_value_error_not_an_overflow_error():
    one_line_error(lambda: check_magnitudes(X, np.full_like(W, 1e300)), "weights")
    one_line_error(lambda: run_pipeline(X, Params(np.full_like(W, 1e300))), "weights")
    # at the very top of float64 too: Σ|w| itself overflows to inf
    one_line_error(lambda: check_magnitudes(X, np.full_like(W, 1.7e308)), "weights")


def test_a_huge_bias_is_blamed_on_the_bias():
    one_line_error(lambda: run_pipeline(X, Params(W, bias=1e308)), "bias")
    # the pseudo-inverse works on unit-scaled data: a finite answer, or the bias named
    assert np.isfinite(pinv_reconstruction(Y, W, 1e308, **SHAPE).image).all()
    one_line_error(lambda: pinv_reconstruction(Y, W / 100, 1e308, **SHAPE), "bias")
    one_line_error(lambda: tv_reconstruction(Y, W, 1e308, **SHAPE, lam=0.1), "bias")
    one_line_error(lambda: nonneg_reconstruction(Y, W, 1e308, **SHAPE), "bias")
    # a bias at the limit is still computed
    result = run_pipeline(X, Params(W, bias=MAX_MAGNITUDE, methods=("transposed",)))
    assert np.isfinite(result.forward_output).all()


def test_huge_data_for_the_priors_is_blamed_on_y():
    one_line_error(lambda: tv_reconstruction(Y * 1e300, W, **SHAPE, lam=0.1), "y")
    one_line_error(lambda: nonneg_reconstruction(Y * 1e300, W, **SHAPE), "y")
    one_line_error(
        lambda: nonneg_reconstruction(Y.astype(np.float32) * 1e30, W, **SHAPE), "y", "float32"
    )


def test_the_bias_is_a_scalar_or_one_value_per_output_channel():
    one_line_error(lambda: conv2d(X, W, bias=np.ones((1, 1))), "bias", "(1, 1)")
    one_line_error(lambda: conv2d(X, W, bias=np.ones((1, 1, 1))), "bias")
    assert np.array_equal(conv2d(X, W, bias=np.ones(1)), conv2d(X, W, bias=1.0))


@pytest.mark.parametrize("text", ["0.1", b"0.1", "nan"])
def test_numbers_given_as_text_are_refused(text):
    one_line_error(lambda: tv_reconstruction(Y, W, **SHAPE, lam=text), "lam")
    one_line_error(lambda: nonneg_reconstruction(Y, W, **SHAPE, reg=text), "reg")


@settings(max_examples=25, deadline=None)
@given(
    value=st.sampled_from([1e300, -1e300, 1.7e308, np.nan, np.inf, -np.inf]),
    where=st.sampled_from(["weights", "image", "bias"]),
)
def test_the_pipeline_names_any_hostile_value(value, where):
    w, x, bias = W.copy(), X.copy(), 0.0
    if where == "weights":
        w[0, 0, 0, 0] = value
    elif where == "image":
        x[0, 0, 0] = value
    else:
        bias = value
    with pytest.raises(ValueError) as info:
        run_pipeline(x, Params(w, bias=bias))
    assert where in str(info.value)


# --- files ---------------------------------------------------------------------------


def test_a_npy_header_claiming_terabytes_is_refused_before_reading(tmp_path):
    huge = fake_npy(tmp_path / "huge.npy", (100000, 100000, 3))
    text = one_line_error(lambda: read_npy(huge), "huge.npy", "100000×100000×3", "GiB")
    assert "memory" in text
    one_line_error(lambda: load_image(huge), "huge.npy")


def test_a_npy_header_claiming_more_than_the_file_holds_is_truncated(tmp_path):
    short = fake_npy(tmp_path / "short.npy", (64, 64, 3))
    one_line_error(lambda: read_npy(short), "short.npy", "truncated")
    # a real file still reads, and a scalar array too
    np.save(tmp_path / "ok.npy", X)
    np.save(tmp_path / "scalar.npy", np.float32(2))
    assert np.array_equal(read_npy(tmp_path / "ok.npy"), X)
    assert read_npy(tmp_path / "scalar.npy") == 2


def test_a_path_too_long_for_the_system_is_one_line(tmp_path):
    long_name = tmp_path / ("a" * 5000 + ".png")
    text = one_line_error(lambda: load_image(long_name), "could not read")
    assert len(text) < 300
    session = tmp_path / ("s" * 5000 + ".deconv.json")
    text = one_line_error(lambda: load_session(session), "cannot read session file")
    assert len(text) < 300


# --- sessions --------------------------------------------------------------------------


def _session_with(tmp_path, name, **changes):
    path = save_session(tmp_path / "good.deconv.json", Params(W), image_source="seed_toy")
    document = json.loads(path.read_text())
    document["layers"][0]["params"].update(changes)
    target = tmp_path / f"{name}.deconv.json"
    target.write_text(json.dumps(document))
    return target


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"weights": np.full_like(W, 1e300).tolist()}, "weights"),
        ({"bias": [1e300]}, "bias"),
    ],
)
def test_a_session_no_image_can_be_computed_with_is_refused_on_reading(tmp_path, changes, word):
    path = _session_with(tmp_path, word, **changes)
    one_line_error(lambda: load_session(path), word, path.name)


def test_a_session_too_large_for_its_image_is_refused_with_the_image(tmp_path):
    # Σ|w| = 2.7e8 is fine for an image of values 1e-3, not for the toy's values up to 9
    path = _session_with(tmp_path, "big", weights=np.full_like(W, 1e7).tolist())
    session = load_session(path)
    one_line_error(session.load_image, "weights")
    one_line_error(lambda: session.check_numbers(X), "weights")
    session.check_numbers(np.full((8, 8, 3), 1e-3))


# --- the command line ------------------------------------------------------------------


def _cli(capsys, tmp_path, *args):
    out = tmp_path / "out"
    code = main(["run", "--image", "seed_toy", *args, "--out", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert not out.exists(), "nothing may be written"
    assert len(err) == 1, err
    return code, err[0]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--filter-size", "0"], "--filter-size"),
        (["--filter-size", "10000"], "--filter-size"),
        (["--filter-size", "3,8"], "--filter-size"),
        (["--out-channels", "0"], "--out-channels"),
        (["--out-channels", "100000"], "--out-channels"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_out_of_range_preset_options_are_usage_errors(capsys, tmp_path, args, option):
    code, line = _cli(capsys, tmp_path, "--filter", "random", *args)
    assert code == 2 and option in line, line


def test_hostile_files_and_values_fail_with_one_line(capsys, tmp_path):
    np.save(tmp_path / "w300.npy", np.full((3, 3, 3, 1), 1e300))
    huge = fake_npy(tmp_path / "huge_filter.npy", (100000, 100000, 3, 1))
    for args, word in [
        (["--filter", str(tmp_path / "w300.npy")], "weights"),
        (["--filter", str(huge)], "huge_filter.npy"),
        (["--filter", "gaussian", "--bias", "1e308"], "bias"),
        (["--filter", "a" * 5000 + ".npy"], "--filter"),
        (["--filter", "gaussian", "--image", "b" * 5000 + ".png"], "--image"),
    ]:
        code, line = _cli(capsys, tmp_path, *args)
        assert code == 1 and word in line and "Error:" not in line, line
        assert len(line) < 400, line


def test_a_too_long_output_folder_fails_with_one_line(capsys, tmp_path):
    code = main(["run", "--image", "seed_toy", "--filter", "box", "--out", "o" * 5000])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "--out" in err[0] and len(err[0]) < 400
