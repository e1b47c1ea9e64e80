"""Render the documentation's pictures with the app's own ``--screenshot``.

    python scripts/screenshots.py                 # every picture into docs/images/
    python scripts/screenshots.py --only lost     # one of them
    python scripts/screenshots.py --out /tmp/pics # somewhere else

Each picture is one run of ``python -m deconv_gui --screenshot PATH --view VIEW --size WxH``
(offscreen: no display needed) with the source tree first on the path, so the pictures show
the code of this checkout. The PNGs are then reduced to a 256-colour palette (Pillow, which
scikit-image already needs), which keeps them small enough to commit. The animation is one
run of ``deconv-gui animate``, its frames reduced to one shared 64-colour palette.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The seed question's set-up: the 7×7×3 toy image, its 3×3×3 filter, stride 2, no padding.
SEED = ("--image", "seed_toy", "--filter", "seed_question", "--stride", "2", "--padding", "0")


@dataclass(frozen=True)
class Shot:
    """One picture: its file name, the ``--view``, the size and the window's settings."""

    name: str
    view: str
    size: str | None = "1600x1000"
    args: tuple[str, ...] = ()
    about: str = ""
    #: Params fields for a session the window opens first (what has no command-line flag).
    session: tuple[tuple[str, object], ...] = ()
    #: Open a layer of the small ONNX model :func:`_model_file` makes (needs torch).
    model: bool = False
    #: The network up to the last layer of ``scripts/make_network_model.py``'s model, on
    #: the photo at 128 px (the J⁺ solve of the picture stays within the screenshot's time).
    network: bool = False
    #: The network built by hand of :func:`_chain_session`, up to its last conv.
    chain: bool = False


#: A photo where a prior visibly helps: camera, Gaussian blur, stride 2, a little noise;
#: 300 iterations so that the picture shows converged solves (TV's duality gap reaches
#: 1e-3 after ~270 on this photo; at the window's default 100 it reads "not converged").
PRIORS = (
    ("image_source", "camera"),
    ("methods", ("transposed", "pinv", "tv", "nonneg")),
    ("noise_sigma", 0.01),
    ("prior_nonneg", True),
    ("prior_iter", 300),
)

SHOTS: tuple[Shot, ...] = (
    Shot("window.png", "main", about="the default window: astronaut, Gaussian, stride 2"),
    Shot("seed-window.png", "main", args=SEED, about="the window on the question's set-up"),
    Shot("seed-matrices.png", "seed", None, about="A, Aᵀ and A⁺ of the question as matrices"),
    Shot("lost.png", "lost", about="the lost-information panels"),
    Shot("spectrum.png", "spectrum", None, about="singular values and the L-curve"),
    Shot("fourier.png", "fourier", None, about="the Fourier view: aliasing and checkerboards"),
    Shot("check.png", "check", None, SEED, about="check-my-code on the question's deConv"),
    Shot("steps.png", "steps", "1280x860", SEED, about="How it is computed: the forward steps"),
    Shot("priors.png", "main", session=PRIORS, about="camera with TV and x ≥ 0 next to A⁺"),
    Shot(
        "model-layer.png",
        "main",
        args=("--image", "astronaut"),
        model=True,
        about="File → Open model…: a stride-2 layer on the activation the model feeds it",
    ),
    Shot(
        "network.png",
        "main",
        "1280x800",
        network=True,
        about="the network up to a layer: f(x₀), Jᵀ, deconvnet, guided backprop, J⁺ side by side",
    ),
    Shot(
        "handbuilt.png",
        "main",
        "1280x800",
        chain=True,
        about="a network built by hand in the dock (conv, ReLU, pools), the network up to it",
    ),
)
#: ``deconv-gui animate`` arguments of the animation in the README and the guide.
ANIMATION = ("animate", *SEED, "--mode", "scatter")


def render(shot: Shot, out: Path) -> None:
    """Run the app once for ``shot`` and write the optimised PNG to ``out``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / shot.name
        command = [sys.executable, "-m", "deconv_gui", "--screenshot", str(raw)]
        command += ["--view", shot.view, *shot.args]
        if shot.session:
            command += ["--session", str(_session_file(dict(shot.session), Path(tmp)))]
        if shot.model:
            command += ["--model", str(_model_file(Path(tmp))), "--layer", "/stage2/Conv"]
        if shot.network:
            command += _network_args(Path(tmp))
        if shot.chain:
            command += ["--session", str(_chain_session(Path(tmp))), "--through"]
        if shot.size:
            command += ["--size", shot.size]
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{shot.name}: {' '.join(command[1:])} failed:\n{done.stderr}")
        optimise(raw, out)


def _session_file(fields: dict[str, object], folder: Path) -> Path:
    """Write a session with the defaults plus ``fields`` into ``folder``."""
    sys.path.insert(0, str(REPO))
    from deconv_gui.core import Params, make_filter
    from deconv_gui.io.session import save_session

    params = Params(weights=make_filter("gaussian"), **fields)  # type: ignore[arg-type]
    return save_session(folder / "shot", params)


def _network_args(folder: Path) -> list[str]:
    """``--session`` (astronaut at 128 px), ``--model``, ``--layer`` and ``--through``."""
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "scripts"))
    from make_network_model import LAST_LAYER, make_network_model

    from deconv_gui.core import Params, make_filter
    from deconv_gui.io.session import save_session

    params = Params(weights=make_filter("gaussian"))
    session = save_session(folder / "network", params, image_source="astronaut", work_size=128)
    model = make_network_model(folder / "three_convs.onnx")
    return ["--session", str(session), "--model", str(model), "--layer", LAST_LAYER, "--through"]


def _chain_session(folder: Path) -> Path:
    """A session of a network built by hand on the cat at 160 px: an edge conv, ReLU,
    max-pool, a smoothing conv, ReLU, average pool and a sharpening conv (the one studied)."""
    sys.path.insert(0, str(REPO))
    from deconv_gui.core import Params, make_filter
    from deconv_gui.document import Document, ImageSource, Layer
    from deconv_gui.io.session import save_document

    def conv(preset: str, c_in: int, c_out: int, bias: float = 0.0) -> Layer:
        weights = make_filter(preset, in_channels=c_in, out_channels=c_out)
        params = Params(weights, bias=bias, stride=1)
        return Layer(params, preset=preset, same_in_all=False)

    chain = (
        conv("sobel_x", 3, 4, bias=0.02),  # four directions of edges
        Layer(kind="relu"),
        Layer(kind="maxpool"),
        conv("gaussian", 4, 4),
        Layer(kind="relu"),
        Layer(kind="avgpool"),
        conv("sharpen", 4, 3),
    )
    image = ImageSource("sample", "chelsea", 160)
    document = Document(image=image, layers=chain, selected=len(chain) - 1, through=True)
    return save_document(folder / "chain", document)


def _model_file(folder: Path) -> Path:
    """A small ONNX encoder (torch.onnx.export): a 5×5 smoothing conv with BatchNorm and ReLU,
    then the stride-2 3×3 layer the picture studies."""
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stage1 = nn.Conv2d(3, 3, 5, padding=2)
            self.bn = nn.BatchNorm2d(3)
            self.stage2 = nn.Conv2d(3, 3, 3, stride=2, padding=1)

        def forward(self, x):
            return self.stage2(torch.relu(self.bn(self.stage1(x))))

    torch.manual_seed(0)
    net = Encoder().eval()
    with (
        torch.no_grad()
    ):  # stage 1 smooths each channel (its activation still looks like the photo)
        net.stage1.weight.zero_()
        for c in range(3):
            net.stage1.weight[c, c] = 1 / 25
        net.stage1.bias.zero_()
        net.stage2.weight.normal_(0, 0.3)
    path = folder / "encoder.onnx"
    x = torch.zeros(1, 3, 64, 64)
    axes = {"image": {2: "height", 3: "width"}}
    torch.onnx.export(net, x, str(path), dynamo=False, input_names=["image"], dynamic_axes=axes)
    return path


def animate(out: Path) -> None:
    """Render :data:`ANIMATION` to ``out`` as a GIF with one shared 64-colour palette."""
    from PIL import Image, ImageSequence

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / out.name
        command = [sys.executable, "-m", "deconv_gui", *ANIMATION, "--out", str(raw)]
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{out.name}: {' '.join(command[1:])} failed:\n{done.stderr}")
        with Image.open(raw) as gif:
            frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(gif)]
            durations = [frame.info.get("duration", 500) for frame in ImageSequence.Iterator(gif)]
    # one palette for all frames (a montage of them), so colours do not flicker between frames
    width, height = frames[0].size
    montage = Image.new("RGB", (width, height * len(frames)))
    for index, frame in enumerate(frames):
        montage.paste(frame, (0, height * index))
    palette = montage.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small = [frame.quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    small[0].save(
        out, save_all=True, append_images=small[1:], duration=durations, loop=0, optimize=True
    )


def optimise(source: Path, out: Path) -> None:
    """Save ``source`` as a 256-colour PNG at ``out`` (screenshots lose nothing visible)."""
    from PIL import Image

    with Image.open(source) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        palette.save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    names = [shot.name.removesuffix(".png") for shot in SHOTS] + ["scatter"]
    parser.add_argument("--only", choices=names, action="append", help="repeatable")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for shot in SHOTS:
        if args.only and shot.name.removesuffix(".png") not in args.only:
            continue
        target = args.out / shot.name
        render(shot, target)
        print(f"{target}: {target.stat().st_size // 1024} KiB ({shot.about})")
    if not args.only or "scatter" in args.only:
        target = args.out / "scatter.gif"
        animate(target)
        print(f"{target}: {target.stat().st_size // 1024} KiB (the transposed conv as scatter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
