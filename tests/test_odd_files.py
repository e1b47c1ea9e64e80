"""Odd files and odd command lines: right values, one-sentence errors, no partial output.

Every case goes through the public loaders (``load_image``, ``convert_image``) and the
``deconv-gui`` command line, so the tests hold whatever the modules look like inside.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from deconv_gui import app
from deconv_gui.cli import main
from deconv_gui.io import convert_image, load_image, load_sample
from deconv_gui.xcb_check import XCB_LIBRARIES, missing_xcb_packages, uses_xcb

RNG = np.random.default_rng(7)


def _write(path, kind):
    """Write one odd file; return the pixels the loader must give (None: it must refuse)."""
    if kind == "int64_labels.npy":
        labels = RNG.integers(0, 10, (9, 8)).astype(np.int64)
        np.save(path, labels)
        return labels[..., None].astype(np.float64)
    if kind == "float16.npy":
        data = RNG.random((6, 7, 3)).astype(np.float16)
        np.save(path, data)
        return data.astype(np.float32)
    if kind == "uint8_array.npy":  # an array, not an image file: values kept
        data = RNG.integers(0, 256, (5, 6)).astype(np.uint8)
        np.save(path, data)
        return data[..., None].astype(np.float64)
    if kind == "cmyk.jpg":
        cmyk = np.zeros((8, 8, 4), np.uint8)
        cmyk[..., 1] = 255  # magenta ink only: a magenta picture, not an inverted one
        Image.fromarray(cmyk, "CMYK").save(path, quality=100)
        return np.broadcast_to(np.array([1.0, 0.0, 1.0]), (8, 8, 3))
    if kind == "pages10.tif":
        pages = RNG.random((10, 5, 6)).astype(np.float32)
        tifffile.imwrite(path, pages, photometric="minisblack")
        return pages[0][..., None]
    if kind == "pages3.tif":  # three grey pages are not an RGB image
        pages = RNG.random((3, 5, 6)).astype(np.float32)
        tifffile.imwrite(path, pages, photometric="minisblack")
        return pages[0][..., None]
    if kind in ("truncated.png", "truncated.npy", "truncated.tif", "eight_bytes.png"):
        source = path.with_name("whole" + path.suffix)
        data = (RNG.random((40, 40, 3)) * 255).astype(np.uint8)
        if path.suffix == ".npy":
            np.save(source, data)
        elif path.suffix == ".tif":
            tifffile.imwrite(source, data)
        else:
            Image.fromarray(data).save(source)
        whole = source.read_bytes()
        path.write_bytes(whole[:8] if kind == "eight_bytes.png" else whole[: len(whole) // 2])
        source.unlink()
        return None
    if kind == "text.npy":
        path.write_text("1 2 3\n4 5 6\n")
        return None
    if kind == "objects.npy":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        return None
    if kind == "complex.npy":
        np.save(path, np.ones((4, 4), np.complex64))
        return None
    raise AssertionError(kind)


GOOD = [
    "int64_labels.npy",
    "float16.npy",
    "uint8_array.npy",
    "cmyk.jpg",
    "pages10.tif",
    "pages3.tif",
]
BAD = [
    "truncated.png",
    "truncated.npy",
    "truncated.tif",
    "eight_bytes.png",
    "text.npy",
    "objects.npy",
    "complex.npy",
]


@pytest.mark.parametrize("kind", GOOD)
def test_odd_but_valid_files_load_with_their_values_and_say_how(tmp_path, kind):
    path = tmp_path / kind
    expected = _write(path, kind)
    loaded = load_image(path)
    assert loaded.pixels.shape == expected.shape
    atol = 2 / 255 if kind.endswith(".jpg") else 0  # JPEG is lossy
    np.testing.assert_allclose(loaded.pixels, expected, atol=atol)
    note = loaded.note
    if (kind.endswith(".npy") and "int" in kind) or kind == "uint8_array.npy":
        assert "values kept" in note and "[0, 1]" not in note
    if kind == "float16.npy":
        assert "float16" in note and "float64" not in note
    if kind == "cmyk.jpg":
        assert "CMYK → RGB" in note and "alpha" not in note
    if kind.startswith("pages"):
        assert f"page 1 of {kind[5:-4]}" in note


@pytest.mark.parametrize("kind", BAD)
def test_broken_files_give_one_plain_sentence(tmp_path, kind):
    path = tmp_path / kind
    _write(path, kind)
    with pytest.raises(ValueError) as info:
        load_image(path)
    message = str(info.value)
    assert kind in message and "\n" not in message
    for internal in ("unpack_from", "buffer", "allow_pickle", "pickle.load", "Traceback"):
        assert internal not in message
    if kind == "text.npy":
        assert "not a NumPy .npy file" in message
    if kind == "objects.npy":
        assert "Python objects" in message and "unsafe" not in message
    if kind.startswith("truncated") or kind == "eight_bytes.png":
        assert "truncated" in message


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio probes its plugins
@pytest.mark.parametrize("kind", GOOD + BAD)
def test_run_on_each_file_writes_all_or_nothing(tmp_path, capsys, kind):
    path = tmp_path / kind
    expected = _write(path, kind)
    out = tmp_path / "deep" / "out"
    code = main(["run", "--image", str(path), "--filter", "box", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if expected is None:
        assert code == 1 and kind in captured.err
        assert not (tmp_path / "deep").exists()  # no empty folder left behind
        return
    assert code == 0, captured.err
    document = json.loads(captured.out)
    (record,) = document["results"]
    assert record["metrics"]["shapes"]["input"] == list(expected.shape)  # never resized
    assert set(record["files"]) == {p.name for p in out.iterdir()}
    np.testing.assert_array_equal(np.load(out / "input.npy"), load_image(path).pixels)


def test_a_failure_after_loading_leaves_no_folder(tmp_path, capsys):
    weights = tmp_path / "w.npy"
    np.save(weights, np.ones((3, 3, 2, 1)))  # two input channels; the toy has three
    out = tmp_path / "new" / "out"
    code = main(["run", "--image", "seed_toy", "--filter", str(weights), "--out", str(out)])
    assert code == 1 and "channel" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    size=st.sampled_from([None, 1, 8, 32, 256]),
)
def test_work_size_only_ever_shrinks(h, w, size):
    from deconv_gui.io import apply_work_size

    pixels = np.zeros((h, w, 3), np.float32)
    out, note = apply_work_size(pixels, size)
    if size is None or max(h, w) <= size:
        assert out is pixels and note == ""
    else:
        assert max(out.shape[:2]) == size and "resized" in note
        assert out.shape[0] <= h and out.shape[1] <= w


def test_cli_keeps_a_files_size_and_shrinks_samples_to_the_window_default(tmp_path, capsys):
    small = tmp_path / "small.npy"
    np.save(small, RNG.random((7, 7, 3)))
    assert main(["info", "--image", str(small), "--filter", "box", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input_shape"] == [7, 7, 3]
    assert main(["info", "--image", str(small), "--filter", "box", "--work-size", "4"]) == 0
    assert "4×4×3" in capsys.readouterr().out
    assert main(["info", "--image", "camera", "--filter", "box", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input_shape"] == [256, 256, 1]
    assert load_sample("seed_toy", 256).pixels.shape == (7, 7, 3)
    assert main(["run", "--help"]) == 0
    assert "default auto" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["run", "--image", "seed_toy", "--filter", "box", "--out", ""], 2, "--out"),
        (["run", "--image", "seed_toy", "--filter", "box", "--out", "  "], 2, "--out"),
        (["info", "--image", "seed_toy", "--filter", "box", "--dilation", "0"], 2, "--dilation"),
        (["info", "--image", "seed_toy", "--filter", "box", "--padding", "-1"], 2, "--padding"),
        (["info", "--image", "seed_toy", "--filter", "box", "--stride", "2,0"], 2, "--stride"),
        (["run", "--image", "seed_toy", "--filter", "nope.npy", "--out", "o"], 2, "not found"),
        (["info", "--image", "seed_toy", "--filter", "nope.npy"], 2, "not found"),
    ],
)
def test_usage_errors_exit_2_from_every_command(capsys, argv, code, message):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_the_same_failure_exits_1_from_run_and_info(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert main(["info", "--image", str(bad), "--filter", "box"]) == 1
    info_err = capsys.readouterr().err
    code = main(["run", "--image", str(bad), "--filter", "box", "--out", str(tmp_path / "o")])
    assert code == 1
    reason = info_err.strip().removeprefix("deconv-gui: error: ")
    assert capsys.readouterr().err.strip().endswith(reason)
    assert not (tmp_path / "o").exists()


def test_code_snippet_runs_as_printed_with_write_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["code", "--image", "seed_toy", "--filter", "gaussian", "--stride", "2"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "--write-input" in captured.err  # says how to get the input.npy it loads
    assert main([*argv, "--write-input", "toy.npy", "--save", "out.npz"]) == 0
    snippet = capsys.readouterr().out
    np.testing.assert_array_equal(np.load(tmp_path / "toy.npy"), load_sample("seed_toy").pixels)
    exec(compile(snippet, "<snippet>", "exec"), {"__name__": "__main__"})
    assert (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("argv", [["--stride", "0"], ["--padding", "-1"], ["--dilation", "0"]])
def test_window_options_give_the_clis_one_line(capsys, argv):
    assert app.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deconv-gui: error:") and len(err.strip().splitlines()) == 1
    assert argv[0] in err


def test_missing_xcb_libraries_are_named_before_qt_starts(monkeypatch, capsys):
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({}, "darwin")
    absent = {"libxcb-xinerama.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    missing = missing_xcb_packages(lambda soname: soname not in absent)
    assert missing == ["libxcb-icccm4", "libxcb-keysyms1", "libxcb-xinerama0"]
    assert set(missing) <= set(XCB_LIBRARIES.values())
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(app, "uses_xcb", lambda: True)
    monkeypatch.setattr(app, "missing_xcb_packages", lambda: missing)
    assert app.main([]) == 1
    err = capsys.readouterr().err
    assert "apt install libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0" in err


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(
        [
            "bool",
            "uint8",
            "uint16",
            "int8",
            "int32",
            "int64",
            "uint64",
            "float16",
            "float32",
            "float64",
            "complex64",
        ]
    ),
    shape=st.sampled_from([(3, 4), (3, 4, 1), (3, 4, 3), (3, 4, 4), (3, 4, 2), (3, 4, 5), (2,)]),
    image_type=st.booleans(),
)
def test_convert_image_keeps_values_or_names_the_problem(dtype, shape, image_type):
    raw = (RNG.random(shape) * 100).astype(dtype)
    try:
        pixels, note = convert_image(raw, image_type=image_type)
    except ValueError as exc:
        text = str(exc)
        assert "complex" in text or "channels" in text or "shape" in text
        return
    assert pixels.ndim == 3 and pixels.shape[2] in (1, 3) and pixels.dtype.kind == "f"
    kept = raw.reshape((*pixels.shape[:2], -1))[..., : pixels.shape[2]].astype(np.float64)
    if image_type and dtype in ("uint8", "uint16"):
        kept /= np.iinfo(dtype).max
        assert "[0, 1]" in note
    np.testing.assert_allclose(pixels, kept, rtol=1e-6)


def test_run_warns_with_the_memory_a_large_problem_needs(tmp_path, capsys, monkeypatch):
    from deconv_gui.cli import run

    monkeypatch.setattr(run, "LARGE_RUN_BYTES", 1000)
    code = main(["run", "--image", "seed_toy", "--filter", "box", "--out", str(tmp_path / "o")])
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: seed_toy: 7×7×3 image: this run needs about" in err and "GiB" in err


def test_a_picture_past_the_bomb_guard_is_named_as_such_and_one_below_is_read_quietly(
    tmp_path, monkeypatch
):
    """A valid PNG of too many pixels was called 'not a valid PNG image (corrupt,
    truncated, empty or mislabelled)'; one between Pillow's two limits printed Pillow's
    DecompressionBombWarning on stderr."""
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the guard: 2000 pixels
    big, mid = tmp_path / "big.png", tmp_path / "mid.png"
    Image.new("L", (50, 50)).save(big)
    Image.new("L", (40, 40)).save(mid)
    with pytest.raises(
        ValueError,
        match=r"^could not read big\.png: it decodes to 2,500 pixels, more than the 2,000 ",
    ):
        load_image(big)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(mid).pixels.shape == (40, 40, 1)


def test_a_tiff_page_beyond_the_memory_budget_is_refused_before_decoding(tmp_path, monkeypatch):
    """A compressed TIFF of a few bytes can claim gigabytes: its page's size is checked
    against the memory budget before tifffile allocates it, as a .npy header's is (it was
    decoded, or failed as 'not enough memory' at best)."""
    import deconv_gui.core.limits as limits

    path = tmp_path / "page.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8), compression="zlib")
    monkeypatch.setattr(limits, "memory_budget", lambda: 1000)
    with pytest.raises(ValueError, match=r"^could not read page\.tif: its first page is a 64×64"):
        load_image(path)
