"""Export: files round-trip exactly, PNGs have the panel's size, writes are all-or-nothing."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
import tifffile
from skimage import io as skio

from deconv_gui import __version__
from deconv_gui.core import Params, make_filter, run_pipeline
from deconv_gui.io import (
    PANELS,
    export_result,
    load_image,
    load_sample,
    planned_files,
    render_array,
    sha256_of,
)
from deconv_gui.io.export import ExistingFilesError, panel_arrays
from deconv_gui.io.render import encode_png, render_panel
from deconv_gui.io.session import params_from_dict
from deconv_gui.view.display import filter_is_signed


@pytest.fixture(scope="module")
def sample_result():
    loaded = load_sample("astronaut", 40)  # float32, 40×40×3
    params = Params(
        make_filter("random", out_channels=2, seed=3),
        bias=(0.25, -0.5),
        stride=2,
        padding=(1, 0),
        methods=("transposed", "normalized_transposed", "pinv"),
        image_source=loaded.source,
    )
    return loaded, run_pipeline(loaded.pixels, params)


def test_round_trip_npy_tif_png_and_sidecar(tmp_path, sample_result):
    loaded, result = sample_result
    written = export_result(result, tmp_path, image_source=loaded)
    arrays = panel_arrays(result)
    assert list(arrays) == list(PANELS[:5])  # no insight panels were computed
    assert {p.name for p in written} == {
        f"{n}.{e}" for n in PANELS[:5] for e in ("npy", "tif", "png")
    } | {"params.json"}
    for name, array in arrays.items():
        npy = np.load(tmp_path / f"{name}.npy", allow_pickle=False)
        assert npy.dtype == array.dtype and np.array_equal(npy, array)  # exact
        tif = tifffile.imread(tmp_path / f"{name}.tif")
        assert tif.dtype == np.float32
        assert np.array_equal(tif.reshape(array.shape), array.astype(np.float32))  # exact
        png = skio.imread(tmp_path / f"{name}.png")
        assert png.shape == (*array.shape[:2], 3) and png.dtype == np.uint8
    doc = json.loads((tmp_path / "params.json").read_text())
    assert doc["package"]["version"] == __version__
    assert params_from_dict(doc["params"]) == result.params
    assert doc["image"]["kind"] == "sample" and doc["image"]["sha256_of"] == "pixels"
    assert doc["image"]["sha256"] == hashlib.sha256(result.image.tobytes()).hexdigest()
    metrics = doc["metrics"]
    assert metrics["shapes"]["forward_output"] == list(result.forward_output.shape)
    assert metrics["solver"]["iterations"] == result.solver.iterations
    assert metrics["solver"]["converged"] is result.solver.converged
    assert set(metrics["quality"]) == {"transposed", "normalized_transposed", "pinv"}
    assert metrics["quality"]["pinv"]["data_range"] == pytest.approx(
        float(result.image.max() - result.image.min())
    )
    assert set(metrics["timings_s"]) >= {"forward", "pinv"}
    assert sorted(doc["files"]) == sorted(p.name for p in written)


def test_png_is_the_displayed_pixels_when_given(tmp_path, sample_result):
    _, result = sample_result
    shown = np.random.default_rng(0).integers(0, 256, (*result.pinv.shape[:2], 3), dtype=np.uint8)
    export_result(result, tmp_path, displayed={"pinv": shown}, formats=("png",))
    assert np.array_equal(skio.imread(tmp_path / "pinv.png"), shown)
    # without displayed pixels, the window's first look: the adjoint of this filter with
    # both signs is signed (0 at mid-grey in colour)
    signed = filter_is_signed(result.params.weights)
    assert signed
    default = render_panel(result.transposed, "adjoint", result.image, signed_filter=signed)
    assert np.array_equal(skio.imread(tmp_path / "transposed.png"), default)


def test_file_source_is_hashed_by_file_bytes(tmp_path):
    path = tmp_path / "img.npy"
    np.save(path, np.arange(48, dtype=np.float32).reshape(4, 4, 3))
    loaded = load_image(path)
    result = run_pipeline(loaded.pixels, Params(make_filter("box", size=2), image_source=str(path)))
    out = tmp_path / "out"
    out.mkdir()
    export_result(result, out)
    image = json.loads((out / "params.json").read_text())["image"]
    assert image["kind"] == "file" and image["sha256"] == sha256_of(path)
    # 4×4 is below SSIM's 7×7 window: a 3×3 window (as in the window's table), and the
    # sidecar says so
    quality = json.loads((out / "params.json").read_text())["metrics"]["quality"]["pinv"]
    assert quality["ssim"] == result.metrics.reconstructions["pinv"].ssim
    assert "SSIM window reduced from 7 to 3" in quality["note"]


def test_existing_files_without_overwrite_write_nothing(tmp_path, sample_result):
    _, result = sample_result
    (tmp_path / "pinv.tif").write_bytes(b"keep me")
    with pytest.raises(ExistingFilesError, match=r"pinv\.tif") as info:
        export_result(result, tmp_path)
    assert [p.name for p in info.value.paths] == ["pinv.tif"]
    assert sorted(os.listdir(tmp_path)) == ["pinv.tif"]  # nothing else, no temp files
    assert (tmp_path / "pinv.tif").read_bytes() == b"keep me"
    export_result(result, tmp_path, overwrite=True)
    assert np.array_equal(tifffile.imread(tmp_path / "pinv.tif"), result.pinv.astype(np.float32))


def test_missing_folder_and_folder_under_a_file(tmp_path, sample_result):
    _, result = sample_result
    with pytest.raises(ValueError, match="does not exist"):
        export_result(result, tmp_path / "missing")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        export_result(result, blocker)
    with pytest.raises(ValueError, match="does not exist"):
        export_result(result, blocker / "sub")  # unwritable even for root
    assert sorted(os.listdir(tmp_path)) == ["a_file"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder_leaves_nothing(tmp_path, sample_result):
    _, result = sample_result
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot write"):
            export_result(result, folder)
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o700)


def test_failure_midway_cleans_temp_files(tmp_path, sample_result, monkeypatch):
    """An OS error while writing (e.g. a full disk) leaves neither targets nor temp files."""
    _, result = sample_result
    import tempfile

    real = tempfile.NamedTemporaryFile
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", failing)
    with pytest.raises(ValueError, match="No space left"):
        export_result(result, tmp_path)
    assert os.listdir(tmp_path) == []


def test_bad_arguments(tmp_path, sample_result):
    _, result = sample_result
    with pytest.raises(ValueError, match="panels"):
        planned_files(result, tmp_path, panels=["nope"])
    with pytest.raises(ValueError, match="formats"):
        export_result(result, tmp_path, formats=("jpg",))
    with pytest.raises(ValueError, match="displayed"):
        export_result(result, tmp_path, displayed={"pinv": np.zeros((2, 2))})
    assert os.listdir(tmp_path) == []
    only_forward = run_pipeline(result.image, result.params.replace(methods=()))
    with pytest.raises(ValueError, match="not computed"):
        planned_files(only_forward, tmp_path, panels=["pinv"])


def test_figures_are_written_with_the_panels(tmp_path, sample_result):
    _, result = sample_result
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    written = export_result(result, tmp_path, formats=("npy",), figures={"figure.svg": svg})
    assert (tmp_path / "figure.svg").read_bytes() == svg
    assert written[-1].name == "params.json"


def test_render_levels_and_diverging_colormap():
    signed = np.array([[-2.0, 0.0, 2.0]])
    rgb = render_array(signed, kind="signed")  # default: symmetric levels, blue-white-red
    assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[0, 1]) == (247, 247, 247)  # zero is the window's near-white
    assert rgb[0, 0, 2] > rgb[0, 0, 0] and rgb[0, 2, 0] > rgb[0, 2, 2]  # blue, then red
    grey = render_array(np.array([[0.0, 0.5, 1.0, 2.0]]), levels=(0.0, 1.0))
    assert grey[0, :, 0].tolist() == [0, 128, 255, 255]  # clipped above the top level
    colour = render_array(np.dstack([np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), 0.5)]))
    assert colour[0, 0].tolist() == [0, 255, 128]
    with pytest.raises(ValueError, match="levels"):
        render_array(signed, levels=(1.0, 1.0))


def test_render_default_colormap_follows_the_window_rule():
    """By default a panel is drawn as the window draws its kind: grey, whatever its signs."""
    from deconv_gui.view.display import display_spec

    both = np.array([[-1.0, 0.0, 1.0]])
    for kind, signed_filter in [("adjoint", False), ("adjoint", True), ("signed", False)]:
        expected = display_spec(both[:, :, None], kind, scaling="auto", signed_filter=signed_filter)
        rgb = render_array(both, kind=kind, signed_filter=signed_filter)
        grey = bool((rgb[..., 0] == rgb[..., 2]).all())
        assert grey == (expected.colormap != "diverging"), (kind, signed_filter)
    with pytest.raises(ValueError, match="kind"):
        render_array(both, kind="photo")


def test_png_encoder_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    for shape in [(5, 7), (5, 7, 3), (3, 2, 4)]:
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / f"p{len(shape)}{shape[-1]}.png"
        path.write_bytes(encode_png(pixels))
        assert np.array_equal(skio.imread(path), pixels)


def test_insight_panels_are_exported(tmp_path):
    image = load_sample("astronaut", 24).pixels
    params = Params(make_filter("gaussian"), stride=2, methods=("pinv", "coverage", "nullspace"))
    result = run_pipeline(image, params)
    arrays = panel_arrays(result)
    assert list(arrays) == [
        "input",
        "forward_output",
        "pinv",
        "coverage",
        "recoverable",
        "nullspace",
    ]
    export_result(result, tmp_path, formats=("npy",))
    for name in ("coverage", "recoverable", "nullspace"):
        assert np.array_equal(np.load(tmp_path / f"{name}.npy"), getattr(result, name))
    quality = json.loads((tmp_path / "params.json").read_text())["metrics"]["quality"]
    assert set(quality) == {"pinv"}  # PSNR of a coverage map against the image means nothing


def test_sidecar_reuses_result_metrics_and_fills_skipped_ssim(tmp_path):
    from deconv_gui.core import reconstruction_metrics
    from deconv_gui.io import result_metrics

    image = load_sample("astronaut", 24).pixels
    live = run_pipeline(image, Params(make_filter("gaussian"), stride=2, ssim=False))
    quality = result_metrics(live)["quality"]
    for name in ("transposed", "pinv"):
        expected = reconstruction_metrics(image, getattr(live, name))
        assert quality[name]["ssim"] == expected["ssim"] is not None  # filled in for export
        assert quality[name]["psnr_db"] == live.metrics.reconstructions[name].psnr
        assert "note" not in quality[name]


def test_exported_files_get_the_umask_mode(tmp_path, sample_result):
    _, result = sample_result
    old = os.umask(0o027)  # set/reset in the test: the mode must follow the umask
    try:
        written = export_result(result, tmp_path, formats=("npy",))
    finally:
        os.umask(old)
    assert {p.stat().st_mode & 0o777 for p in written} == {0o640}  # 0o666 & ~0o027
