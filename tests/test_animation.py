"""Animation frames and GIFs: frame counts, distinct frames, what is drawn, the CLI."""

from __future__ import annotations

import itertools

import imageio.v3 as iio
import numpy as np
import pytest

from deconv_gui.cli import main
from deconv_gui.core import ConvGeometry, StepAnimation
from deconv_gui.core.filters import seed_question_filter
from deconv_gui.io.animation import (
    TITLE_FRAMES,
    animation_frames,
    render_step,
    write_gif,
)
from deconv_gui.io.images import seed_toy_image

TOY = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
HIGHLIGHT = np.array([230, 120, 0])


@pytest.mark.parametrize(
    ("mode", "steps"), [("forward", 9), ("scatter", 9), ("zero-insertion", 49)]
)
def test_gif_has_one_frame_per_step_plus_titles(tmp_path, mode, steps):
    anim = StepAnimation(TOY, seed_question_filter(), seed_toy_image(), mode)
    frames = list(animation_frames(anim))
    assert len(frames) == steps + TITLE_FRAMES
    assert len({f.shape for f in frames}) == 1 and frames[0].dtype == np.uint8
    path = write_gif(tmp_path / "steps.gif", frames)
    read = iio.imread(path, index=None)
    assert read.shape[0] == steps + TITLE_FRAMES
    # consecutive frames differ (the window moves), so none is merged away
    for a, b in itertools.pairwise(read):
        assert not np.array_equal(a, b)


def _highlighted(frame: np.ndarray) -> np.ndarray:
    return np.all(frame[:, :, :3] == HIGHLIGHT, axis=2)


def test_the_window_moves_with_the_stride():
    anim = StepAnimation(TOY, seed_question_filter(), seed_toy_image(), "forward")
    first, second = (render_step(anim, anim.step(k)) for k in (0, 1))
    cols_first = np.flatnonzero(_highlighted(first).any(axis=0))
    cols_second = np.flatnonzero(_highlighted(second).any(axis=0))
    # the outline of the first grid moves right by two cells
    shift = cols_second.min() - cols_first.min()
    assert shift > 0
    # the finished frame shows no window
    assert not _highlighted(render_step(anim, None)).any()


def test_padding_cells_are_drawn_differently():
    geometry = ConvGeometry((4, 4, 1), (3, 3, 1, 1), stride=3, padding=1, dilation=2)
    image = np.full((4, 4, 1), 5.0)
    anim = StepAnimation(geometry, np.ones((3, 3, 1, 1)), image, "forward")

    def grey_pixels(anim):
        frame = render_step(anim, anim.step(0))
        return int(np.all(frame == (190, 190, 190), axis=2).sum())

    # 20 padding cells of 40×40 pixels, hatched; without padding only anti-aliased text
    assert grey_pixels(anim) > 10_000
    no_padding = ConvGeometry((4, 4, 1), (3, 3, 1, 1))
    assert grey_pixels(StepAnimation(no_padding, np.ones((3, 3, 1, 1)), image)) < 500


def test_write_gif_refuses_empty_and_unwritable(tmp_path):
    with pytest.raises(ValueError, match="frames"):
        write_gif(tmp_path / "a.gif", [])
    frame = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="path"):
        write_gif(tmp_path / "missing" / "a.gif", [frame, frame + 1])


def test_cli_animate(tmp_path, capsys):
    out = tmp_path / "steps.gif"
    argv = ["animate", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    argv += ["--padding", "0", "--mode", "scatter", "--out", str(out)]
    assert main(argv) == 0
    assert "9 steps" in capsys.readouterr().out
    assert iio.imread(out, index=None).shape[0] == 9 + TITLE_FRAMES
    # no silent overwrite; wrong suffix, unknown mode and too many steps: one line each
    assert main(argv) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv[:-1], str(tmp_path / "a.png")]) == 2
    assert main([*argv, "--overwrite", "--mode", "sideways"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "Traceback" not in err
    big = ["animate", "--image", "camera", "--filter", "gaussian", "--work-size", "48"]
    assert main([*big, "--out", str(tmp_path / "b.gif")]) == 1
    err = capsys.readouterr().err.strip()
    assert "steps" in err and "--work-size" in err and "\n" not in err
