"""Application entry point: ``main(argv) -> int``."""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Print the forward output of the seed question's 7×7×3 example (until the window lands)."""
    from .core import ConvGeometry, conv2d

    _ = sys.argv[1:] if argv is None else argv
    image = np.arange(7 * 7 * 3, dtype=np.float64).reshape(7, 7, 3) % 10
    weights = np.ones((3, 3, 3, 1)) / 27.0
    print(ConvGeometry(image.shape, weights.shape, stride=2).describe())
    print(conv2d(image, weights, stride=2)[..., 0])
    return 0
