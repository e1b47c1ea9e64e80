"""One state of the window for the undo history: a document and its image; words for a step.

A :class:`Snapshot` is what undo goes back to: a copy of the window's
:class:`~deconv_gui.document.Document` (which is cheap: its parts are immutable) and the
image it showed (shared, never copied) with where that came from. :func:`describe`
names the step between two snapshots ("stride 2 → 3", "load sample coffee") and gives
the key under which bursts of it merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np

from ...core import Params
from ...document import Document
from ...io import LoadedImage, apply_work_size, load_image, load_sample
from ...view.edits import Change, describe_changes, summarise
from ..controls.filter_editor import PRESET_LABELS, channel_names
from ..state import ImageOrigin

__all__ = ["Snapshot", "describe", "drop_old_images", "load_again", "same_origin"]


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The window's state at one moment: what undo goes back to.

    ``document`` is a copy of the window's document (never changed afterwards).
    ``image`` is shared with the window (never copied); None once dropped to keep
    memory bounded, then it is loaded again from ``origin`` at ``work_size``.
    """

    image: LoadedImage | None
    origin: ImageOrigin
    document: Document

    @property
    def work_size(self) -> int | None:
        """The long side the image was loaded at (None: its original size)."""
        return self.document.image.work_size

    @property
    def params(self) -> Params:
        """The selected layer's Params."""
        return self.document.params

    @property
    def preset(self) -> str:
        """The selected layer's filter preset."""
        return self.document.layer.preset

    @property
    def seed(self) -> int:
        """The selected layer's filter seed."""
        return self.document.layer.filter_seed

    @property
    def same_in_all(self) -> bool:
        """The selected layer's "same in all channels"."""
        return self.document.layer.same_in_all

    def same_image(self, other: Snapshot) -> bool:
        """True when both show the same pixels from the same origin at the same work size."""
        if self.work_size != other.work_size or not same_origin(self.origin, other.origin):
            return False
        if self.image is other.image or self.image is None or other.image is None:
            return True  # a dropped image is the one its origin gives
        a, b = self.image.pixels, other.image.pixels
        return a is b or (a.shape == b.shape and np.array_equal(a, b))

    def same_settings(self, other: Snapshot) -> bool:
        """True when the layers and the switch are the same (the display choices are not
        undone)."""
        mine, theirs = self.document, other.document
        return (mine.layers, mine.selected, mine.through) == (
            theirs.layers,
            theirs.selected,
            theirs.through,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return self.same_image(other) and self.same_settings(other)

    __hash__ = None  # type: ignore[assignment]


def same_origin(a: ImageOrigin, b: ImageOrigin) -> bool:
    """True when ``a`` and ``b`` load the same pixels (the same sample, file or paste)."""
    if a.kind != b.kind:
        return False
    if a.kind == "array":
        return a.value[0] is b.value[0]  # type: ignore[index]  # the pasted pixels
    return a.value == b.value


def _size_words(size: int | None) -> str:
    return "original" if size is None else f"{size} px"


def _image_words(before: Snapshot, after: Snapshot) -> str:
    kind, value = after.origin
    if same_origin(before.origin, after.origin) and before.work_size != after.work_size:
        old, new = (_size_words(s) for s in (before.work_size, after.work_size))
        return f"work size {old} → {new}"
    if kind == "sample":
        return f"load sample {value}"
    if kind == "file":
        return f"open image {Path(str(value)).name}"
    source = str(value[1]) if isinstance(value, tuple) else "image"
    return {"clipboard": "paste image", "dropped image": "drop image"}.get(source, "use image")


def describe(before: Snapshot, after: Snapshot) -> Change:
    """The words and merge key of the step from ``before`` to ``after``."""
    if not before.same_image(after):
        # the filter follows the image's channels: that is part of loading it
        return Change(_image_words(before, after), None)
    names = channel_names(after.params.weights.shape[2])
    changes = describe_changes(before.params, after.params, names)
    if before.preset != after.preset and after.preset in PRESET_LABELS and after.preset != "custom":
        old = PRESET_LABELS.get(before.preset, before.preset)
        # the weights follow the preset: say only which preset
        changes = [c for c in changes if not c.text.startswith("filter")]
        changes.insert(0, Change(f"preset {old} → {PRESET_LABELS[after.preset]}", None))
    if before.seed != after.seed:
        changes = [c for c in changes if not c.text.startswith("filter")]
        changes.insert(0, Change(f"seed {before.seed} → {after.seed}", "seed"))
    if before.same_in_all != after.same_in_all:
        changes = [c for c in changes if not c.text.startswith("filter")]
        state = "on" if after.same_in_all else "off"
        changes.insert(0, Change(f"same in all channels {state}", None))
    if not changes:
        return Change("filter preset name", None)
    key = changes[0].key if len(changes) == 1 else None
    return Change(summarise(changes), key)


def load_again(snapshot: Snapshot) -> LoadedImage:
    """Load a dropped step's image again from where it came from."""
    kind, value = snapshot.origin
    if kind == "sample":
        return load_sample(str(value), snapshot.work_size)
    if kind == "file":
        return load_image(str(value), snapshot.work_size)
    pixels, source, note = cast("tuple[np.ndarray, str, str]", value)
    resized, extra = apply_work_size(pixels, snapshot.work_size)
    return LoadedImage(resized, source, note + extra)


def drop_old_images(commands: Sequence[object], current: LoadedImage | None, budget: int) -> None:
    """Keep the newest steps' images within ``budget`` bytes; older steps keep only their origin.

    ``commands`` (oldest first) have ``before`` and ``after`` snapshots; a dropped image
    is loaded again (:func:`load_again`) when its step is shown. The image on screen
    (``current``) counts first, and an image shared by several steps counts once.
    """
    total, seen = 0, set()
    if current is not None:
        seen.add(id(current))
        total += current.pixels.nbytes
    for command in reversed(commands):  # the newest keep their images
        for side in ("after", "before"):
            snap: Snapshot = getattr(command, side)
            if snap.image is None or id(snap.image) in seen:
                continue
            if total + snap.image.pixels.nbytes > budget:
                setattr(command, side, replace(snap, image=None))
                continue
            seen.add(id(snap.image))
            total += snap.image.pixels.nbytes
