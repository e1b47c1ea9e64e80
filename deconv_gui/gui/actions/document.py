"""The window's widgets and its :class:`~deconv_gui.document.Document`: read into it, shown from it.

The document (``state.document``) is the window's state. The widgets write to it: every
read (:meth:`DocumentSync.read`, which the undo history, sessions, stored settings and
the live computation call) puts the forms' :class:`~deconv_gui.core.Params`, the filter's
preset, seed and "same in all channels" and the forward channel into the document (the
menus write the other display choices and the Insight toggle there as they change).
:meth:`DocumentSync.show` puts a document back into the widgets (undo and redo,
sessions, stored settings): all of it, or, when a widget refuses a value, nothing (the
widgets show the document as it was, and the error is raised to the caller, which says
it). The image is not shown here: loading one may take a while, so the caller
loads it first and calls :meth:`DocumentSync.image_arrived` when it is the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from ...core import Params
from ...document import Display, Document, ImageSource, Insight
from ...document.network import adapt_channels, conv_channels
from ...io import LoadedImage
from ..controls.filter_editor import FilterEditor
from ..controls.forms import ParamsForms
from ..controls.image import ImageControls
from ..panels.grid import PanelGrid
from ..state import AppState

__all__ = ["DocumentForms", "DocumentSync", "error_line"]


def error_line(exc: BaseException) -> str:
    """A refusal in one line: a ValueError's text, or any other error's type and text."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, ValueError) else f"{type(exc).__name__}: {text}"


@dataclass(frozen=True)
class DocumentForms:
    """The widgets that show a document, and the window's narrow hooks.

    Attributes
    ----------
    state : AppState
        Holds the document and the image.
    forms : ParamsForms
        The filter, geometry and options forms, read and shown as one ``Params``.
    filter_editor : FilterEditor
        Its preset, seed and "same in all channels" belong to the layer.
    image_controls : ImageControls
        Its work size belongs to the image's origin.
    panels : PanelGrid
        Its forward channel is read into the display choices (the others are the
        document's own: :class:`~deconv_gui.gui.actions.display.DisplayMirror`).
    extra_methods : callable
        The methods the Insight panels add (appended to the options' methods).
    show_params : callable
        ``show_params(params, preset, insight)`` shows the Insight panels the methods
        ask for, then the forms (ValueError, with nothing changed, if a form refuses).
    show_display : callable
        Shows what of a :class:`~deconv_gui.document.Display` the document does not
        draw itself (the forward channel).
    after_show : callable
        Called once a document is shown (the layer under study may take another input).
    """

    state: AppState
    forms: ParamsForms
    filter_editor: FilterEditor
    image_controls: ImageControls
    panels: PanelGrid
    extra_methods: Callable[[], tuple[str, ...]]
    show_params: Callable[[Params, str, Insight], None]
    show_display: Callable[[Display], None]
    after_show: Callable[[], object] = lambda: None


class DocumentSync:
    """Reads the widgets into ``state.document`` and shows a document in them.

    Parameters
    ----------
    forms : DocumentForms
        The widgets and hooks.
    """

    def __init__(self, forms: DocumentForms) -> None:
        self.forms = forms

    @property
    def state(self) -> AppState:
        """The window's state: the document, the image, the messages."""
        return self.forms.state

    @property
    def document(self) -> Document:
        """The window's document (``state.document``)."""
        return self.forms.state.document

    def read(self) -> Document:
        """Put what the widgets show into the document, and return it.

        Raises
        ------
        ValueError
            When the forms hold invalid settings (the document keeps its last valid
            state).
        """
        f, doc = self.forms, self.document
        loaded = f.state.image
        params = f.forms.read(f.extra_methods(), "" if loaded is None else loaded.source)
        editor = f.filter_editor
        layer = replace(
            doc.layer,
            params=params,
            preset=editor.preset(),
            filter_seed=editor.seed(),
            same_in_all=editor.same_in_all_channels(),
        )
        layers = (*doc.layers[: doc.selected], layer, *doc.layers[doc.selected + 1 :])
        # the convolutions after it take the channels it makes now (a new C_out)
        try:
            layers = adapt_channels(layers, conv_channels(params)[1], doc.selected + 1)
        except ValueError:  # a transposed conv further on: the chain says it does not fit
            pass
        # the display choices are the document's own (DisplayMirror); only the channel
        # box's channel is read, its range follows each result
        display = replace(doc.display, forward_channel=max(0, int(f.panels.forward_channel)))
        doc.update(layers=layers, display=display)  # the Insight toggles are the document's
        return doc

    def show(self, document: Document) -> None:
        """Show ``document``'s layers, Insight and display choices, and make them the document's.

        The image (and its work size) is the caller's: see :meth:`image_arrived`.

        Raises
        ------
        ValueError or another exception
            When a widget refuses a value; the widgets then show the document as it
            was, which is unchanged.
        """
        try:
            before = self.read().copy()
        except ValueError:  # invalid settings: put back what was last valid
            before = self.document.copy()
        try:
            self._show(document)
        except Exception:
            self._show(before)
            raise
        self.document.update(document, image=self.document.image)
        self.forms.after_show()

    def _show(self, document: Document) -> None:
        f, layer = self.forms, document.layer
        f.filter_editor.set_seed(layer.filter_seed)
        f.filter_editor.set_same_in_all_channels(layer.same_in_all)  # before the weights
        f.show_params(layer.params, layer.preset, document.insight)
        f.show_display(document.display)

    def image_arrived(self, loaded: LoadedImage) -> None:
        """The input is ``loaded`` now: record where the image came from and its work
        size (the image as loaded: ``loaded`` may be what layers made of it)."""
        state = self.forms.state
        loaded = state.source if state.source is not None else loaded
        kind, source = state.image_source
        if kind == "array":
            source = source or "pasted"
        self.document.image = ImageSource(
            kind,
            source,
            self.forms.image_controls.work_size(),
            tuple(int(n) for n in loaded.pixels.shape),
            loaded.note,
        )
