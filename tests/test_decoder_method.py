"""Method ``decoder``: fit-decoder's file as a panel, against PyTorch, refused when it does not fit.

The decoder file is written by ``deconv-gui fit-decoder`` itself; the panel must be
``F.conv_transpose2d(y, W, bias, stride, padding, output_padding)`` of the measurement.
"""

from __future__ import annotations

import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from deconv_gui.cli import main
from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io import decoder_for, read_decoder
from deconv_gui.io.decoder_file import write_decoder
from deconv_gui.io.session import load_session, save_session

SIZE = 32


@pytest.fixture(scope="module")
def decoder_file(tmp_path_factory) -> Path:
    """A 4×4 decoder of the stride-2, padding-1 Gaussian layer on 32² grey images."""
    root = tmp_path_factory.mktemp("decoder")
    images = root / "images"
    images.mkdir()
    for name in ("camera", "coins", "moon"):
        iio.imwrite(images / f"{name}.png", getattr(data, name)())
    out = root / "dec.npz"
    args = ["fit-decoder", "--images", str(images), "--filter", "gaussian", "--stride", "2"]
    args += ["--padding", "1", "--decoder-size", "4", "--size", str(SIZE), "--out", str(out)]
    assert main(args) == 0
    return out


def _image() -> np.ndarray:
    from skimage.transform import resize

    return resize(data.camera().astype(np.float64) / 255, (SIZE, SIZE), anti_aliasing=True)


def _params(path: Path, **changes) -> Params:
    options = {"stride": 2, "padding": 1, "methods": ("transposed", "pinv", "decoder")}
    return Params(
        make_filter("gaussian", in_channels=1), decoder_path=str(path), **{**options, **changes}
    )


def _torch_decoder(y: np.ndarray, path: Path) -> np.ndarray:
    torch = pytest.importorskip("torch")
    dec, _ = read_decoder(path)
    weights = torch.from_numpy(dec.weights.transpose(3, 2, 0, 1).copy())  # (C_y, C_x, K, K)
    out = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(y.transpose(2, 0, 1)[None].astype(np.float64)),
        weights,
        torch.from_numpy(dec.bias),
        stride=dec.stride,
        padding=dec.padding,
        output_padding=dec.output_padding,
    )
    return out[0].numpy().transpose(1, 2, 0)


def test_the_panel_is_pytorchs_conv_transpose2d_of_y(decoder_file):
    params = _params(decoder_file)
    result = run_pipeline(_image(), params, decoder=decoder_for(params))
    reference = _torch_decoder(np.asarray(result.forward_output), decoder_file)
    assert result.decoder is not None and result.decoder.shape == (SIZE, SIZE, 1)
    assert np.allclose(result.decoder, reference, atol=1e-12)
    # scored like the other reconstructions, and better than the transpose
    scores = result.metrics.reconstructions
    assert scores["decoder"].psnr > scores["transposed"].psnr
    assert scores["decoder"].ssim is not None


def test_run_saves_decoder_npy_and_scores_it(decoder_file, tmp_path, capsys):
    image = tmp_path / "camera.png"
    iio.imwrite(image, (_image() * 255).round().astype(np.uint8))
    out = tmp_path / "out"
    args = ["run", "--image", str(image), "--filter", "gaussian", "--stride", "2"]
    args += ["--padding", "1", "--decoder", str(decoder_file), "--out", str(out), "--json"]
    assert main(args) == 0
    record = json.loads(capsys.readouterr().out)["results"][0]
    assert "decoder.npy" in record["files"]
    assert "psnr" in json.dumps(record["metrics"]) and "decoder" in json.dumps(record["metrics"])
    y = np.load(out / "forward_output.npy")
    assert np.allclose(np.load(out / "decoder.npy"), _torch_decoder(y, decoder_file), atol=1e-5)


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--stride", "3"], 2, "stride (2, 2) is not the layer's (3, 3)"),
        (["--padding", "0"], 2, "not the image's 32×32"),
        (["--rgb"], 2, "takes 1 channel(s) to 1; this layer's output has 1, its input 3"),
    ],
)
def test_a_decoder_for_another_layer_is_refused_in_one_line(
    decoder_file, tmp_path, capsys, extra, code, message
):
    image = tmp_path / "camera.png"
    pixels = (_image() * 255).round().astype(np.uint8)
    iio.imwrite(image, np.repeat(pixels[:, :, None], 3, axis=2) if "--rgb" in extra else pixels)
    out = tmp_path / "out"
    args = ["run", "--image", str(image), "--filter", "gaussian", "--stride", "2", "--padding"]
    args += ["1", "--decoder", str(decoder_file), "--out", str(out)]
    args += [e for e in extra if e != "--rgb"]
    assert main(args) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "--decoder dec.npz" in err[0]
    assert not out.exists()  # nothing written


def test_decoder_option_usage_and_failures(decoder_file, tmp_path, capsys):
    base = ["run", "--image", "camera", "--filter", "gaussian", "--out", str(tmp_path / "o")]
    assert main([*base, "--methods", "pinv,decoder"]) == 2
    assert "--methods decoder needs --decoder" in capsys.readouterr().err
    assert main([*base, "--decoder", str(tmp_path / "gone.npz")]) == 2
    assert "decoder file not found" in capsys.readouterr().err
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not a zip")
    assert main([*base, "--decoder", str(corrupt)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decoder corrupt.npz" in err[0]
    assert not (tmp_path / "o").exists()


def test_the_pipeline_names_a_missing_decoder():
    params = Params(make_filter("gaussian", in_channels=1), methods=("decoder",))
    with pytest.raises(ValueError, match=r"^decoder: method decoder needs a decoder file"):
        run_pipeline(_image(), params)
    with pytest.raises(ValueError, match=r"^decoder: method decoder needs a decoder file"):
        decoder_for(params)
    assert decoder_for(params.replace(methods=("pinv",))) is None


def test_decoder_for_reads_again_when_the_file_changed(decoder_file, tmp_path):
    copy = tmp_path / "dec.npz"
    copy.write_bytes(decoder_file.read_bytes())
    params = _params(copy)
    first = decoder_for(params)
    assert decoder_for(params) is first  # cached
    dec, _ = read_decoder(copy)
    write_decoder(copy, type(dec)(dec.weights * 2, dec.bias, dec.stride, dec.padding, (0, 1)))
    assert np.array_equal(decoder_for(params).weights, dec.weights * 2)


def test_a_session_keeps_its_decoder_and_refuses_a_gone_one(decoder_file, tmp_path):
    copy = tmp_path / "dec.npz"
    copy.write_bytes(decoder_file.read_bytes())
    params = _params(copy)
    path = save_session(tmp_path / "s.deconv.json", params, image_source="camera", work_size=32)
    session = load_session(path)
    assert session.params == params and session.params.decoder_path == str(copy)
    result = run_pipeline(_image(), session.params, decoder=decoder_for(session.params))
    assert result.decoder is not None
    copy.unlink()
    with pytest.raises(ValueError) as refused:
        load_session(path)
    text = str(refused.value)
    assert "\n" not in text and "decoder" in text and "dec.npz" in text


def test_a_session_naming_an_unused_decoder_file_opens_without_it(decoder_file, tmp_path):
    copy = tmp_path / "dec.npz"
    copy.write_bytes(decoder_file.read_bytes())
    params = _params(copy, methods=("transposed", "pinv"))
    path = save_session(tmp_path / "s.deconv.json", params, image_source="camera", work_size=32)
    copy.unlink()
    assert load_session(path).params == params  # the decoder is not asked for: no refusal


def test_a_live_update_leaves_out_a_decoder_that_does_not_apply(decoder_file):
    from deconv_gui.core.applicable import NEEDS_DECODER_FILE, inapplicable_methods
    from deconv_gui.io.decoder_file import applicable_run

    x = _image()[:, :, None]
    fits = _params(decoder_file)
    run, decoder, left_out = applicable_run(fits, x.shape)
    assert run is fits and decoder is not None and left_out == {}
    # another stride: the decoder is left out (with check_decoder's reason), the rest runs
    for changed in (fits.replace(stride=3), fits.replace(padding=0)):
        run, decoder, left_out = applicable_run(changed, x.shape)
        assert set(left_out) == {"decoder"} and decoder is None
        assert (
            run.methods == ("transposed", "pinv")
            and run.replace(methods=changed.methods) == changed
        )
        result = run_pipeline(x, run)
        assert result.decoder is None and result.pinv is not None
        with pytest.raises(ValueError, match=r"^decoder"):  # asked explicitly: refused
            run_pipeline(x, changed, decoder=decoder_for(changed))
    assert (
        "stride (2, 2) is not the layer's (3, 3)"
        in applicable_run(fits.replace(stride=3), x.shape)[2]["decoder"]
    )
    # ticked with no file named, or a file that is gone
    for path, reason in (("", "needs a decoder file"), ("/nowhere/gone.npz", "cannot be read")):
        run, decoder, left_out = applicable_run(fits.replace(decoder_path=path), x.shape)
        assert reason in left_out["decoder"] and "decoder" not in run.methods
    # the same mechanism as run --methods all
    assert inapplicable_methods(("pinv", "decoder"), fits.weights) == {
        "decoder": NEEDS_DECODER_FILE
    }
