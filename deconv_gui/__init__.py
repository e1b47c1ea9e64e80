"""Deconvolution Explorer: forward, transposed and pseudo-inverse views of a strided convolution."""

__all__ = ["__version__"]

__version__ = "0.1.0"
