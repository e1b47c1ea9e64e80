"""Frames of any animation (the step views and the pseudo-inverse), and GIF or MP4 files.

:class:`FrameRenderer` draws frame ``k`` of an animation on demand (the window asks
for one frame at a time; nothing is drawn ahead), with one layout for all frames so
they line up. :func:`export_frames` gives a title frame, every step and the finished
result for a file, and :func:`write_animation` writes them as a GIF (imageio) or, when
the optional ``imageio-ffmpeg`` is installed (``pip install "deconv-gui[mp4]"``), as an
MP4 (H.264).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core import PinvAnimation, StepAnimation
from ..core.arguments import frame_index
from .animation import MAX_GIF_STEPS, _Layout, render_step, render_title, write_gif
from .animation_hover import describe_cell
from .animation_pinv import PinvLayout, render_pinv_step, render_pinv_title
from .cells import PRINT_PAPER, Paper
from .files import new_file_mode

__all__ = [
    "VIDEO_SUFFIXES",
    "FrameRenderer",
    "export_frames",
    "mp4_available",
    "write_animation",
    "write_mp4",
]

#: The file types an animation can be written as.
VIDEO_SUFFIXES = (".gif", ".mp4")


class FrameRenderer:
    """Draws the frames of one animation: its steps, then the finished result.

    Parameters
    ----------
    anim : StepAnimation or PinvAnimation
        The animation.
    scale : float
        Multiplies the frame's size limits (1: files; the window draws larger frames,
        with numbers in more cells, and zooms).
    paper : Paper, optional
        The colours around the cells (default: the print's, white); the window gives
        its theme's and sets :attr:`paper` again when the palette changes.

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvGeometry, StepAnimation
    >>> from deconv_gui.io.video import FrameRenderer
    >>> anim = StepAnimation(ConvGeometry((4, 4, 1), (2, 2, 1), stride=2),
    ...                      np.ones((2, 2, 1)), np.ones((4, 4, 1)))
    >>> frames = FrameRenderer(anim)
    >>> len(frames), frames.render(0).shape == frames.render(4).shape
    (5, True)
    """

    def __init__(
        self, anim: StepAnimation | PinvAnimation, scale: float = 1.0, paper: Paper = PRINT_PAPER
    ) -> None:
        if not isinstance(anim, (StepAnimation, PinvAnimation)):
            raise ValueError(
                f"anim must be a StepAnimation or a PinvAnimation, got {type(anim).__name__}"
            )
        self.anim = anim
        self.pinv = isinstance(anim, PinvAnimation)
        if not np.isfinite(scale) or not 0.25 <= scale <= 8:
            raise ValueError(f"scale must be between 0.25 and 8, got {scale!r}")
        self.layout: Any = (
            PinvLayout(anim, scale) if self.pinv else _Layout(anim, scale)  # type: ignore[arg-type]
        )
        self.paper = paper

    @property
    def paper(self) -> Paper:
        """The colours around the cells of the frames drawn from now on."""
        return self.layout.paper

    @paper.setter
    def paper(self, paper: Paper) -> None:
        self.layout.paper = paper

    def __len__(self) -> int:
        return len(self.anim) + 1

    def render(self, k: int) -> np.ndarray:
        """Frame ``k``: step ``k`` for ``k < len(anim)``, the finished result for the last.

        Raises
        ------
        ValueError
            Naming ``k`` when it is out of range.
        """
        k = frame_index(k, len(self))
        step = self.anim.step(k) if k < len(self.anim) else None
        if self.pinv:
            return render_pinv_step(self.anim, step, self.layout)  # type: ignore[arg-type]
        return render_step(self.anim, step, self.layout)  # type: ignore[arg-type]

    def describe(self, k: int, x: float, y: float) -> str | None:
        """One line about the cell at pixel ``(x, y)`` of frame ``k`` (None: no cell there)."""
        if self.pinv or not 0 <= k < len(self):
            return None
        step = self.anim.step(int(k)) if k < len(self.anim) else None
        return describe_cell(self.anim, step, self.layout, x, y)  # type: ignore[arg-type]

    def title(self) -> np.ndarray:
        """The opening frame of a file: what is animated, on which geometry."""
        if self.pinv:
            return render_pinv_title(self.anim, self.layout)  # type: ignore[arg-type]
        return render_title(self.anim, self.layout)  # type: ignore[arg-type]


def export_frames(anim: StepAnimation | PinvAnimation) -> Iterator[np.ndarray]:
    """The title frame, one frame per step, then the finished result.

    Raises
    ------
    ValueError
        Naming ``anim`` when it has more than :data:`~deconv_gui.io.animation.MAX_GIF_STEPS`
        steps, with how to get a crop.
    """
    if len(anim) > MAX_GIF_STEPS:
        raise ValueError(
            f"anim: {len(anim):,} steps ({anim.mode} on input_shape "
            f"{anim.geometry.input_shape}) are more than the {MAX_GIF_STEPS} a file shows; "
            "animate a crop (deconv-gui animate --crop ROW,COL --crop-size 12, or the "
            "window's How it is computed view, which crops around the inspected pixel)"
        )
    renderer = FrameRenderer(anim)
    yield renderer.title()
    for k in range(len(renderer)):
        yield renderer.render(k)


def mp4_available() -> bool:
    """Whether MP4 files can be written (the optional ``imageio-ffmpeg`` is installed)."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_mp4(
    path: Any, frames: Sequence[np.ndarray], *, step_ms: int = 500, title_ms: int = 2500
) -> Path:
    """Write ``frames`` (title, steps, result) as an H.264 MP4; returns the path.

    An MP4 has one frame rate, so the title and result frames are repeated to last
    about ``title_ms``. Frames are padded with white to even sizes (what H.264 needs).

    Raises
    ------
    ValueError
        Naming ``path`` when it cannot be written or ``imageio-ffmpeg`` is missing, or
        ``frames`` when there are none.
    """
    if len(frames) == 0:
        raise ValueError("frames must hold at least one frame")
    if not mp4_available():
        raise ValueError(
            'path: MP4 needs the optional imageio-ffmpeg (pip install "deconv-gui[mp4]"); '
            "write a .gif instead"
        )
    import imageio.v3 as iio

    path = Path(path)
    h, w = frames[0].shape[:2]
    pad = ((0, h % 2), (0, w % 2), (0, 0))
    held = max(1, round(title_ms / max(step_ms, 1)))
    repeats = [held] + [1] * (len(frames) - 2) + [held] if len(frames) > 1 else [held]
    stack = np.concatenate(
        [
            np.repeat(np.pad(f[:, :, :3], pad, constant_values=255)[np.newaxis], n, axis=0)
            for f, n in zip(frames, repeats, strict=True)
        ]
    )
    # ffmpeg writes a temp file beside the target, renamed into place once complete: a
    # failure leaves no half-written video and keeps the file it would replace
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp.mp4")
    try:
        iio.imwrite(
            temp, stack, plugin="FFMPEG", fps=1000.0 / max(step_ms, 1), codec="libx264",
            pixelformat="yuv420p", macro_block_size=1,
        )  # fmt: skip
        os.chmod(temp, new_file_mode())
        os.replace(temp, path)
    except (OSError, RuntimeError) as exc:
        temp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ValueError(f"path: cannot write {path}: {reason}") from None
    return path


def write_animation(
    path: Any, frames: Sequence[np.ndarray], *, step_ms: int = 500, title_ms: int = 2500
) -> Path:
    """Write ``frames`` as a GIF or an MP4, by the suffix of ``path``.

    Raises
    ------
    ValueError
        Naming ``path`` for another suffix or when it cannot be written.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".gif":
        return write_gif(path, frames, step_ms=step_ms, title_ms=title_ms)
    if suffix == ".mp4":
        return write_mp4(path, frames, step_ms=step_ms, title_ms=title_ms)
    raise ValueError(f"path must end in .gif or .mp4, got {Path(path).name!r}")
