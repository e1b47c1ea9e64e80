"""The dock's "Image" section: sample picker, Open…, work size, and a line about the image.

The widget only asks: it emits :attr:`ImageControls.sampleRequested`,
:attr:`~ImageControls.openRequested` and :attr:`~ImageControls.workSizeChanged` for user actions;
the window loads the image and reports back with :meth:`~ImageControls.set_info` and
:meth:`~ImageControls.set_current_sample`. The ``set_*`` methods never emit.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QStandardItemModel
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

from ...core.choices import check_choice
from ...io import SAMPLES, WORK_SIZES, LoadedImage
from ..support.elided import ElidedLabel, breakable
from ..support.qthelp import nonnull
from ..support.theme import theme_style
from .common import DockSection

__all__ = ["SAMPLE_LABELS", "ImageControls", "note_after_name", "own_size_note"]

#: How the sample combo spells each sample of :data:`deconv_gui.io.SAMPLES`.
SAMPLE_LABELS: dict[str, str] = {
    "astronaut": "astronaut",
    "coffee": "coffee",
    "chelsea": "chelsea (cat)",
    "camera": "camera (grey)",
    "seed_toy": "seed toy 7×7×3",
}
_SAMPLE_TIPS: dict[str, str] = {
    "astronaut": "scikit-image's astronaut photo (RGB)",
    "coffee": "scikit-image's coffee cup photo (RGB)",
    "chelsea": "scikit-image's cat photo (RGB)",
    "camera": "scikit-image's cameraman (grey, one channel)",
    "seed_toy": "the question's 7×7×3 example with small integer values (not resized)",
}

# how the image choice names pixels that came from no file
_ARRAY_LABELS = {"clipboard": "pasted image", "dropped image": "dropped image"}
_INFO_TIP = "The image being used, its shape, and how it was converted."


def note_after_name(note: str, name: str) -> str:
    """``note`` without the image's name it starts with (the line above shows the name).

    Examples
    --------
    >>> note_after_name("photo.png: uint8 → float in [0, 1] (÷ 255)", "photo.png")
    'uint8 → float in [0, 1] (÷ 255)'
    >>> note_after_name("sample camera: uint8 → float", "camera")
    'uint8 → float'
    >>> note_after_name("what the model feeds /2/Conv", "x.png through m.onnx")
    'what the model feeds /2/Conv'
    """
    for prefix in (f"{name}: ", f"sample {name}: "):
        if note.startswith(prefix):
            return note[len(prefix) :]
    return note


def own_size_note(shape: tuple[int, ...], work_size: int | None) -> str:
    """What the work size did to an image of ``shape`` it did not shrink: ``""`` when
    the image is as large (or there is no work size), else the words saying it is used
    at its own size (the work size only ever shrinks).

    Examples
    --------
    >>> own_size_note((24, 40, 3), 256)
    '; used at its own size (smaller than the 256 px work size, never enlarged)'
    >>> own_size_note((300, 256, 3), 256), own_size_note((24, 40, 3), None)
    ('', '')
    """
    if work_size is None or max(shape[:2]) >= work_size:
        return ""
    return f"; used at its own size (smaller than the {work_size} px work size, never enlarged)"


class ImageControls(DockSection):
    """Pick a sample or open a file, choose the work size, and read what was loaded.

    Signals
    -------
    sampleRequested(str)
        The user picked a sample (a name from :data:`~deconv_gui.io.SAMPLES`), also when it is
        the current one (to reload it).
    openRequested()
        The user pressed "Open…".
    workSizeChanged(object)
        The user picked a different work size: an int (long side in pixels) or None (original size).
    """

    sampleRequested = Signal(str)
    openRequested = Signal()
    workSizeChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Image", parent)
        layout = self.column

        row = QHBoxLayout()
        row.setSpacing(4)
        self._sample = QComboBox()
        for name in SAMPLES:
            self._sample.addItem(SAMPLE_LABELS.get(name, name), name)
            tip = _SAMPLE_TIPS.get(name, name)
            self._sample.setItemData(self._sample.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        # shown while a file (not a sample) is loaded; not selectable
        self._sample.addItem("(opened file)", None)
        model = self._sample.model()
        assert isinstance(model, QStandardItemModel)  # a combo box's own model
        nonnull(model.item(self._sample.count() - 1)).setEnabled(False)
        self._sample.setToolTip("Load a built-in sample image.")
        self._sample.activated.connect(self._on_sample_activated)
        sample_label = QLabel("Sample")
        sample_label.setToolTip(self._sample.toolTip())
        row.addWidget(sample_label)
        row.addWidget(self._sample, 1)
        self._open = QPushButton("Open…")
        self._open.setToolTip(
            "Open an image file (PNG, JPEG, TIFF incl. 16-bit, BMP, .npy) — Ctrl+O.\n"
            "You can also drop a file on the window or paste an image (Ctrl+V)."
        )
        self._open.clicked.connect(self.openRequested)
        row.addWidget(self._open)
        layout.addLayout(row)

        size_row = QHBoxLayout()
        size_row.setSpacing(4)
        self._work_size = QComboBox()
        for size in WORK_SIZES:
            self._work_size.addItem("original" if size is None else f"{size} px", size)
        self._work_size.setToolTip(
            "Resize the image so its long side is this many pixels before computing, so "
            "large photos stay live. 'original' keeps the full size (the pseudo-inverse of a "
            "big image can take a while). The 7×7×3 toy example is never resized."
        )
        self._work_size.activated.connect(self._on_work_size_activated)
        size_label = QLabel("Work size")
        size_label.setToolTip(self._work_size.toolTip())
        size_row.addWidget(size_label)
        size_row.addWidget(self._work_size)
        size_row.addStretch(1)
        layout.addLayout(size_row)

        # the name and shape on one line, a long file name elided in its middle (its
        # start and its extension stay, the whole path is the tooltip); the note below
        self._name = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        self._name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._info = QLabel()
        self._info.setWordWrap(True)
        for label in (self._name, self._info):
            theme_style(label, "color: {info};")
            label.setToolTip(_INFO_TIP)
            layout.addWidget(label)
        self._name.setObjectName("image_name")
        self._info_plain = ""
        self._sample.setObjectName("sample")
        self._open.setObjectName("open")
        self._work_size.setObjectName("work_size")
        self.set_work_size(256)
        self.set_current_sample("astronaut")

    def work_size(self) -> int | None:
        """Long side in pixels, or None for the original size."""
        return self._work_size.currentData()

    def set_work_size(self, value: int | None) -> None:
        """Show a work size (no signal). Values outside the list are added to it.

        Raises
        ------
        ValueError
            If ``value`` is neither None nor a positive int.
        """
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"value must be a positive int or None, got {value!r}")
        index = self._work_size.findData(value)
        if index < 0:
            self._work_size.addItem(f"{value} px", value)
            index = self._work_size.count() - 1
        self._work_size.setCurrentIndex(index)
        self._last_work_size = value

    def current_sample(self) -> str | None:
        """The sample shown in the combo, or None when a file is loaded."""
        return self._sample.currentData()

    def set_current_sample(self, name: str | None, other: str = "opened file") -> None:
        """Show which sample is loaded; no signal.

        ``None`` means the image is not a sample: the choice then reads ``(other)``, e.g.
        "(opened file)" or "(pasted image)".
        """
        if name is None:
            last = self._sample.count() - 1
            self._sample.setItemText(last, f"({other})")
            self._sample.setCurrentIndex(last)
            return
        check_choice("name", name, SAMPLES, extra=(None,))
        self._sample.setCurrentIndex(self._sample.findData(name))

    def set_info(self, text: str, path: str = "") -> None:
        """Show what the loaded image is, e.g. "astronaut  256×256×3", then how it was
        converted on the lines after the first; ``path``: the file's whole path (the
        first line's tooltip)."""
        first, _, rest = text.partition("\n")
        name, gap, shape = first.rpartition("  ")  # file names, then the shape, never cut
        if gap:
            self._name.set_names(name, gap + shape)
        else:
            self._name.setText(first)
        self._name.setToolTip(f"{path}\n\n{_INFO_TIP}" if path else _INFO_TIP)
        self._info.setText(breakable(rest))  # long paths wrap
        self._info.setToolTip(rest or _INFO_TIP)
        self._info.setVisible(bool(rest))
        self._info_plain = text

    def show_image(self, loaded: LoadedImage, kind: str) -> str:
        """Show what ``loaded`` is; ``kind`` is where it came from (``"sample"``, ``"file"``
        or ``"array"``). Returns a one-line summary for the status bar."""
        shape = "×".join(map(str, loaded.pixels.shape))
        name = loaded.source if loaded.is_sample else Path(loaded.source).name
        note = note_after_name(loaded.note, name)
        if loaded.source != "seed_toy" and not loaded.feature_maps:  # images the size acts on
            note += own_size_note(loaded.pixels.shape, self.work_size())
        self.set_info(f"{name}  {shape}\n{note}", loaded.source if kind == "file" else "")
        if loaded.is_sample:
            self.set_current_sample(loaded.source)
        else:
            other = "opened file" if kind == "file" else _ARRAY_LABELS.get(loaded.source, "image")
            self.set_current_sample(None, other)
        return f"Loaded {name} ({shape}): {note}"

    def info_text(self) -> str:
        """The info line shown (for tests)."""
        return self._info_plain

    def _on_sample_activated(self, index: int) -> None:
        name = self._sample.itemData(index)
        if name is not None:
            self.sampleRequested.emit(name)

    def _on_work_size_activated(self, index: int) -> None:
        value = self._work_size.itemData(index)
        if value != self._last_work_size:
            self._last_work_size = value
            self.workSizeChanged.emit(value)
