"""``deconv-gui fit-decoder`` and batches on a dask cluster: files written, cluster = serial."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from deconv_gui.cli import main
from deconv_gui.core.decoder import Decoder
from deconv_gui.io.decoder_file import read_decoder, write_decoder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    images.mkdir()
    for name in ("camera", "coins", "moon", "page"):
        iio.imwrite(images / f"{name}.png", getattr(data, name)())
    return images


def _fit(folder: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "fit-decoder",
            "--images",
            str(folder),
            "--filter",
            "gaussian",
            "--stride",
            "2",
            "--padding",
            "1",
            "--decoder-size",
            "4",
            "--size",
            "32",
            "--out",
            str(out),
            *extra,
        ]
    )


def test_writes_a_decoder_that_beats_the_transpose(folder, tmp_path, capsys):
    out = tmp_path / "dec.npz"
    assert _fit(folder, out, "--json") == 0
    report = json.loads(capsys.readouterr().out)
    decoder, metadata = read_decoder(out)
    assert decoder.weights.shape == (4, 4, 1, 1) and decoder.stride == (2, 2)
    assert report["n_images"] == 3 and len(report["heldout"]) == 1
    assert report["heldout_mean_psnr"]["decoder"] > report["heldout_mean_psnr"]["transposed"]
    assert metadata["layer"]["stride"] == [2, 2] and metadata["size"] == 32


def test_a_local_cluster_gives_the_serial_result(folder, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    serial, cluster = tmp_path / "serial.npz", tmp_path / "cluster.npz"
    assert _fit(folder, serial) == 0
    assert _fit(folder, cluster, "--workers", "2") == 0
    a, b = np.load(serial), np.load(cluster)
    assert all(np.array_equal(a[k], b[k]) for k in ("weights", "bias", "padding"))


def test_a_failing_image_is_named_and_the_others_finish(folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = tmp_path / "dec.npz"
    assert _fit(folder, out, "--holdout", "0") == 1
    err = capsys.readouterr().err
    assert "broken.png" in err and out.exists()
    assert read_decoder(out)[1]["images"] == ["camera.png", "coins.png", "moon.png", "page.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--size", "4"], "--size"),
        (["--holdout", "1.5"], "--holdout"),
        (["--workers", "0"], "--workers"),
        (["--decoder-size", "0"], "--decoder-size"),
        (["--decoder-size", "100"], "--decoder-size: kernel_size (100, 100) on 1 channel(s)"),
    ],
)
def test_usage_errors_exit_2(folder, tmp_path, capsys, monkeypatch, args, message):
    import deconv_gui.cli.fit_decoder as command

    monkeypatch.setattr(command, "_terms", lambda job: pytest.fail("fitted before refusing"))
    assert _fit(folder, tmp_path / "dec.npz", *args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "dec.npz").exists()


@pytest.mark.parametrize("command", ["fit-decoder", "run"])
def test_a_cluster_without_dask_names_the_extra_to_install(
    folder, tmp_path, capsys, monkeypatch, command
):
    # the app's own install (pip install .) has no dask: --workers says what to install
    for name in ("dask", "dask.distributed", "distributed"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    if command == "run":
        argv = ["run", "--image", str(folder), "--filter", "gaussian", "--out", str(tmp_path / "o")]
        assert main([*argv, "--workers", "2"]) == 2
    else:
        assert _fit(folder, tmp_path / "dec.npz", "--workers", "2") == 2
    err = capsys.readouterr().err.strip()
    assert "need dask.distributed: pip install" in err and "[cluster]" in err and "\n" not in err
    assert not (tmp_path / "dec.npz").exists() and not (tmp_path / "o").exists()


def test_too_many_decoder_unknowns_are_refused_before_allocating():
    from deconv_gui.core.decoder import MAX_DECODER_UNKNOWNS, normal_equations

    x = np.zeros((64, 64, 1))
    with pytest.raises(ValueError, match=r"^kernel_size \(1000, 1000\) on 1 channel"):
        normal_equations(x, x[::2, ::2], stride=2, kernel_size=1000)  # 8 TB of normal equations
    assert MAX_DECODER_UNKNOWNS >= 16 * 16 * 16 + 1  # a 16×16 kernel on 16 channels fits


def test_the_progress_bar_stays_out_of_a_log(folder, tmp_path, capsys):
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert _fit(folder, tmp_path / "dec.npz") == 1
    err = capsys.readouterr().err  # not a terminal: the errors alone, one line each
    assert "images:" not in err and "%" not in err
    lines = err.strip().splitlines()  # the error as it came, then a summary: not twice
    assert len(lines) == 2 and lines[0].startswith("deconv-gui: error: could not read broken.png: ")
    assert lines[0].count("broken.png") == 1  # the reader names it: not prefixed again
    assert lines[1] == f"deconv-gui: 1 image(s) failed: {folder / 'broken.png'}"


def test_an_existing_out_file_is_kept_without_overwrite(folder, tmp_path, capsys):
    out = tmp_path / "dec.npz"
    out.write_bytes(b"the user's earlier decoder")
    assert _fit(folder, out) == 1
    err = capsys.readouterr().err.strip()
    assert "already exists" in err and "--overwrite" in err and "\n" not in err
    assert out.read_bytes() == b"the user's earlier decoder"
    assert _fit(folder, out, "--overwrite") == 0
    assert read_decoder(out)[0].weights.shape == (4, 4, 1, 1)


@pytest.mark.parametrize("where", ["file", "proc"])
def test_an_out_folder_that_cannot_take_the_file_is_refused_before_the_fit(
    folder, tmp_path, capsys, monkeypatch, where
):
    import deconv_gui.cli.fit_decoder as command

    if where == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc (root passes a read-only folder's mode bits)")
    blocker = tmp_path / "a-file"
    blocker.write_text("kept")
    out = blocker / "dec.npz" if where == "file" else Path("/proc/deconv-gui-test/dec.npz")
    monkeypatch.setattr(command, "_terms", lambda job: pytest.fail("fitted before refusing"))
    assert _fit(folder, out) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("deconv-gui: error: --out: cannot") and "\n" not in err
    assert blocker.read_text() == "kept" and not out.exists()


def test_hostile_decoder_files_are_refused_in_one_line(tmp_path):
    good = Decoder(np.ones((3, 3, 1, 1)), np.zeros(1), (2, 2), (1, 1), (1, 1))
    path = tmp_path / "dec.npz"
    write_decoder(path, good)
    decoder, _ = read_decoder(path)
    assert np.array_equal(decoder.weights, good.weights) and decoder.output_padding == (1, 1)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"decoder truncated\.npz"):
        read_decoder(truncated)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, weights=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match=r"decoder pickled\.npz"):
        read_decoder(pickled)
    bad = tmp_path / "bad.npz"
    np.savez(
        bad,
        weights=np.ones((3, 3, 1, 1)),
        bias=np.zeros(1),
        stride=[2, 2],
        padding=[1, 1],
        output_padding=[2, 0],
        metadata=np.asarray("{}"),
    )
    with pytest.raises(ValueError, match="output_padding"):
        read_decoder(bad)


def test_run_on_a_local_cluster_writes_what_the_serial_run_writes(folder, tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    outs = {}
    for name, extra in (("serial", []), ("cluster", ["--workers", "2"])):
        outs[name] = tmp_path / name
        code = main(
            [
                "run",
                "--image",
                str(folder),
                "--filter",
                "gaussian",
                "--stride",
                "2",
                "--work-size",
                "32",
                "--out",
                str(outs[name]),
                *extra,
            ]
        )
        assert code == 1  # the broken image failed, by name; the others were written
        assert "broken.png" in capsys.readouterr().err
    serial = sorted(p.relative_to(outs["serial"]) for p in outs["serial"].rglob("*.npy"))
    cluster = sorted(p.relative_to(outs["cluster"]) for p in outs["cluster"].rglob("*.npy"))
    assert serial == cluster and len(serial) >= 4 * 3
    for rel in serial:
        assert np.array_equal(np.load(outs["serial"] / rel), np.load(outs["cluster"] / rel))


def test_a_header_claiming_gigabytes_is_refused_before_allocating(tmp_path):
    import io as _io
    import zipfile

    header = _io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000, 3, 3)}
    )
    forged = tmp_path / "forged.npz"
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr("weights.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\0" * 64)
    with pytest.raises(ValueError, match=r"claims .* bytes"):
        read_decoder(forged)
