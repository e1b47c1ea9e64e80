"""File → Save Session / Open Session: the window's document to and from a ``*.deconv.json`` file.

The file format (versioned JSON, never pickle) lives in :mod:`deconv_gui.io.session`:
a session file is the window's :class:`~deconv_gui.document.Document`. Saving reads the
widgets into the document and writes it; opening shows the file's document in the
widgets through :class:`~.document.DocumentSync`. Opening is careful: a corrupt or
newer file changes nothing; a missing image is reported and the filter, geometry and
options are still applied to the current image.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from qtpy import QtWidgets

from ...document import Document
from ...document.channels import image_channels
from ...io import LoadedImage, load_image, load_sample
from ...io.session import SESSION_SUFFIX, Session, load_session, save_document
from ..state import ImageOrigin
from ..support import settings as stored
from .document import DocumentSync, error_line
from .image import ImageActions

__all__ = [
    "SESSION_FILTER",
    "SessionForm",
    "open_session_dialog",
    "open_session_from",
    "restore_model_study",
    "save_session_dialog",
    "save_session_to",
]


@dataclass(frozen=True)
class SessionForm:
    """What a session is read from and shown in, and how to recompute.

    Attributes
    ----------
    sync : DocumentSync
        Reads the widgets into the document, and shows a document (all or nothing);
        its state holds the document, the image and the messages, its image controls
        show the session's work size, its filter editor adapts the filter to the
        image's channels.
    compute_now : callable
        Start the computation of the current settings.
    images : ImageActions
        Loads the session's image.
    as_one_step : callable
        ``as_one_step(label)`` is a context manager: what changes inside it is one undo
        step called ``label`` (the session is applied when its image has loaded).
    adopt_model : callable
        ``adopt_model(activation, image, origin)``: a reopened model layer's input is
        ``activation``, what the model makes of ``image`` (the model actions keep it).
    named : callable
        ``named(path)``: the session file ``path`` was opened or saved (the title names it).
    """

    sync: DocumentSync
    compute_now: Callable[[], object]
    images: ImageActions
    as_one_step: Callable[[str], AbstractContextManager[object]] = lambda _label: nullcontext()
    adopt_model: Callable[[LoadedImage, LoadedImage, ImageOrigin], None] = (
        lambda _activation, _image, _origin: None
    )
    named: Callable[[Path], None] = lambda _path: None


def save_session_to(form: SessionForm, path: str | Path) -> Path | None:
    """Write the window's document to ``path``; returns the file written, or None (message shown).

    Pasted or dropped images cannot be restored from a session (only their source
    name, shape and conversion note are stored); the message says so.
    """
    state = form.sync.state
    try:
        document = form.sync.read()
    except ValueError as exc:
        state.notify(f"Could not save the session: the settings are invalid: {exc}")
        return None
    try:
        written = save_document(path, document)
    except ValueError as exc:
        state.notify(f"Could not save the session: {exc}")
        return None
    stored.set_folder_for(state.settings, "session", str(written.resolve().parent))
    form.named(written)
    if document.image.kind == "array":
        state.notify(
            f"Saved the session to {written}. The {document.image.source} image itself cannot "
            "be stored in a session: opening it restores the filter, geometry and options "
            "on the image shown then (export the input as .npy to keep it).",
            error=False,
        )
    else:
        state.notify(f"Saved the session to {written}", error=False)
    return written


def _image_problem(session: Session) -> str | None:
    """Why the session's image cannot be loaded (missing), or None."""
    if session.is_sample or not session.image_missing:
        return None
    if session.is_pasted:
        return (
            f"its image ({session.image_source or 'pasted'}) was pasted or dropped and "
            "is not stored in session files"
        )
    return session.image_problem() or f"its image file is missing: {session.image_source}"


def open_session_from(form: SessionForm, path: str | Path) -> bool:
    """Restore a session file, all or nothing; True when everything was restored.

    Everything that can refuse the session is checked before anything changes: the
    file is read, its image loaded and its settings shown in the widgets (put back as
    they were when one of them refuses a value). Any error then (not only ValueError:
    deeply nested JSON, a path too long for the system, a number too large) leaves the
    window as it was and says why. Only a *missing* image is not a refusal: the
    filter, geometry and options are applied to the current image, with a message.

    An image file is loaded off the GUI thread: True then means the load started, and
    the session is applied (or refused, with a message) when it is loaded.
    """
    state = form.sync.state
    name = Path(str(path)).name[:80]
    refused = f"Could not open the session {name} (nothing changed)"
    try:
        session = load_session(path)
        image_problem = _image_problem(session)
    except Exception as exc:  # the window must survive any file
        state.notify(f"{refused}: {error_line(exc)}")
        return False
    loader = form.images.loader
    if session.model is not None:
        return _open_model_session(form, session, path)

    def apply(loaded: LoadedImage | None) -> bool:
        with form.as_one_step(f"open session {name}"):
            return _apply_session(form, session, loaded, image_problem, path)

    if image_problem is not None:
        return loader.run_now(name, lambda _c, _p: None, apply, refused)
    if session.is_sample:
        sample = session.image_source
        return loader.run_now(
            name, lambda _c, _p: load_sample(sample, session.work_size), apply, refused
        )

    image_path = session.image_path
    assert image_path is not None  # neither a sample nor missing (_image_problem)

    def job(cancel: threading.Event, progress: Callable[[object], None]) -> LoadedImage:
        report = lambda fraction, stage: progress((fraction, stage))  # noqa: E731
        return load_image(image_path, session.work_size, progress=report, cancel=cancel)

    loader.start(name, job, apply, refused)
    return True


def _open_model_session(form: SessionForm, session: Session, path: str | Path) -> bool:
    """A session whose layer is a model file's: its image run through the model again.

    A missing or changed model file (or image) refuses the session in one line, nothing
    changed: the layer could not be read as it was saved.
    """
    name = Path(str(path)).name[:80]

    def apply(activation: LoadedImage, array: ImageOrigin) -> bool:
        with form.as_one_step(f"open session {name}"):
            return _apply_session(form, session, activation, None, path, array)

    refused = f"Could not open the session {name} (nothing changed)"
    return _run_model(form, session, name, refused, apply)


def restore_model_study(form: SessionForm, document: Document) -> bool:
    """The remembered settings' model layer studied again at launch: its image run
    through the model off the GUI thread (as a session's is), then ``document`` shown on
    the activation. False, with one line, when the model or its image is gone."""
    session = Session(document=document)
    model = document.layer.model
    assert model is not None
    name = Path(model.path).name[:80]
    refused = f"Could not study the remembered layer of {name} again"

    def apply(activation: LoadedImage, array: ImageOrigin) -> bool:
        try:
            form.sync.show(document)  # all of it, or nothing
        except Exception as exc:
            form.sync.state.notify(f"{refused}: {error_line(exc)}")
            return False
        _use_image(form, session, activation, array)
        form.compute_now()
        return True

    return _run_model(form, session, name, refused, apply)


def _run_model(
    form: SessionForm,
    session: Session,
    name: str,
    refused: str,
    show: Callable[[LoadedImage, ImageOrigin], bool],
) -> bool:
    """Run ``session``'s model image through its model up to the layer (off the GUI
    thread), then ``show(activation, origin)``; False with ``refused: why`` when a file is
    missing or changed."""
    from ...io.models import read_model
    from .model import layer_problem

    state, model = form.sync.state, session.model
    assert model is not None
    try:
        problem = session.model_problem()
    except OSError as exc:
        problem = f"the session's model file cannot be read: {exc.strerror or exc}"
    if problem is not None:
        state.notify(f"{refused}: {problem}")
        return False
    origin = ImageOrigin(model.image.kind, model.image.source)

    def job(_cancel: threading.Event, _progress: object) -> tuple[LoadedImage, LoadedImage]:
        image = session.load_model_image()
        layer = read_model(model.path)
        activation, _params = layer_problem(
            layer, model.layer, model.scaling, image, session.params
        )
        return activation, image

    def apply(value: tuple[LoadedImage, LoadedImage]) -> bool:
        activation, image = value
        array = ImageOrigin("array", (activation.pixels, activation.source, activation.note))
        form.adopt_model(activation, image, origin)
        return show(activation, array)

    form.images.loader.start(name, job, apply, refused)
    return True


def _apply_session(
    form: SessionForm,
    session: Session,
    loaded: LoadedImage | None,
    image_problem: str | None,
    path: str | Path,
    origin: ImageOrigin | None = None,
) -> bool:
    """Show a read session (its image loaded, or None when missing): all or nothing.

    ``origin`` is the loaded image's when it is not the session's image (a model's
    activation)."""
    state = form.sync.state
    name = Path(str(path)).name[:80]
    pixels = loaded.pixels if loaded is not None else getattr(state.image, "pixels", None)
    try:  # numbers the pipeline cannot compute are refused before anything changes
        if pixels is not None:
            session.check_numbers(pixels)
    except ValueError as exc:
        state.notify(f"Could not open the session {name} (nothing changed): {error_line(exc)}")
        return False
    try:
        form.sync.show(session.document)  # all of it, or nothing
    except Exception as exc:
        state.notify(f"Could not open the session {name} (nothing changed): {error_line(exc)}")
        return False
    changed_note = None if loaded is None else _use_image(form, session, loaded, origin)
    adapted = ""
    if state.image is not None:
        channels = state.image.pixels.shape[2]
        params = session.params  # the layer's C_in (a decoder's: the weights' last axis)
        saved = image_channels(params.layer_kind, params.weights.shape, params.groups)
        if saved != channels:
            form.sync.forms.filter_editor.set_in_channels(channels, params.layer_kind)
            adapted = (
                f" The filter was adapted from {saved} to "
                f"{channels} input channel{'s' if channels != 1 else ''}."
            )
    stored.set_folder_for(state.settings, "session", str(Path(path).resolve().parent))
    form.compute_now()
    if image_problem is not None:
        state.notify(
            f"Session {name}: {image_problem}. The filter, geometry and options were "
            f"restored on the current image.{adapted}"
        )
        return False
    form.named(Path(path))
    if changed_note:
        state.notify(f"Opened session {name}, but {changed_note}.", error=False)
    else:
        state.notify(f"Opened session {name}.", error=False)
    return True


def _use_image(
    form: SessionForm, session: Session, loaded: LoadedImage, origin: ImageOrigin | None
) -> str | None:
    """Make ``loaded`` the input; a note when the session's image file changed since."""
    controls = form.sync.forms.image_controls
    if origin is not None:  # a model's activation of the session's model image
        model = session.model
        controls.set_work_size(None if model is None else model.image.work_size)
        form.images.use(loaded, origin)
        form.sync.document.set_layer(model=model)  # the new input reset it
        return None
    controls.set_work_size(session.work_size)
    kind = "sample" if session.is_sample else "file"
    value = session.image_source if session.is_sample else str(session.image_path)
    form.images.use(loaded, ImageOrigin(kind, value))
    return None if session.is_sample else session.image_problem()


SESSION_FILTER = f"Deconvolution sessions (*{SESSION_SUFFIX});;JSON files (*.json);;All files (*)"


def save_session_dialog(form: SessionForm, parent: QtWidgets.QWidget | None) -> Path | None:
    """File → Save Session…: pick a ``*.deconv.json`` file, then :func:`save_session_to`."""
    settings = form.sync.state.settings
    start = Path(stored.folder_for(settings, "session")) / f"session{SESSION_SUFFIX}"
    path, _ = QtWidgets.QFileDialog.getSaveFileName(
        parent, "Save session", str(start), SESSION_FILTER
    )
    return save_session_to(form, path) if path else None


def open_session_dialog(form: SessionForm, parent: QtWidgets.QWidget | None) -> bool:
    """File → Open Session…: pick a ``*.deconv.json`` file, then :func:`open_session_from`."""
    settings = form.sync.state.settings
    path = stored.ask_file_to_open(parent, settings, "Open session", SESSION_FILTER, "session")
    return open_session_from(form, path) if path else False
