"""Reading and writing files: images, exports, sessions. Never imports Qt."""

from .images import (
    FILE_EXTENSIONS,
    SAMPLES,
    WORK_SIZES,
    LoadedImage,
    convert_image,
    load_image,
    load_sample,
    resize_long_side,
    sha256_of,
)

__all__ = [
    "FILE_EXTENSIONS",
    "SAMPLES",
    "WORK_SIZES",
    "LoadedImage",
    "convert_image",
    "load_image",
    "load_sample",
    "resize_long_side",
    "sha256_of",
]
