"""Reading and writing files: images, exports, sessions. Never imports Qt."""

from .decoder_file import decoder_for, read_decoder
from .export import PANELS, export_result, planned_files, result_metrics
from .images import (
    DEFAULT_WORK_SIZE,
    FILE_EXTENSIONS,
    SAMPLES,
    WORK_SIZES,
    LoadedImage,
    apply_work_size,
    convert_image,
    load_image,
    load_sample,
    resize_long_side,
    sha256_of,
)
from .render import render_array
from .session import Session, load_session, save_session

__all__ = [
    "DEFAULT_WORK_SIZE",
    "FILE_EXTENSIONS",
    "PANELS",
    "SAMPLES",
    "WORK_SIZES",
    "LoadedImage",
    "Session",
    "apply_work_size",
    "convert_image",
    "decoder_for",
    "export_result",
    "load_image",
    "load_sample",
    "load_session",
    "planned_files",
    "read_decoder",
    "render_array",
    "resize_long_side",
    "result_metrics",
    "save_session",
    "sha256_of",
]
