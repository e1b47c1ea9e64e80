"""The window's state as one Qt-free, evented :class:`Document` (gui, cli and io use it).

See :mod:`deconv_gui.document.model` for the document, :mod:`.records` for its parts
and :mod:`.migrate` for reading what earlier versions wrote.
"""

from .migrate import DOCUMENT_VERSION, migrate
from .model import Document
from .records import (
    DEFAULT_PRESET,
    DEFAULT_WORK_SIZE,
    IMAGE_KINDS,
    LAYOUTS,
    MODEL_SCALINGS,
    SAMPLES,
    Display,
    ImageSource,
    Insight,
    Layer,
    ModelSource,
    default_params,
    same_in_all_channels,
)

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_WORK_SIZE",
    "DOCUMENT_VERSION",
    "IMAGE_KINDS",
    "LAYOUTS",
    "MODEL_SCALINGS",
    "SAMPLES",
    "Display",
    "Document",
    "ImageSource",
    "Insight",
    "Layer",
    "ModelSource",
    "default_params",
    "migrate",
    "same_in_all_channels",
]
