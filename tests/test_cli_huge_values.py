"""Huge values are refused in one line by every command, as ``run`` refuses them: a filter
of 1e308 gave ``info`` an "exact" rank of 0, ``animate`` hundreds of overflow warnings and
``fit-decoder`` a warning per sum; ``code`` printed a snippet that overflows."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.cli import main


@pytest.fixture
def huge_filter(tmp_path):
    path = tmp_path / "huge.npy"
    np.save(path, np.full((3, 3, 1, 1), 1e308))
    return path


@pytest.fixture
def huge_image(tmp_path):
    path = tmp_path / "huge.npy"
    np.save(path, np.full((16, 16), 1e308))
    return path


def _refused(capsys, argv, names):
    with _no_warnings():
        code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert err.startswith("deconv-gui: error: ") and "\n" not in err, err
    assert any(name in err for name in names), err


class _no_warnings:
    """Fail on any warning (an overflow warning is what the refusal replaces)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.caught = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert not self.caught, [str(w.message) for w in self.caught]


@pytest.mark.parametrize("command", ["info", "code", "animate"])
def test_a_huge_filter_is_refused_by_every_command(tmp_path, capsys, huge_filter, command):
    argv = [command, "--image", "camera", "--work-size", "16", "--filter", str(huge_filter)]
    if command == "animate":
        argv += ["--out", str(tmp_path / "a.gif")]
    _refused(capsys, argv, ["weights: a filter gain"])
    assert not (tmp_path / "a.gif").exists()


def test_a_huge_bias_is_refused_by_info(capsys):
    argv = ["info", "--image", "camera", "--work-size", "16", "--filter", "box"]
    _refused(capsys, [*argv, "--bias", "1e308"], ["bias: values up to 1e+308"])


def test_info_gives_the_rank_of_a_huge_image_but_code_and_animate_refuse_it(
    tmp_path, capsys, huge_image
):
    # A's rank does not depend on the pixels: info answers, as for any image
    assert main(["info", "--image", str(huge_image), "--filter", "gaussian", "--json"]) == 0
    assert '"rank": 64' in capsys.readouterr().out
    # with an activation D depends on them: refused
    relu = ["info", "--image", str(huge_image), "--filter", "gaussian", "--activation", "relu"]
    _refused(capsys, relu, ["image: values this large"])
    _refused(capsys, ["code", "--image", str(huge_image), "--filter", "box"], ["image: values"])
    gif = tmp_path / "a.gif"
    argv = ["animate", "--image", str(huge_image), "--filter", "box", "--out", str(gif)]
    _refused(capsys, argv, ["image: values"])
    assert not gif.exists()


def test_fit_decoder_refuses_a_huge_filter_and_names_a_huge_image(
    tmp_path, capsys, huge_filter, huge_image
):
    out = tmp_path / "dec.npz"
    common = ["fit-decoder", "--decoder-size", "3", "--size", "16", "--out", str(out)]
    _refused(capsys, [*common, "--images", "camera", "--filter", str(huge_filter)], ["weights"])
    assert not out.exists()
    with _no_warnings():  # the huge image fails alone, named; the other is fitted
        code = main(
            [*common, "--images", str(huge_image), "camera", "--filter", "box", "--holdout", "0"]
        )
    err = capsys.readouterr().err
    assert code == 1 and f"{huge_image}: image: values this large" in err
    assert out.exists()
