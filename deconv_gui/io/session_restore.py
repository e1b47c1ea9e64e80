"""What a session file restores: :class:`Session`, read back by
:func:`~deconv_gui.io.session.load_session`.

Beside its :class:`~deconv_gui.document.Document`, a session knows where its image is
(a sample, a file saved absolute or found beside the session file, pasted pixels) and
whether that file, or a layer's model file, changed since saving; it loads the image at
its work size and checks the pipeline could compute on it, before anything is applied.
Writing and reading the file itself is :mod:`deconv_gui.io.session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import Params
from ..core.limits import check_magnitudes
from ..document import DOCUMENT_VERSION, Document, ModelSource
from .images import LoadedImage, load_image, load_sample, sha256_of
from .session_model import load_model_image, model_problem

__all__ = ["Session"]


@dataclass(frozen=True, eq=False)
class Session:
    """A set-up read back from a session file.

    Attributes
    ----------
    document : Document
        Everything the file restores (older files migrated).
    schema_version : int
        The file's schema version (older than
        :data:`~deconv_gui.io.session.SESSION_VERSION` when migrated).
    extra : dict
        Free-form data stored beside the document.
    path : Path or None
        The session file it was read from.
    """

    document: Document
    schema_version: int = DOCUMENT_VERSION  # the version this code writes
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def params(self) -> Params:
        """The selected layer's filter, geometry and options, exactly as saved."""
        return self.document.params

    @property
    def image_source(self) -> str:
        """A sample name (see :data:`~deconv_gui.io.SAMPLES`) or an image file path
        (absolute when saved; a path relative to the session file is tried too)."""
        return self.document.image.source

    @property
    def work_size(self) -> int | None:
        """The long side the image was resized to (None: original size)."""
        return self.document.image.work_size

    @property
    def image_sha256(self) -> str | None:
        """SHA-256 of the image file when it was saved (None for samples)."""
        return self.document.image.sha256

    @property
    def is_sample(self) -> bool:
        """True when the image is a built-in sample."""
        return self.document.image.kind == "sample"

    @property
    def is_pasted(self) -> bool:
        """True when the image was pasted or dropped pixels (not stored in the file)."""
        return self.document.image.kind == "array"

    @property
    def image_path(self) -> Path | None:
        """The image file to open (None for a sample), preferring one that exists."""
        if self.is_sample:
            return None
        given = Path(self.image_source)
        if not given.is_file() and self.path is not None and not given.is_absolute():
            beside = self.path.parent / given
            if beside.is_file():
                return beside
        return given

    @property
    def image_missing(self) -> bool:
        """True when the session names an image file that does not exist."""
        path = self.image_path
        return path is not None and not path.is_file()

    def image_problem(self) -> str | None:
        """A one-line message when the image is missing or changed since saving, else None."""
        path = self.image_path
        if path is None:
            return None
        if not path.is_file():
            return f"the session's image file is missing: {self.image_source}"
        if self.image_sha256 and sha256_of(path) != self.image_sha256:
            return f"the session's image file changed since the session was saved: {path}"
        return None

    @property
    def model(self) -> ModelSource | None:
        """The model file the selected layer was read from (None: a layer of its own)."""
        return self.document.layer.model

    def model_problem(self) -> str | None:
        """One line when the layer's model file, or the image it runs on, is missing or
        changed since saving (the layer cannot be read again as it was), else None."""
        return None if self.model is None else model_problem(self.model)

    def load_model_image(self) -> LoadedImage:
        """The image the layer's model runs on, loaded as it was (sample or file).

        Raises
        ------
        ValueError
            When the session's layer has no model, or the image cannot be read.
        """
        if self.model is None:
            raise ValueError("the session's layer is not a model file's")
        return load_model_image(self.model)

    def check_numbers(self, pixels: np.ndarray) -> None:
        """Refuse this set-up on ``pixels`` when the pipeline could not compute it.

        The pipeline's own magnitude checks
        (:func:`~deconv_gui.core.limits.check_magnitudes`), run before the session is
        applied, so that a refusal changes nothing.

        Raises
        ------
        ValueError
            Naming ``image``, ``weights`` or ``bias``.
        """
        check_magnitudes(np.asarray(pixels), self.params.weights, self.params.bias)

    def load_image(self) -> LoadedImage:
        """Load the session's image at its work size (checked with :meth:`check_numbers`).

        Raises
        ------
        ValueError
            When the file is missing or unreadable (message from :func:`load_image`).
        """
        if self.is_sample:
            loaded = load_sample(self.image_source, self.work_size)
        elif self.image_missing or self.image_path is None:
            raise ValueError(f"the session's image file is missing: {self.image_source}")
        else:
            loaded = load_image(self.image_path, self.work_size)
        self.check_numbers(loaded.pixels)
        return loaded
