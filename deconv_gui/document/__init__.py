"""The window's state as one Qt-free, evented :class:`Document` (gui, cli and io use it).

See :mod:`deconv_gui.document.model` for the document, :mod:`.records` and :mod:`.layer`
for its parts, :mod:`.network` for its chain as a network, and :mod:`.migrate` for
reading what earlier versions wrote.
"""

from .layer import ACTIVATION_KINDS, CHAIN_KINDS, POOL_KINDS, Layer
from .migrate import DOCUMENT_VERSION, check_version, migrate
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
    ModelSource,
    default_params,
    same_in_all_channels,
)

__all__ = [
    "ACTIVATION_KINDS",
    "CHAIN_KINDS",
    "DEFAULT_PRESET",
    "DEFAULT_WORK_SIZE",
    "DOCUMENT_VERSION",
    "IMAGE_KINDS",
    "LAYOUTS",
    "MODEL_SCALINGS",
    "POOL_KINDS",
    "SAMPLES",
    "Display",
    "Document",
    "ImageSource",
    "Insight",
    "Layer",
    "ModelSource",
    "check_version",
    "default_params",
    "migrate",
    "same_in_all_channels",
]
