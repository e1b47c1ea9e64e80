"""groups and flip as Params fields: the schema, the command line, sessions and the rank readout."""

from __future__ import annotations

import json

import numpy as np
import pytest
from reference import conv2d_loop

from deconv_gui.core import ConvOperator, Params, conv2d, make_filter, run_pipeline
from deconv_gui.core.solvers.preconditioner import stationary_kernel
from deconv_gui.io import load_session, save_session


def _depthwise(c_out: int = 3) -> np.ndarray:
    return make_filter("random", in_channels=1, out_channels=c_out, seed=4)


def test_params_carry_groups_and_flip_into_the_geometry():
    p = Params(_depthwise(), groups=3, flip=True)
    geometry = p.geometry((9, 9, 3))
    assert (geometry.groups, geometry.flip) == (3, True)
    assert geometry.filter_shape == (3, 3, 1, 3) and geometry.output_shape == (5, 5, 3)


@pytest.mark.parametrize(
    ("weights", "groups", "image_channels", "message"),
    [
        (make_filter("gaussian"), 3, 3, "groups 3 must divide C_out = 1"),
        (_depthwise(4), 3, 3, "groups 3 must divide C_out = 4"),
        (_depthwise(2), 2, 3, "groups 2 must divide both C_in = 3"),
        (make_filter("gaussian", out_channels=3), 3, 3, "with groups 3 the weights' third"),
    ],
)
def test_a_bad_combination_names_groups(weights, groups, image_channels, message):
    with pytest.raises(ValueError, match="groups") as caught:
        Params(weights, groups=groups).geometry((8, 8, image_channels))
    assert message in str(caught.value)


def test_the_pipeline_applies_groups_and_flip_like_literal_loops():
    rng = np.random.default_rng(0)
    x = rng.random((9, 8, 3))
    w = rng.standard_normal((3, 2, 1, 6))
    p = Params(w, groups=3, flip=True, stride=2, padding=1, methods=("transposed", "pinv"))
    result = run_pipeline(x, p)
    # the reference: each output channel o sees its input channel o // 2, kernel flipped
    dense = np.zeros((3, 2, 3, 6))
    for o in range(6):
        dense[:, :, o // 2, o] = w[::-1, ::-1, 0, o]
    expected = conv2d_loop(x, dense, stride=2, padding=1)
    np.testing.assert_allclose(result.forward_output, expected, atol=1e-12)
    np.testing.assert_allclose(
        result.forward_output, conv2d(x, w, stride=2, padding=1, groups=3, flip=True)
    )
    op = ConvOperator(result.geometry, w)
    a = op.to_dense()
    np.testing.assert_allclose(
        result.transposed.ravel(), a.T @ result.forward_output.ravel(), atol=1e-10
    )
    np.testing.assert_allclose(
        result.pinv.ravel(), np.linalg.pinv(a) @ result.forward_output.ravel(), atol=1e-6
    )
    assert result.solver.converged


@pytest.mark.parametrize(("groups", "flip"), [(1, False), (1, True), (3, False), (3, True)])
def test_the_solvers_preconditioner_sees_groups_and_flip(groups, flip):
    # the symbol of A Aᵀ is the response to an impulse away from the borders
    w = make_filter("random", in_channels=3 // groups, out_channels=3, seed=1)
    op = ConvOperator.from_weights(
        w, input_shape=(41, 41, 3), stride=2, padding=1, groups=groups, flip=flip
    )
    kernel = stationary_kernel(op)
    radius = kernel.shape[0] // 2
    centre = op.geometry.output_shape[0] // 2
    window = slice(centre - radius, centre + radius + 1)
    for o in range(3):
        impulse = np.zeros(op.geometry.output_shape)
        impulse[centre, centre, o] = 1.0
        response = op.apply(op.apply_adjoint(impulse))
        np.testing.assert_allclose(response[window, window], kernel[..., o], atol=1e-12)


def test_groups_and_flip_round_trip_through_a_session(tmp_path):
    params = Params(_depthwise(6), bias=0.5, groups=3, flip=True, padding_mode="circular")
    session = load_session(save_session(tmp_path / "grouped", params, work_size=64))
    assert session.params == params
    assert (session.params.groups, session.params.flip) == (3, True)
    # a session written before the fields existed reads as summed cross-correlation
    saved = json.loads((tmp_path / "grouped.deconv.json").read_text())
    data = {  # as version 1 wrote it: one layer's params beside the image
        "schema": "deconv_gui.session",
        "version": 1,
        "image": {"source": saved["image"]["source"], "sha256": None},
        "work_size": 64,
        "params": saved["layers"][0]["params"],
    }
    for name in ("groups", "flip"):
        data["params"].pop(name)
    data["params"]["weights"] = make_filter("box").tolist()
    data["params"]["weights_shape"] = [3, 3, 3, 1]
    data["params"]["bias"] = [0.0]
    (tmp_path / "old.deconv.json").write_text(json.dumps(data))
    old = load_session(tmp_path / "old.deconv.json").params
    assert (old.groups, old.flip) == (1, False)


def test_the_command_line_flags_come_from_the_schema(capsys):
    from deconv_gui.cli import build_parser, main

    base = ["info", "--image", "seed_toy", "--filter", "gaussian"]
    args = build_parser().parse_args([*base, "--groups", "3", "--flip"])
    assert (args.groups, args.flip) == (3, True)
    args = build_parser().parse_args([*base, "--flip", "--no-flip"])
    assert (args.groups, args.flip) == (1, False)
    assert main(["info", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--groups G" in text and "--flip, --no-flip" in text
    assert main([*base, "--groups", "0"]) == 2
    assert "groups must be" in capsys.readouterr().err
    assert main([*base, "--groups", "2"]) == 1  # 2 does not divide the toy's 3 channels
    assert "--groups 2 must divide" in capsys.readouterr().err
    assert main([*base, "--groups", "3", "--out-channels", "4"]) == 1
    err = capsys.readouterr().err
    assert "groups 3 must divide C_out = 4" in err and "Traceback" not in err


def test_run_json_and_params_json_carry_the_fields(tmp_path, capsys):
    from deconv_gui.cli import main

    out = tmp_path / "out"
    argv = ["run", "--image", "seed_toy", "--filter", "box", "--padding", "0"]
    assert main([*argv, "--groups", "3", "--flip", "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    saved = json.loads((out / "params.json").read_text())
    params = saved.get("params", saved)
    assert (params["groups"], params["flip"]) == (3, True)
    assert params["weights_shape"] == [3, 3, 1, 3]


@pytest.mark.parametrize(
    ("label", "in_per_group", "c_out", "groups", "rank"),
    [
        ("summed 3→1", 3, 1, 1, 9),
        ("depthwise 3→3", 1, 3, 3, 27),
        ("2 filters 3→2", 3, 2, 1, 18),
        ("6 filters 3→6", 3, 6, 1, 54),
        ("12 filters 3→12", 3, 12, 1, 108),  # 3·stride² = 12 filters: as many as unknowns
        # per output pixel, but the windows overlap on 7×7: one equation per filter and
        # output pixel until all 147 unknowns are pinned down
        ("16 filters 3→16", 3, 16, 1, 144),
        ("17 filters 3→17", 3, 17, 1, 147),
    ],
)
def test_the_rank_readout_is_numpys_matrix_rank(
    capsys, tmp_path, label, in_per_group, c_out, groups, rank
):
    from deconv_gui.cli import main

    w = np.random.default_rng(2).standard_normal((3, 3, in_per_group, c_out))
    np.save(tmp_path / "w.npy", w)
    argv = ["info", "--image", "seed_toy", "--filter", str(tmp_path / "w.npy"), "--padding", "0"]
    assert main([*argv, "--groups", str(groups), "--json"]) == 0, label
    report = json.loads(capsys.readouterr().out)
    op = ConvOperator.from_weights(w, input_shape=(7, 7, 3), stride=2, groups=groups)
    assert report["exact"] and report["rank"] == np.linalg.matrix_rank(op.to_dense()) == rank
    assert report["nullity"] == 147 - rank and report["groups"] == groups
