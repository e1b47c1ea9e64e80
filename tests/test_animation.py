"""Animation frames and GIFs: frame counts, distinct frames, what is drawn, the CLI."""

from __future__ import annotations

import itertools

import imageio.v3 as iio
import numpy as np
import pytest
from reference import wcag_contrast

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
    assert "--crop" in err


def test_pinv_frames_and_files(tmp_path):
    from deconv_gui.core import PinvAnimation
    from deconv_gui.io.video import FrameRenderer, export_frames, write_animation

    anim = PinvAnimation(TOY, seed_question_filter(), seed_toy_image(), preconditioned=False)
    renderer = FrameRenderer(anim)
    assert len(renderer) == len(anim) + 1
    frames = list(export_frames(anim))
    assert len(frames) == len(anim) + TITLE_FRAMES
    assert len({f.shape for f in frames}) == 1
    for a, b in itertools.pairwise(frames):
        assert not np.array_equal(a, b)
    path = write_animation(tmp_path / "pinv.gif", frames)
    assert iio.imread(path, index=None).shape[0] == len(frames)
    with pytest.raises(ValueError, match="path"):
        write_animation(tmp_path / "pinv.avi", frames)
    with pytest.raises(ValueError, match="k must"):
        renderer.render(len(renderer))


def test_mp4_has_the_frames(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    from deconv_gui.io.video import export_frames, write_mp4

    anim = StepAnimation(TOY, seed_question_filter(), seed_toy_image(), "scatter")
    frames = list(export_frames(anim))
    path = write_mp4(tmp_path / "steps.mp4", frames, step_ms=500, title_ms=1000)
    read = iio.imread(path, plugin="FFMPEG", index=None)
    # the title and result frames are held twice as long as a step: 9 steps + 2 × 2
    assert read.shape[0] == 9 + 2 * 2
    assert read.shape[1:3] == (frames[0].shape[0] + frames[0].shape[0] % 2,
                               frames[0].shape[1] + frames[0].shape[1] % 2)  # fmt: skip
    steps = read[2:-2].astype(int)
    for a, b in itertools.pairwise(steps):
        assert np.abs(a - b).max() > 50  # the window moved: not a repeated frame


def test_cli_animate_pinv_crop_and_mp4(tmp_path, capsys):
    argv = ["animate", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    argv += ["--padding", "0", "--mode", "pinv", "--out", str(tmp_path / "p.gif")]
    assert main(argv) == 0
    assert "iterations" in capsys.readouterr().out
    # the pinv panel's iteration limit bounds the frames
    short = [*argv[:-1], str(tmp_path / "p2.gif"), "--max-iter", "2"]
    assert main(short) == 0
    assert "2 iterations" in capsys.readouterr().out
    assert iio.imread(tmp_path / "p2.gif", index=None).shape[0] == 3 + TITLE_FRAMES
    big = ["animate", "--image", "camera", "--filter", "gaussian", "--work-size", "48"]
    out = tmp_path / "c.gif"
    assert main([*big, "--crop", "40,3", "--crop-size", "8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "8×8 crop at (" in text
    assert iio.imread(out, index=None).shape[0] > TITLE_FRAMES
    assert main([*big, "--crop", "99,3", "--out", str(tmp_path / "d.gif")]) == 2
    assert "outside" in capsys.readouterr().err
    mp4 = tmp_path / "c.mp4"
    code = main([*big, "--crop", "4,4", "--crop-size", "6", "--out", str(mp4)])
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        assert code == 2 and "imageio-ffmpeg" in capsys.readouterr().err
    else:
        assert code == 0 and mp4.stat().st_size > 0


def test_padding_mode_frames_show_the_copied_values():
    geometry = ConvGeometry((5, 5, 1), (3, 3, 1, 1), padding=1, padding_mode="replicate")
    image = np.full((5, 5, 1), 5.0)
    anim = StepAnimation(geometry, np.ones((3, 3, 1, 1)), image, "forward")
    frame = render_step(anim, anim.step(0))
    # the border cells copy 5: they are tinted (not the plain grey of zero padding)
    plain = int(np.all(frame == (190, 190, 190), axis=2).sum())
    zeros = StepAnimation(ConvGeometry((5, 5, 1), (3, 3, 1, 1), padding=1),
                          np.ones((3, 3, 1, 1)), image)  # fmt: skip
    assert plain < int(np.all(render_step(zeros, zeros.step(0)) == (190, 190, 190), axis=2).sum())
    # the end of a folding scatter shows the image-sized A^T y
    scatter = StepAnimation(geometry, np.ones((3, 3, 1, 1)), image, "scatter")
    assert render_step(scatter, None).shape == render_step(scatter, scatter.step(0)).shape


@pytest.mark.parametrize("mode", ["forward", "scatter", "zero-insertion"])
def test_frames_drawn_from_cached_tiles_equal_fresh_drawings(mode):
    from deconv_gui.io.video import FrameRenderer

    geometry = ConvGeometry((6, 6, 2), (3, 3, 2, 2), stride=2, padding=1, padding_mode="reflect")
    rng = np.random.default_rng(3)
    anim = StepAnimation(geometry, rng.standard_normal(geometry.filter_shape),
                         rng.standard_normal(geometry.input_shape), mode)  # fmt: skip
    cached, fresh = FrameRenderer(anim), FrameRenderer(anim)
    fresh.layout.tiles = None  # every grid drawn cell by cell
    for k in [*range(len(cached)), 3, 0]:  # forward, the end, then back
        np.testing.assert_array_equal(cached.render(k), fresh.render(k))
    assert 0 < len(cached.layout.tiles) <= 96


def test_describe_cell_names_the_arrays_under_the_mouse():
    from deconv_gui.io.video import FrameRenderer

    geometry = ConvGeometry((5, 5, 2), (3, 3, 2, 1), stride=2, padding=1, padding_mode="reflect")
    rng = np.random.default_rng(4)
    weights, image = rng.standard_normal(geometry.filter_shape), rng.standard_normal((5, 5, 2))
    anim = StepAnimation(geometry, weights, image, "forward")
    frames = FrameRenderer(anim)
    layout, cell = frames.layout, frames.layout.cell

    def at(index, grid, r, c, k=2):
        left = 12 + grid * (7 * cell + 12)  # the padded input grids are 7 cells wide
        return frames.describe(k, left + (c + 0.5) * cell, layout.tops[index] + (r + 0.5) * cell)

    for r, c, ch in [(0, 0, 0), (4, 2, 1), (2, 3, 0)]:
        assert at(0, ch, r + 1, c + 1) == f"input x[{r}, {c}, channel {ch}] = {image[r, c, ch]:.4g}"
    # the reflected border: row 0 of the padded grid copies image row 1
    assert at(0, 1, 0, 2) == f"padding: a copy of x[1, 1, channel 1] = {image[1, 1, 1]:.4g}"
    step = anim.step(2)
    assert frames.describe(2, 12 + 0.5 * cell, layout.tops[1] + 0.5 * cell) == (
        f"filter w[0, 0, 0, 0] = {weights[0, 0, 0, 0]:.4g}"
    )
    products_left = 12 + 2 * (3 * cell + 12) + 2 * 12
    text = frames.describe(2, products_left + 1.5 * cell, layout.tops[1] + 2.5 * cell)
    assert text == f"product w·x at tap (2, 1), channel 0 = {step.products[2, 1, 0]:.4g}"
    y = anim.output
    assert frames.describe(2, layout.lefts[2] + 1.5 * cell, layout.tops[2] + 0.5 * cell) == (
        f"y[0, 1, 0] = {y[0, 1, 0]:.4g}"
    )
    assert "not computed yet" in frames.describe(
        2, layout.lefts[2] + 2.5 * cell, layout.tops[2] + 2.5 * cell
    )
    assert frames.describe(2, 1, 1) is None  # the title text
    zero = StepAnimation(TOY, seed_question_filter(), seed_toy_image(), "zero-insertion")
    z = FrameRenderer(zero)
    top, cell = z.layout.tops[0], z.layout.cell
    assert z.describe(0, 12 + 3.5 * cell, top + 2.5 * cell).startswith("an inserted zero")
    assert z.describe(0, 12 + 2.5 * cell, top + 2.5 * cell) == "a value of y spread out: 7"
    assert z.describe(0, 12 + 0.5 * cell, top + 0.5 * cell) == "zero padding of the spread y"


@pytest.mark.parametrize("mode", ["forward", "scatter", "zero-insertion"])
def test_every_line_of_every_frame_is_whole(mode):
    from deconv_gui.io.animation import _Layout
    from deconv_gui.io.animation_content import step_text as _step_text

    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2)
    anim = StepAnimation(geometry, seed_question_filter(), seed_toy_image(), mode)
    layout = _Layout(anim)
    for step in [None, *(anim.step(k) for k in range(len(anim)))]:
        lines = layout.lines(_step_text(anim, step))
        for line in lines:  # within the frame's right margin ...
            assert layout.text_font.getlength(line) <= layout.width - 24, line
        # ... and above the first grid's label
        assert 6 + len(lines) * layout.label <= layout.tops[0] - layout.label + 2
        frame = render_step(anim, step, layout)
        assert (frame[: layout.tops[0] - layout.label, -8:] == 255).all()
    summary = " ".join(layout.lines(_step_text(anim, None)))
    if mode == "scatter":
        assert summary.endswith("1 to 4 windows per pixel (the checkerboard) · Aᵀy is not x")


@pytest.mark.parametrize("copied", [False, True])
def test_every_number_in_a_cell_reads_on_its_colour(monkeypatch, copied):
    """A number on a deep red or blue cell is written in white, on a pale one in black:
    contrast 4.5 at least (WCAG AA) for every value, on padding and inserted zeros too."""
    from types import SimpleNamespace

    from PIL import Image, ImageDraw

    from deconv_gui.io import cells

    written: list[tuple[tuple[float, float], tuple[int, int, int]]] = []
    real_text = cells.text

    def record(draw, xy, text, font, **kw):
        written.append((xy, kw["fill"]))
        real_text(draw, xy, text, font, **kw)

    monkeypatch.setattr(cells, "text", record)
    cell = 40
    values = np.linspace(-1.0, 1.0, 25).reshape(5, 5)
    codes = np.zeros((5, 5), int)
    codes[0, :], codes[4, 1] = 1, 2  # a padded row, an inserted zero
    image = Image.new("RGB", (5 * cell, 5 * cell), (255, 255, 255))
    layout = SimpleNamespace(cell=cell, numbers=True, font=cells.fitting_font(["-0.92"], cell))
    cells.draw_grid(ImageDraw.Draw(image), layout, (0, 0), values, 1.0, codes, copied=copied)
    pixels = np.asarray(image)
    assert len(written) == (25 if copied else 20)
    inks = set()
    for (x, y), ink in written:
        r, c = int(y // cell), int(x // cell)
        inside = pixels[r * cell + 1 : (r + 1) * cell - 1, c * cell + 1 : (c + 1) * cell - 1]
        colours, counts = np.unique(inside.reshape(-1, 3), axis=0, return_counts=True)
        background = tuple(int(v) for v in colours[np.argmax(counts)])  # the cell's fill
        assert wcag_contrast(ink, background) >= 4.5, (values[r, c], ink, background)
        inks.add(tuple(ink))
    assert {(0, 0, 0), (255, 255, 255)} <= inks  # both: the ends are dark, the middle pale


@pytest.mark.parametrize("mode", ["forward", "scatter", "zero-insertion"])
def test_sections_side_by_side_never_overlap(mode):
    """Sections share a row while they fit the frame's width (the frame is lower, so
    drawn larger in the window); their grids and their wrapped labels never overlap and
    stay within the frame."""
    from deconv_gui.io.animation import _Layout, frame_grids, grid_positions

    geometry = ConvGeometry((8, 8, 3), (3, 3, 3, 1), stride=2, padding=1)
    image = np.random.default_rng(0).random((8, 8, 3))
    weights = np.random.default_rng(1).normal(size=(3, 3, 3, 1)) * 0.1
    anim = StepAnimation(geometry, weights, image, mode)
    layout = _Layout(anim, scale=1.25)
    boxes = []
    labels, grids = frame_grids(anim, anim.step(0))
    for index, arrays in enumerate(grids):
        lines = layout.label_lines(index, labels[index])
        width = max(layout.text_font.getlength(line) for line in lines)
        top = layout.tops[index] - layout.label * len(lines)
        boxes.append((layout.lefts[index], top, layout.lefts[index] + width, layout.tops[index]))
        for (x, y), values in zip(grid_positions(anim, layout, index, arrays), arrays, strict=True):
            h, w = values.shape
            boxes.append((x, y, x + w * layout.cell, y + h * layout.cell))
    for box in boxes:
        assert box[2] <= layout.width - 6 and box[3] <= layout.height, box
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    if mode == "forward":  # the filters and the output share the second row
        assert layout.tops[1] == layout.tops[2] and layout.lefts[2] > layout.lefts[1]


@pytest.mark.parametrize("padding", [0, 1])
def test_the_scatter_result_speaks_of_a_hatched_border_only_when_there_is_one(padding):
    from deconv_gui.io.animation import frame_grids

    geometry = ConvGeometry((7, 7, 3), (3, 3, 3, 1), stride=2, padding=padding)
    anim = StepAnimation(geometry, seed_question_filter(), seed_toy_image(), "scatter")
    label = frame_grids(anim, anim.step(0))[0][2]
    assert ("hatched" in label) == (padding > 0), label
    codes = anim.structural_zeros
    assert bool(np.any(codes == 1)) == (padding > 0)  # the hatched cells: padding
