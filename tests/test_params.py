"""The one Params schema: defaults, rules, round trips, and every reader agreeing with it."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest

from deconv_gui.core import Params, make_filter
from deconv_gui.core import params as schema
from deconv_gui.core.registry import ALL_METHODS

W = make_filter("gaussian")
#: Weights for fields whose non-default value W does not allow (groups must divide C_out).
WEIGHTS_OF = {
    "groups": make_filter("gaussian", in_channels=1, out_channels=2),
    "channel": make_filter("gaussian", in_channels=1, out_channels=2),
}

#: A non-default value of every field but weights (a test checks the list is complete).
CHANGED = {
    "bias": (0.25,),
    "stride": (3, 1),
    "padding": (0, 2),
    "dilation": (2, 1),
    "padding_mode": "reflect",
    "layer_kind": "conv_transpose",
    "output_padding": (1, 0),
    "activation": "leaky_relu",
    "leaky_slope": 0.3,
    "channel": 1,  # with WEIGHTS_OF["channel"]: C_out = 2
    "groups": 2,  # with WEIGHTS_OF["groups"]: C_out = 2
    "flip": True,
    "methods": ("normalized_transposed", "pinv", "coverage"),
    "reg": 1.5e-3,
    "rtol": 1e-5,
    "max_iter": 77,
    "time_limit": 0.25,
    "prior_lam": 2.5e-2,
    "prior_iter": 12,
    "prior_nonneg": True,
    "noise_sigma": 0.0123456789,
    "photons": 250.5,
    "noise_seed": 2**31 - 1,
    "image_source": "/tmp/some image ü.png",
    "decoder_path": "/tmp/dec oder ü.npz",
    "ssim": False,
}

#: Values each field must refuse (the message names the field).
INVALID = {
    "bias": ["a", [1.0, 2.0], float("nan"), None, True],
    "stride": [0, (1, 0), (1, 2, 3), "2", 1.5, True, (2.0, 2.0), 1025],
    "padding": [-1, (0, -1), "1", None, (0, 10**12)],
    "dilation": [0, (1, 0), 2.5, 1025],
    "padding_mode": ["mirror", "", None, 0, "Reflect"],
    "layer_kind": ["deconv", "", None, 0],
    "output_padding": [-1, (0, -1), "1", (0, 10**12), 1.5],
    "activation": ["ReLU", "sigmoid", "", None, 0],
    "leaky_slope": [0.0, -0.1, 1.5, float("nan"), "0.01", None, True],
    "channel": [-1, 1.5, "0", True, 1],  # 1: W has one output channel
    "groups": [0, -1, 1.5, "2", None, True, 2, 1025],  # 2 does not divide W's C_out = 1
    "flip": [1, "true", None],
    "methods": [["magic"], [1], 5],
    "reg": [-1e-3, float("inf"), float("nan"), "0.1", None, True],
    "rtol": [0.0, -1.0, float("nan"), "1e-8"],
    "max_iter": [0, -5, 2.5, "10", 100_001, True],
    "time_limit": [-1.0, float("nan"), float("inf"), 86_401.0, "2", None, True],
    "prior_lam": [0.0, -1e-3, float("nan"), "1e-3", None, True, 1e7],
    "prior_iter": [0, -1, 2.5, "50", None, True, 100_001],
    "prior_nonneg": [1, "yes", None],
    "noise_sigma": [-0.1, float("inf"), "0.1", 1e7],
    "photons": [-1.0, float("nan"), "100", 1e13, None],
    "noise_seed": [-1, "abc", 1.5, 2**31, None, True],
    "image_source": [3, None],
    "decoder_path": [3, None, ["a.npz"]],
    "ssim": [1, "yes", None],
}


def test_every_field_is_covered_by_these_tests():
    names = {f.name for f in fields(Params)} - {"weights"}
    assert set(CHANGED) == names == set(INVALID)
    assert set(schema.defaults()) == names


def test_the_old_import_paths_give_the_same_class():
    from deconv_gui.core import pipeline

    assert pipeline.Params is Params is schema.Params


def test_defaults_are_the_windows():
    p = Params(W)
    assert (p.stride, p.padding, p.dilation) == ((2, 2), (1, 1), (1, 1))
    assert p.methods == ("transposed", "pinv") and p.bias == (0.0,)
    for name, value in schema.defaults().items():
        assert getattr(p, name) == Params(W, **{name: value}).__getattribute__(name)


def test_default_bias_broadcasts_to_every_output_channel():
    p = Params(make_filter("gaussian", out_channels=2))
    assert p.bias == (0.0, 0.0)
    assert Params(make_filter("gaussian", out_channels=3), bias=0.5).bias == (0.5,) * 3
    with pytest.raises(ValueError, match="bias"):
        Params(make_filter("gaussian", out_channels=2), bias=(1.0,))


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_each_field_round_trips_through_dict_and_json(name):
    w = WEIGHTS_OF.get(name, W)
    p = Params(w, **{name: CHANGED[name]})
    assert getattr(p, name) == CHANGED[name] != getattr(Params(w), name)
    assert Params.from_dict(p.to_dict()) == p
    text = json.dumps(p.to_dict(), allow_nan=False)
    assert Params.from_dict(json.loads(text)) == p


def test_all_fields_at_once_and_weights_to_the_bit():
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((2, 3, 3, 2))
    # a decoder (layer_kind conv_transpose): one bias per channel of its output, C_in
    p = Params(weights, **{**CHANGED, "bias": (0.1, -1 / 3, 0.5, 2.0, -3.0, 0.25)})
    back = Params.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back == p
    assert back.weights.tobytes() == p.weights.tobytes()
    assert p.to_dict()["weights_shape"] == [2, 3, 3, 2]


@pytest.mark.parametrize(
    ("name", "value"), [(n, v) for n, values in INVALID.items() for v in values]
)
def test_invalid_values_are_refused_naming_the_field(name, value):
    with pytest.raises(ValueError, match=name):
        Params(W, **{name: value})
    data = Params(W).to_dict()
    data[name] = list(value) if isinstance(value, tuple) else value
    with pytest.raises(ValueError, match=f"params.{name}"):
        Params.from_dict(data)


def test_from_dict_refuses_unknown_fields_and_missing_weights():
    with pytest.raises(ValueError, match="unknown fields: surprise"):
        Params.from_dict({**Params(W).to_dict(), "surprise": 1})
    with pytest.raises(ValueError, match="weights is missing"):
        Params.from_dict({"stride": 2})
    with pytest.raises(ValueError, match="weights_shape"):
        Params.from_dict({**Params(W).to_dict(), "weights_shape": [1, 1, 1, 1]})
    with pytest.raises(ValueError, match="JSON object"):
        Params.from_dict([1, 2])


def test_methods_are_the_registrys_in_its_order():
    assert Params(W, methods=list(reversed(ALL_METHODS))).methods == ALL_METHODS
    assert Params(W, methods="pinv").methods == ("pinv",)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("stride", "2", (2, 2)),
        ("stride", "2,1", (2, 1)),
        ("padding", "1x0", (1, 0)),
        ("dilation", "2×1", (2, 1)),
        ("bias", "0.5", 0.5),
        ("bias", "0.5,1", (0.5, 1.0)),
        ("reg", "1e-3", 1e-3),
        ("max_iter", "none", None),
        ("max_iter", "40", 40),
        ("noise_seed", "7", 7),
        ("groups", "3", 3),
        ("methods", "pinv, coverage", ("pinv", "coverage")),
    ],
)
def test_parse_text_reads_command_line_values(name, text, value):
    assert schema.parse_text(name, text) == value


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("stride", "0"),
        ("stride", "a"),
        ("noise_seed", "-1"),
        ("noise_seed", "abc"),
        ("rtol", "0"),
        ("groups", "0"),
        ("groups", "1.5"),
    ],
)
def test_parse_text_refuses_naming_the_field(name, text):
    with pytest.raises(ValueError, match=name):
        schema.parse_text(name, text)


def test_cli_defaults_are_the_schemas():
    from deconv_gui.cli import build_parser

    argv = ["run", "--image", "seed_toy", "--filter", "box", "--out", "unused"]
    args = build_parser().parse_args(argv)
    for name, value in schema.defaults().items():
        if hasattr(args, name):
            assert Params(W, **{name: getattr(args, name)}) == Params(W, **{name: value}), name
    options = {name for name, _, _ in schema.cli_fields("problem")}
    options |= {name for name, _, _ in schema.cli_fields("solver")}
    options |= {name for name, _, _ in schema.cli_fields("run")}
    assert options <= set(vars(args))


def test_cli_help_shows_the_defaults(capsys):
    from deconv_gui.cli import main

    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--stride S|SH,SW stride (default 2)" in text
    assert "--padding same|same_lower|valid|P|PH,PW|T,B,L,R padding: P on every side" in text
    assert "or valid (none) (default 1)" in text
    assert "--padding-mode zeros|reflect|replicate|circular" in text and "(default zeros)" in text
    assert "(default transposed,pinv;" in text
    # no empty default (--decoder), and the methods' tips read as one list
    assert "(default )" not in text and ".;" not in text and ".)" not in text


def test_cli_refuses_a_bad_seed_naming_it(capsys):
    from deconv_gui.cli import main

    argv = ["code", "--image", "seed_toy", "--filter", "box", "--noise-seed", "-1"]
    assert main(argv) == 2
    assert "noise_seed" in capsys.readouterr().err


def test_window_options_take_the_schemas_parser_and_show_its_defaults(capsys):
    from deconv_gui import app

    text = " ".join(app.build_parser().format_help().split())
    # the padding's help is the schema's rule: every form it reads, and its default
    assert " ".join(schema.rule("padding").help.split()) + " (default 1)" in text
    assert app.main(["--padding", "-1"]) == 2
    assert "padding must be" in capsys.readouterr().err
