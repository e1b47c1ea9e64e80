"""Write the small three-layer ONNX network the guide's "network up to here" picture uses.

    python scripts/make_network_model.py OUT.onnx

conv(3→8, 3×3) → ReLU → conv(8→4, 3×3) → ReLU → conv(4→8, 3×3, stride 2), every conv
padded by 1, weights and biases drawn from a fixed seed (no training, no download): the same
file every time. Every conv also passes the red, green and blue channels on through its
centre tap (as a trained first layer keeps the colours), so the ReLUs pass most units and
the picture's J⁺ looks like the photo; the strided third conv is what loses the fine
detail. The last layer takes four channels, so the window can also study it alone. The
input's height and width are free (``dynamic_axes``): the window runs it on the image at
its work size. Needs torch (the ``refs`` extra).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["LAST_LAYER", "make_network_model"]

#: The ONNX name of the third conv (the layer the picture goes up to).
LAST_LAYER = "/conv3/Conv"


def make_network_model(path: Path, seed: int = 0) -> Path:
    """Export the network to ``path`` (ONNX, opset torch's default) and return ``path``."""
    import torch
    from torch import nn

    class ThreeConvs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 4, 3, padding=1)
            self.conv3 = nn.Conv2d(4, 8, 3, stride=2, padding=1)

        def forward(self, x):
            return self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x)))))

    torch.manual_seed(seed)
    net = ThreeConvs().eval()
    smooth = torch.tensor([0.5, 1.0, 0.5])
    with torch.no_grad():
        for conv in (net.conv1, net.conv2, net.conv3):
            conv.weight *= 0.5  # the random part half torch's default scale
        for c in range(3):
            net.conv1.weight[c, c, 1, 1] += 1.0
            net.conv2.weight[c, c, 1, 1] += 1.0
            # the strided conv smooths before it subsamples (an anti-aliasing filter)
            net.conv3.weight[c, c] += torch.outer(smooth, smooth)
    axes = {"image": {2: "height", 3: "width"}}
    torch.onnx.export(
        net,
        torch.zeros(1, 3, 32, 32),
        str(path),
        dynamo=False,
        input_names=["image"],
        dynamic_axes=axes,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="the .onnx file to write")
    args = parser.parse_args(argv)
    print(make_network_model(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
