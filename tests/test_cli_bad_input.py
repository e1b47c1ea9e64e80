"""Bad input gets one clear line, the right exit code, and nothing written: a file named
once in its error line, a session missing a key or holding a wrong type named as such, a
corrupt session or decoder a failure (1) said once before any image, and a command that
writes two files refusing the second before writing the first."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from deconv_gui.cli import main
from deconv_gui.core import Params, make_filter
from deconv_gui.document import Document, Layer
from deconv_gui.io.decoder_file import read_decoder
from deconv_gui.io.session import load_session, save_document


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.fixture
def session(tmp_path):
    conv = Params(make_filter("random", out_channels=2, seed=1), stride=1)
    doc = Document(layers=(Layer(conv, preset="random", filter_seed=1), Layer(kind="relu")))
    return save_document(tmp_path / "s.deconv.json", doc)


def _variant(tmp_path, session, change) -> str:
    data = json.loads(session.read_text())
    change(data)
    path = tmp_path / "bad.deconv.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_run_names_a_bad_image_once(tmp_path, capsys):
    image = tmp_path / "holes.npy"
    np.save(image, np.full((8, 8), np.nan))
    out = tmp_path / "out"
    assert main(["run", "--image", str(image), "--filter", "box", "--out", str(out)]) == 1
    (line,) = _error_lines(capsys)
    assert (
        line == f"deconv-gui: error: {image}: image contains NaN or inf; every pixel must be finite"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("layers"), "bad.deconv.json: incomplete session file: no 'layers'"),
        (lambda d: d.pop("image"), "incomplete session file: no 'image'"),
        (lambda d: d.update(layers="conv"), "document.layers must be a non-empty list, got str"),
        (lambda d: d.update(layers=[]), "must be a non-empty list, got an empty list"),
        (lambda d: d["layers"].__setitem__(0, "conv"), "layers[0] must be a JSON object, got str"),
        (lambda d: d["layers"][0].update(foo=1), "document.layers[0] has unknown fields: foo"),
        (
            lambda d: d["layers"][0]["params"].update(weights=None),
            "layers[0].params.weights must be nested lists of numbers, got null",
        ),
    ],
)
def test_a_session_missing_a_key_or_of_a_wrong_type_says_which(tmp_path, session, change, message):
    with pytest.raises(ValueError) as refused:
        load_session(_variant(tmp_path, session, change))
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_version_1_session_missing_its_params_or_with_a_string_image(tmp_path):
    base = {"schema": "deconv_gui.session", "version": 1, "image": {"source": "camera"}}
    path = tmp_path / "old.deconv.json"
    path.write_text(json.dumps(base))
    with pytest.raises(ValueError, match="incomplete session file: no 'params'"):
        load_session(path)
    path.write_text(json.dumps({**base, "image": "camera", "params": {"weights": [[[1.0]]]}}))
    with pytest.raises(ValueError, match=r"document\.image must be a JSON object, got str"):
        load_session(path)


@pytest.mark.parametrize("content", ['{"schema": "deconv_gui.session", "vers', "", None])
def test_run_network_with_a_bad_session_is_a_failure_said_once(tmp_path, session, capsys, content):
    bad = tmp_path / "bad.deconv.json"
    if content is None:  # valid JSON, no layers
        bad = _variant(tmp_path, session, lambda d: d.pop("layers"))
    else:
        bad.write_text(content)
    out = tmp_path / "out"
    argv = ["run", "--image", "camera", "camera", "--work-size", "16", "--out", str(out)]
    assert main([*argv, "--network", str(bad)]) == 1  # the flags were fine: the file is not
    (line,) = _error_lines(capsys)  # read once, before the images: not once per image
    assert line.startswith("deconv-gui: error: --network: bad.deconv.json")
    assert not out.exists()
    assert main([*argv, "--network", str(tmp_path / "gone.deconv.json")]) == 2
    assert "session file not found" in capsys.readouterr().err


def _forged_decoder(path) -> None:
    """A decoder file whose weights member claims more bytes than it holds."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((3, 3, 3, 1)))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.npy", buffer.getvalue()[:200])


def test_a_bad_decoder_file_is_named_once(tmp_path, capsys):
    forged, partial, folder = tmp_path / "f.npz", tmp_path / "p.npz", tmp_path / "d.npz"
    _forged_decoder(forged)
    np.savez(partial, weights=np.zeros((3, 3, 3, 1)))
    folder.mkdir()
    expected = {
        forged: "decoder f.npz: member weights.npy claims 216 bytes but holds 200",
        partial: "decoder p.npz: missing field(s) bias, stride, padding, output_padding, metadata",
        folder: "decoder d.npz: cannot be read (Is a directory)",
    }
    for path, message in expected.items():
        with pytest.raises(ValueError) as refused:
            read_decoder(path)
        assert str(refused.value).startswith(message) and str(refused.value).count(".npz") == 1
    out = tmp_path / "out"
    argv = ["run", "--image", "camera", "camera", "--filter", "box", "--out", str(out)]
    assert main([*argv, "--decoder", str(forged)]) == 1
    (line,) = _error_lines(capsys)
    assert line == f"deconv-gui: error: {expected[forged]} (truncated or forged)"
    assert not out.exists()


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize(
    ("make", "option", "message"),
    [
        ("w.npy", ["--filter"], "--filter: could not read w.npy: not a NumPy .npy file"),
        ("empty.pt", ["--layer", "conv1", "--model"], "model empty.pt: not a model file"),
    ],
)
def test_run_names_a_bad_shared_file_alone_once(tmp_path, capsys, batch, make, option, message):
    """A filter or model file that cannot be used is the run's failure, said once before
    any image and naming that file only (it was said for every image, after its name)."""
    bad = tmp_path / make
    bad.write_bytes(b"junk")
    out = tmp_path / "out"
    images = ["seed_toy", "camera"] if batch else ["seed_toy"]
    argv = ["run", "--image", *images, "--work-size", "16", "--out", str(out)]
    assert main([*argv, *option, str(bad)]) == 1
    (line,) = _error_lines(capsys)
    assert line.startswith(f"deconv-gui: error: {message}"), line
    assert "seed_toy" not in line and "camera" not in line
    assert not out.exists()


def test_code_refuses_an_unwritable_weights_file_before_writing_the_input(tmp_path, capsys):
    image = tmp_path / "image.npy"
    image.write_bytes(b"the user's file")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    argv = ["code", "--image", "camera", "--work-size", "16", "--filter", "box"]
    argv += ["--write-input", str(image), "--overwrite", "--weights", str(blocker / "w.npz")]
    assert main(argv) == 1
    (line,) = _error_lines(capsys)
    assert (
        line
        == f"deconv-gui: error: --weights: cannot create output folder {blocker}: is not a folder"
    )
    assert image.read_bytes() == b"the user's file" and capsys.readouterr().out == ""


def test_fit_decoder_says_why_an_image_cannot_be_used(tmp_path, capsys):
    broken, holes = tmp_path / "broken.png", tmp_path / "holes.npy"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    np.save(holes, np.full((16, 16), 1e300))
    out = tmp_path / "dec.npz"
    argv = ["fit-decoder", "--filter", "box", "--decoder-size", "3", "--size", "16"]
    assert main([*argv, "--out", str(out), "--images", str(broken)]) == 1
    (line,) = _error_lines(capsys)  # the reason, not "none of the 1 image(s) could be read"
    assert line.startswith("deconv-gui: error: could not read broken.png: ")
    assert main([*argv, "--out", str(out), "--images", str(broken), str(broken)]) == 1
    (line,) = _error_lines(capsys)
    assert "none of the 2 image(s) could be read (the first: could not read broken.png" in line
    assert main([*argv, "--out", str(out), "--images", str(holes)]) == 1
    (line,) = _error_lines(capsys)  # one image that loads but cannot be used: one line
    assert line.startswith(f"deconv-gui: error: {holes}: image: values this large")
    assert not out.exists()


#: A filter file or a bias that no image can be computed with, and what is said of it.
SHARED_VALUES = [
    (["--filter", "nan.npy"], "--filter nan.npy: weights contains NaN or inf"),
    (["--filter", "flat.npy"], "--filter flat.npy: weights must have shape"),
    (["--filter", "huge.npy"], "--filter huge.npy: weights: a filter gain Σ|w| of 9e+300"),
    (["--filter", "box", "--bias", "1e300"], "bias: values up to 1e+300 overflow"),
]


def _shared_value_files(folder) -> None:
    np.save(folder / "nan.npy", np.full((3, 3, 1), np.nan))
    np.save(folder / "flat.npy", np.ones((3, 3)))
    np.save(folder / "huge.npy", np.full((3, 3, 1), 1e300))


@pytest.mark.parametrize(("option", "message"), SHARED_VALUES)
def test_run_refuses_a_shared_value_no_image_can_use_once(
    tmp_path, capsys, monkeypatch, option, message
):
    """A filter or bias that fails whatever the image is said once, before any image."""
    _shared_value_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--image", "seed_toy", "camera", "--work-size", "16", "--out", "out"]
    assert main([*argv, *option]) == 1
    (line,) = _error_lines(capsys)
    assert line.startswith(f"deconv-gui: error: {message}"), line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("option", "message"), SHARED_VALUES)
def test_fit_decoder_refuses_a_shared_value_once_before_any_image(
    tmp_path, capsys, monkeypatch, option, message
):
    """As run: one line naming the filter file or the bias (exit 1), no image read, even
    when the folder's images could not be read either; nothing written."""
    import imageio.v3 as iio

    from deconv_gui.cli import fit_decoder

    _shared_value_files(tmp_path)
    images = tmp_path / "images"
    images.mkdir()
    for i in range(3):
        iio.imwrite(images / f"{i}.png", np.full((20, 20, 3), 60 * i, dtype=np.uint8))
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    read: list[str] = []
    square = fit_decoder._square
    monkeypatch.setattr(
        fit_decoder, "_square", lambda spec, size: (read.append(spec), square(spec, size))[1]
    )
    monkeypatch.chdir(tmp_path)
    argv = ["fit-decoder", "--decoder-size", "3", "--size", "16", "--out", "dec/d.npz"]
    for folder in (images, unreadable):
        assert main([*argv, "--images", str(folder), *option]) == 1
        (line,) = _error_lines(capsys)
        assert line.startswith(f"deconv-gui: error: {message}"), line
    assert read == [] and not (tmp_path / "dec").exists()
