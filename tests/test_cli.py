"""The command line end to end: run (single and batch), --json, info's rank, code, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile

from deconv_gui.cli import main
from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io import load_sample

REPO = Path(__file__).resolve().parents[1]


def test_run_sample_writes_the_export_and_json(tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "run",
        "--image",
        "astronaut",
        "--filter",
        "gaussian",
        "--stride",
        "2",
        "--padding",
        "0",
    ]
    argv += ["--methods", "forward,transposed,pinv", "--work-size", "48", "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)  # exactly one JSON object on stdout
    assert document["errors"] == [] and len(document["results"]) == 1
    record = document["results"][0]
    assert record["image"] == "astronaut"
    # the same numbers as the pipeline called directly
    loaded = load_sample("astronaut", 48)
    expected = run_pipeline(
        loaded.pixels,
        Params(make_filter("gaussian"), stride=2, padding=0, methods=("transposed", "pinv")),
    )
    assert np.array_equal(np.load(out / "forward_output.npy"), expected.forward_output)
    assert np.array_equal(np.load(out / "transposed.npy"), expected.transposed)
    assert np.array_equal(tifffile.imread(out / "input.tif").reshape(48, 48, 3), loaded.pixels)
    assert record["metrics"]["shapes"]["forward_output"] == [23, 23, 1]
    assert record["metrics"]["solver"]["converged"] is True
    assert set(record["files"]) == {p.name for p in out.iterdir()}
    assert json.loads((out / "params.json").read_text())["params"]["stride"] == [2, 2]
    # a second run refuses to overwrite, names the files, and says how
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "already exist" in err and "--overwrite" in err and "pinv.npy" in err
    assert main([*argv, "--overwrite"]) == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio tries its DICOM plugin
def test_batch_folder_with_a_corrupt_file(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.save(folder / "a.npy", rng.random((12, 10, 3)).astype(np.float32))
    (folder / "b.png").write_bytes(b"not a png at all")
    np.save(folder / "c.npy", rng.random((9, 9)).astype(np.float32))  # grey
    out = tmp_path / "out"
    argv = ["run", "--image", str(folder), "--filter", "box", "--stride", "2,1", "--padding", "0"]
    code = main([*argv, "--work-size", "none", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    document = json.loads(captured.out)
    assert [Path(r["image"]).name for r in document["results"]] == ["a.npy", "c.npy"]
    assert [Path(e["image"]).name for e in document["errors"]] == ["b.png"]
    assert "b.png" in captured.err and "Traceback" not in captured.err
    # stderr is not a terminal here (a log): whole lines, no progress bar running into them
    lines = captured.err.splitlines()
    assert all(line.startswith("deconv-gui: ") and "\r" not in line for line in lines), lines
    assert sorted(p.name for p in out.iterdir()) == ["a", "c"]  # one subfolder per image
    assert np.load(out / "c" / "forward_output.npy").shape == (4, 7, 1)  # (9-3)//2+1, (9-3)//1+1


def test_several_images_and_name_clashes(tmp_path, capsys):
    one, two = tmp_path / "x" / "img.npy", tmp_path / "y" / "img.npy"
    for path in (one, two):
        path.parent.mkdir()
        np.save(path, np.ones((6, 6, 1)))
    argv = ["run", "--image", str(one), str(two), "--image", "seed_toy", "--filter", "identity"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img", "img_2", "seed_toy"]
    assert "seed_toy" in capsys.readouterr().out  # one summary line per image


def test_info_seed_toy_exact_rank(capsys):
    argv = [
        "info",
        "--image",
        "seed_toy",
        "--filter",
        "seed_question",
        "--stride",
        "2",
        "--padding",
        "0",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "3×3×1" in text and "equations  9" in text and "unknowns   147" in text
    assert "rank       9 (exact" in text and "nullity    138 (exact" in text
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rank"], report["nullity"], report["exact"]) == (9, 138, True)


def test_info_large_problem_states_bounds(capsys):
    argv = [
        "info",
        "--image",
        "camera",
        "--filter",
        "box",
        "--stride",
        "2",
        "--padding",
        "0",
        "--work-size",
        "80",
    ]
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exact"] is False
    assert report["rank_at_most"] == report["equations"] == 39 * 39
    assert report["nullity_at_least"] == 80 * 80 - 39 * 39
    assert main(argv) == 0
    assert "nullity    ≥ 4,879" in capsys.readouterr().out


def test_code_prints_a_snippet(tmp_path, capsys):
    argv = ["code", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    assert main([*argv, "--lang", "torch"]) == 0
    code = capsys.readouterr().out
    assert "F.conv_transpose2d" in code and "output_padding" in code
    compile(code, "<snippet>", "exec")
    # --methods chooses what the snippet writes out: the pseudo-inverse and the priors
    assert main([*argv, "--padding", "0", "--methods", "pinv,tv", "--groups", "3"]) == 0
    code = capsys.readouterr().out
    assert "lsqr(" in code and "tv_prox(" in code and "dense_groups(weights, 3)" in code
    assert "richardson_lucy(" not in code
    compile(code, "<snippet>", "exec")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--image", "nope.png", "--filter", "box", "--out", "o"], "image not found"),
        (["info", "--image", "seed_toy", "--filter", "blur"], "--filter must be a preset"),
        (["info", "--image", "seed_toy", "--filter", "box", "--stride", "2,1,1"], "--stride"),
        (["info", "--image", "seed_toy", "--filter", "box", "--stride", "0"], "stride"),
        (["info", "--image", "seed_toy", "--filter", "box", "--size"], "unrecognized"),
        (["info", "--image", "seed_toy", "--filter", "box", "--padding", "9"], None),
        (
            ["run", "--image", "seed_toy", "--filter", "box", "--methods", "magic", "--out", "o"],
            "magic",
        ),
        ([], "required"),
        (
            ["run", "--image", "seed_toy", "--filter", "box", "--methods", "", "--out", "o"],
            "'forward'",
        ),
        (["code", "--image", "seed_toy", "--filter", "box", "--methods", " , "], "list of methods"),
        # an option that does nothing without another one was dropped without a word
        (
            ["info", "--image", "seed_toy", "--filter", "box", "--layer", "conv1"],
            "--layer conv1 applies only with --model MODEL",
        ),
        (
            ["info", "--image", "seed_toy", "--filter", "box", "--scaling", "255"],
            "--scaling 255 applies only with --model MODEL",
        ),
        (
            ["info", "--image", "seed_toy", "--filter", "box", "--output-padding", "1"],
            "--output-padding applies only with --layer-kind conv_transpose",
        ),
        (
            ["code", "--image", "seed_toy", "--filter", "box", "--leaky-slope", "0.2"],
            "--leaky-slope applies only with --activation leaky_relu (got --activation none)",
        ),
        (
            [
                "run",
                "--image",
                "seed_toy",
                "--filter",
                "box",
                "--activation",
                "relu",
                "--leaky-slope",
                "0.2",
                "--out",
                "o",
            ],
            "--leaky-slope applies only with --activation leaky_relu (got --activation relu)",
        ),
    ],
)
def test_bad_input_gives_one_line_and_non_zero(capsys, argv, message):
    code = main(argv)
    err = capsys.readouterr().err
    if message is None:  # a valid but unusual request: padding bigger than the filter is fine
        assert code == 0
        return
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_filter_file_and_unwritable_out(tmp_path, capsys):
    weights = tmp_path / "w.npy"
    np.save(weights, np.ones((3, 3, 1, 1)))  # one input channel: the astronaut has three
    argv = ["run", "--image", "astronaut", "--filter", str(weights), "--work-size", "16"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 1
    assert "channel mismatch" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["run", "--image", "seed_toy", "--filter", "box", "--out", str(blocker)]) == 2
    assert "not a folder" in capsys.readouterr().err
    sub = blocker / "sub"
    assert main(["run", "--image", "seed_toy", "--filter", "box", "--out", str(sub)]) == 1
    assert "cannot create output folder" in capsys.readouterr().err


def test_module_entry_point_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "deconv_gui.cli",
            "info",
            "--image",
            "missing.tif",
            "--filter",
            "box",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("deconv-gui: error:") and "Traceback" not in done.stderr


def test_method_choices_match_the_core():
    from deconv_gui.cli import METHOD_CHOICES
    from deconv_gui.core import INSIGHT_METHODS, METHODS

    assert METHOD_CHOICES == ("forward", *METHODS, *INSIGHT_METHODS)


def test_run_insight_methods_and_all_write_their_panels(tmp_path, capsys):
    base = ["run", "--image", "seed_toy", "--filter", "gaussian", "--stride", "2"]
    out = tmp_path / "insight"
    assert main([*base, "--methods", "coverage,nullspace", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"coverage.npy", "recoverable.npy", "nullspace.npy", "params.json"} <= names
    assert "pinv.npy" not in names
    # the refusal before computing knows that nullspace writes two panels
    assert main([*base, "--methods", "nullspace", "--out", str(out)]) == 1
    assert "recoverable.npy" in capsys.readouterr().err
    out = tmp_path / "all"
    assert main([*base, "--methods", "all", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    panels = ("transposed", "normalized_transposed", "pinv", "coverage", "recoverable", "nullspace")
    assert {f"{p}.tif" for p in panels} <= names


def test_run_all_on_the_question_leaves_out_richardson_lucy_with_a_note(tmp_path, capsys):
    # the documented example: the question's filter has negative weights
    base = ["run", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    base += ["--padding", "0"]
    out = tmp_path / "question"
    assert main([*base, "--methods", "all", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    note = "note: --methods all: richardson_lucy left out: Richardson–Lucy needs a filter"
    assert captured.err.count(note) == 1, captured.err
    (record,) = json.loads(captured.out)["results"]
    assert set(record["skipped"]) == {"richardson_lucy", "decoder"}  # no --decoder given
    names = {p.name for p in out.iterdir()}
    assert {"tv.npy", "nonneg.npy", "pinv.npy", "nullspace.npy"} <= names
    assert not any(n.startswith("richardson_lucy") for n in names)
    saved = json.loads((out / "params.json").read_text())
    assert "richardson_lucy" not in json.dumps(saved)
    # asked for by name, it is an error that says why
    named = tmp_path / "named"
    assert main([*base, "--methods", "richardson_lucy", "--out", str(named)]) == 1
    assert "non-negative for Richardson–Lucy" in capsys.readouterr().err
    # a blur keeps it under all
    blur = tmp_path / "blur"
    assert main([*base[:4], "gaussian", *base[5:], "--methods", "all", "--out", str(blur)]) == 0
    assert "richardson_lucy.npy" in {p.name for p in blur.iterdir()}
    assert "richardson_lucy left out" not in capsys.readouterr().err
