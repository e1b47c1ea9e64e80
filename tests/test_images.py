"""Image loading: conversions stated in the note, clear errors for bad files, samples."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import skimage.data
from skimage import io as skio

from deconv_gui.io import (
    SAMPLES,
    apply_work_size,
    convert_image,
    load_image,
    load_sample,
    resize_long_side,
    sha256_of,
)


@pytest.mark.parametrize(
    ("raw", "expected", "note"),
    [
        (np.array([[0, 255]], dtype=np.uint8), [[0.0, 1.0]], "uint8 → float in [0, 1]"),
        (np.array([[0, 65535]], dtype=np.uint16), [[0.0, 1.0]], "uint16 → float in [0, 1]"),
        (np.array([[False, True]]), [[0.0, 1.0]], "bool → float"),
        (np.array([[-2.5, 3.0]]), [[-2.5, 3.0]], "float64 kept as is"),
    ],
)
def test_conversions_scale_by_the_type_and_say_so(raw, expected, note):
    pixels, text = convert_image(raw)
    assert pixels.shape == (1, 2, 1)  # grey gains a channel axis
    np.testing.assert_allclose(pixels[..., 0], expected)
    assert note in text and "grey → 1 channel" in text


def test_alpha_is_dropped_and_said():
    rgba = np.zeros((4, 5, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    pixels, text = convert_image(rgba)
    assert pixels.shape == (4, 5, 3) and pixels.dtype == np.float32
    assert "alpha channel dropped" in text
    np.testing.assert_array_equal(pixels[0, 0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (np.zeros((0, 3)), "empty"),
        (np.full((2, 2), np.nan), "NaN or inf"),
        (np.zeros((2, 2, 5)), "5 channels"),
        (np.zeros((2, 2, 2, 2)), "shape"),
        (np.array([["a", "b"]]), "numbers"),
    ],
)
def test_unusable_data_gives_a_clear_error(raw, match):
    with pytest.raises(ValueError, match=match):
        convert_image(raw)


def test_png_and_16_bit_tiff_round_trip(tmp_path):
    rgb = np.arange(6 * 7 * 3, dtype=np.uint8).reshape(6, 7, 3)
    skio.imsave(tmp_path / "a.png", rgb, check_contrast=False)
    loaded = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded.pixels, rgb.astype(np.float32) / 255)
    deep = (np.arange(6 * 7, dtype=np.uint16) * 1000).reshape(6, 7)
    skio.imsave(tmp_path / "b.tif", deep, check_contrast=False)
    loaded = load_image(tmp_path / "b.tif")
    np.testing.assert_allclose(loaded.pixels[..., 0], deep / 65535, rtol=1e-6)
    assert "uint16" in loaded.note and loaded.source == str(tmp_path / "b.tif")


def test_npy_is_read_without_pickle(tmp_path):
    np.save(tmp_path / "ok.npy", np.ones((3, 4, 3)))
    assert load_image(tmp_path / "ok.npy").pixels.shape == (3, 4, 3)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"could not read objects\.npy"):
        load_image(tmp_path / "objects.npy")


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("bad.png", b"this is not a png", "not a valid PNG image"),
        ("notes.txt", b"hello", r"unsupported file type '\.txt'"),
    ],
)
def test_bad_files_give_one_sentence(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        load_image(tmp_path / "nowhere.png")


def test_work_size_resizes_the_long_side_and_keeps_dtype():
    pixels = np.random.default_rng(0).random((300, 200, 3)).astype(np.float32)
    out = resize_long_side(pixels, 128)
    assert out.shape == (128, 85, 3) and out.dtype == np.float32


def test_samples_load_at_the_work_size():
    for name in SAMPLES:
        sample = load_sample(name, work_size=64)
        assert sample.is_sample and sample.pixels.ndim == 3
        if name == "seed_toy":
            assert sample.pixels.shape == (7, 7, 3)
            assert np.array_equal(sample.pixels, np.round(sample.pixels))  # integers
        else:
            assert max(sample.pixels.shape[:2]) == 64
    assert load_sample("camera", work_size=64).pixels.shape[2] == 1
    with pytest.raises(ValueError, match="sample must be one of"):
        load_sample("lena")


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"deconv" * 1000)
    assert sha256_of(path) == hashlib.sha256(b"deconv" * 1000).hexdigest()


def test_box_reduce_is_the_mean_of_each_block_literal_loops():
    from deconv_gui.io.images import box_reduce

    pixels = np.random.default_rng(1).random((23, 17, 2)).astype(np.float32)
    for factor in (1, 2, 3, 5, 30):
        out = box_reduce(pixels, factor)
        expected = np.empty(out.shape)
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                block = pixels[i * factor : (i + 1) * factor, j * factor : (j + 1) * factor]
                expected[i, j] = block.reshape(-1, 2).astype(np.float64).mean(axis=0)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_box_reduce_in_strips_equals_one_strip(monkeypatch):
    import deconv_gui.io.images as images

    pixels = np.random.default_rng(2).random((101, 37, 3))
    whole = images.box_reduce(pixels, 4)
    monkeypatch.setattr(images, "_STRIP_VALUES", 37 * 3 * 8)  # 8 rows a strip
    np.testing.assert_allclose(images.box_reduce(pixels, 4), whole, rtol=1e-12)


def test_a_large_shrink_matches_scikit_images_resize():
    from skimage.transform import resize

    y, x = np.mgrid[0:1300, 0:900] / 120.0
    smooth = np.stack([np.sin(x) * np.cos(0.7 * y), np.sin(0.3 * x + 0.2 * y)], -1)
    out = resize_long_side(smooth.astype(np.float32), 100)  # box-averaged by 6 first
    reference = resize(smooth, out.shape, order=1, anti_aliasing=True, preserve_range=True)
    assert out.shape == (100, 69, 2) and out.dtype == np.float32
    # values span [-1, 1]; the two anti-aliasing filters differ a little in how much they blur
    assert np.abs(out - reference).max() < 0.02 and np.abs(out - reference).mean() < 0.005


def test_load_image_reports_progress_and_stops_when_cancelled(tmp_path):
    import threading

    from deconv_gui.core import SolveCancelled

    path = tmp_path / "big.png"
    skio.imsave(path, np.random.default_rng(0).integers(0, 255, (600, 500, 3), dtype=np.uint8))
    stages = []
    loaded = load_image(path, 64, progress=lambda fraction, stage: stages.append((fraction, stage)))
    assert loaded.pixels.shape == (64, 53, 3)
    assert stages[0] == (0.0, "reading") and stages[-1] == (1.0, "done")
    assert "resizing" in [s for _f, s in stages]
    fractions = [f for f, _s in stages]
    assert fractions == sorted(fractions)
    cancel = threading.Event()

    def cancel_while_converting(fraction, stage):
        if stage == "converting":
            cancel.set()

    with pytest.raises(SolveCancelled):
        load_image(path, 64, progress=cancel_while_converting, cancel=cancel)


def test_a_sample_loaded_again_is_an_equal_independent_copy():
    first = load_sample("chelsea", 64)
    first.pixels[...] = -1.0  # a caller that edits its image must not change the next load
    again = load_sample("chelsea", 64)
    expected = apply_work_size(convert_image(skimage.data.chelsea())[0], 64)[0]
    np.testing.assert_array_equal(again.pixels, expected)
    assert again.pixels.flags.writeable
    assert again.note == first.note
