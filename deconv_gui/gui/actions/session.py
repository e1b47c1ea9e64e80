"""File → Save Session / Open Session: the window's state to and from a ``*.deconv.json`` file.

The file format (versioned JSON, never pickle) lives in :mod:`deconv_gui.io.session`;
here we gather the widgets' values and put them back. Opening is careful: a corrupt or
newer file changes nothing; a missing image is reported and the filter, geometry and
options are still applied to the current image.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...core import Params
from ...io.session import Session, load_session, save_session
from ..controls.filter_editor import CUSTOM
from ..support import settings as stored
from .export import display_options

if TYPE_CHECKING:
    from ..main_window import MainWindow

__all__ = ["apply_params", "open_session_from", "save_session_to"]


def _image_source(window: MainWindow) -> tuple[str, str]:
    """``(kind, source)``: kind is "sample", "file" or "array" (pasted or dropped pixels)."""
    kind, value = window._origin
    if kind == "sample":
        return "sample", str(value)
    if kind == "file":
        return "file", str(Path(str(value)).resolve())
    source = window.loaded.source if window.loaded is not None else ""
    return "array", source


def save_session_to(window: MainWindow, path: str | Path) -> Path | None:
    """Write the window's set-up to ``path``; returns the file written, or None (message shown).

    Pasted or dropped images cannot be restored from a session (only their source
    name, shape and conversion note are stored); the message says so.
    """
    try:
        params = window.current_params()
    except ValueError as exc:
        window.show_message(f"Could not save the session: the settings are invalid: {exc}")
        return None
    kind, source = _image_source(window)
    loaded = window.loaded
    extra: dict[str, Any] = {
        "image_kind": kind,
        "image_shape": None if loaded is None else list(loaded.pixels.shape),
        "image_note": "" if loaded is None else loaded.note,
        "filter_preset": window.filter_editor.preset(),
        "filter_seed": int(window.filter_editor.seed()),
        "display": display_options(window),
    }
    try:
        written = save_session(
            path,
            params,
            image_source=source,
            work_size=window.image_controls.work_size(),
            extra=extra,
        )
    except ValueError as exc:
        window.show_message(f"Could not save the session: {exc}")
        return None
    stored.set_folder_for(window.settings, "session", str(written.resolve().parent))
    if kind == "array":
        window.show_message(
            f"Saved the session to {written}. The {source or 'pasted'} image itself cannot "
            "be stored in a session: opening it restores the filter, geometry and options "
            "on the image shown then (export the input as .npy to keep it).",
            error=False,
        )
    else:
        window.show_message(f"Saved the session to {written}", error=False)
    return written


def apply_params(window: MainWindow, params: Params, preset: str = CUSTOM) -> None:
    """Show ``params`` in the filter, geometry and reconstruction widgets.

    Raises
    ------
    ValueError
        When a widget cannot show a value (e.g. a filter larger than 7×7).
    """
    window.apply_params(params, preset)


def _apply_display(window: MainWindow, display: Any) -> None:
    if not isinstance(display, dict):
        return
    actions = window.actions
    if display.get("layout") in ("grid", "row"):
        (actions.layout_row if display["layout"] == "row" else actions.layout_grid).setChecked(True)
    if isinstance(display.get("shared_levels"), bool):
        actions.shared_levels.setChecked(display["shared_levels"])
    if display.get("scaling") in ("clip", "auto"):
        (actions.scaling_auto if display["scaling"] == "auto" else actions.scaling_clip).setChecked(
            True
        )


def _restore_image(window: MainWindow, session: Session) -> str | None:
    """Load the session's image; returns why it could not be (None when it was)."""
    if not session.is_sample and session.image_missing:
        if session.extra.get("image_kind") == "array":
            return (
                f"its image ({session.image_source or 'pasted'}) was pasted or dropped and "
                "is not stored in session files"
            )
        return session.image_problem() or f"its image file is missing: {session.image_source}"
    controls = window.image_controls
    previous_size = controls.work_size()
    controls.set_work_size(session.work_size)
    if session.is_sample:
        ok = window.load_sample(session.image_source)
    else:
        ok = window.load_path(session.image_path)
    if not ok:
        controls.set_work_size(previous_size)
        return f"its image could not be loaded ({window.last_message})"
    return None


def open_session_from(window: MainWindow, path: str | Path) -> bool:
    """Restore a session file; True when everything, image included, was restored.

    A file that cannot be read (missing, corrupt, not a session, newer schema) shows a
    message and changes nothing. When the image cannot be restored the message says
    why, and the filter, geometry and options are applied to the current image (the
    filter is adapted to its channels when they differ).
    """
    try:
        session = load_session(path)
    except ValueError as exc:
        window.show_message(f"Could not open the session (nothing changed): {exc}")
        return False
    try:
        before: Params | None = window.current_params()
    except ValueError:
        before = None
    before_preset = window.filter_editor.preset()
    image_problem = _restore_image(window, session)
    changed_note = None
    if image_problem is None and not session.is_sample:
        changed_note = session.image_problem()  # the file changed since the session was saved
    preset = session.extra.get("filter_preset", CUSTOM)
    try:
        apply_params(window, session.params, preset if isinstance(preset, str) else CUSTOM)
    except ValueError as exc:
        if before is not None:
            apply_params(window, before, before_preset)
        window.show_message(f"Could not apply the session {Path(path).name}: {exc}")
        return False
    adapted = ""
    if window.loaded is not None:
        channels = window.loaded.pixels.shape[2]
        if session.params.weights.shape[2] != channels:
            window.filter_editor.set_in_channels(channels)
            adapted = (
                f" The filter was adapted from {session.params.weights.shape[2]} to "
                f"{channels} input channel{'s' if channels != 1 else ''}."
            )
    _apply_display(window, session.extra.get("display"))
    stored.set_folder_for(window.settings, "session", str(Path(path).resolve().parent))
    window.compute_now()
    name = Path(path).name
    if image_problem is not None:
        window.show_message(
            f"Session {name}: {image_problem}. The filter, geometry and options were "
            f"restored on the current image.{adapted}"
        )
        return False
    if changed_note:
        window.show_message(f"Opened session {name}, but {changed_note}.", error=False)
    else:
        window.show_message(f"Opened session {name}.", error=False)
    return True
