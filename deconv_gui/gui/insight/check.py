"""Insight → "Check my code…" and "The question's deConv" (issue 6, item 6).

:class:`CheckDialog` compares an array the user's own implementation produced (a
``.npy`` file: the forward output or the transposed reconstruction for the window's
current image and filter) with the app's, side by side with the difference image,
the max abs and relative errors and a verdict. Its second mode runs the seed
question's ``deConv`` loop on the current ``y`` and shows where and by how much it
departs from the true adjoint ``Aᵀ(y − b)``. The comparisons run in a
:class:`JobRunner` (newest request wins); :meth:`CheckDialog.shutdown` stops it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from qtpy import QtCore, QtWidgets

from ...core import Result
from ..runner import JobRunner, Priority
from ..state import AppState
from .check_jobs import (
    KINDS,
    TRANSPOSED_LAYER,
    VERDICT_COLORS,
    VERDICT_COLORS_DARK,
    CheckOutcome,
    compare_job,
    expected_shape,
    explain_question,
    question_job,
    verdict_colour,
    verdict_level,
)
from .check_views import InverseTable, ToneLabel, Triptych
from .dialog import InsightDialog

__all__ = [
    "VERDICT_COLORS",
    "VERDICT_COLORS_DARK",
    "CheckDialog",
    "load_user_array",
    "verdict_colour",
    "verdict_level",
]


def load_user_array(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` file safely (no pickles); ValueError with a readable message."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(6)
    except FileNotFoundError:
        raise ValueError(f"{path.name}: no such file") from None
    except OSError as exc:
        raise ValueError(f"{path.name} cannot be read ({exc})") from None
    if magic != b"\x93NUMPY":  # np.load would take anything else for a pickle
        what = "an .npz archive" if magic[:2] == b"PK" else "not a .npy file"
        raise ValueError(f"{path.name} is {what}: save one array with np.save(path, array)")
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ValueError(
                f"{path.name} holds Python objects (a pickle), which are not loaded for "
                "safety: save a plain numeric array with np.save(path, array)"
            ) from None
        raise ValueError(f"{path.name} is not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path.name} is not a readable .npy file ({exc})") from None
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{path.name} holds {array.dtype} values, not real numbers")
    return array


def _label(
    text: str,
    tip: str,
    *,
    wrap: bool = False,
    selectable: bool = False,
    rich: bool = False,
    label: QtWidgets.QLabel | None = None,
) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text) if label is None else label
    label.setText(text)
    if tip:
        label.setToolTip(tip)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    if rich:
        label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    return label


class CheckDialog(InsightDialog):
    """Compare the user's array, or the question's deConv, with the app's result."""

    def __init__(
        self,
        state: AppState,
        set_zero_padding: Callable[[], None],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(state, "check_my_code", "Check my code", parent)
        self._set_zero_padding = set_zero_padding
        self.mode = "file"  # or "question"
        self.candidate: np.ndarray | None = None
        self.candidate_name = ""
        self.outcome: CheckOutcome | None = None
        self.message = ""
        self.jobs = JobRunner(self, priority=Priority.INSIGHT)
        self.jobs.resultReady.connect(self._on_outcome)
        self.jobs.failed.connect(lambda _rid, msg: self._show_problem(msg))
        self._follow_result(1000, 720)

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        self.intro = _label(
            "Save what your own code computed for the <b>current image and filter</b> with "
            "<code>np.save('mine.npy', array)</code>, say what it is, and load it. Or press "
            "<i>The question's deConv</i> to compare the asker's loop with the true adjoint.",
            "",
            wrap=True,
        )
        self.views = Triptych()
        self.problem = ToneLabel(extra="font-size: 12pt;")
        _label("", "Why nothing could be compared", wrap=True, selectable=True, label=self.problem)
        self.problem.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.problem.say("", "close")
        # before a file: what to save, and what will be checked (not three empty pictures)
        self.placeholder = _label("", "What to load, and what is compared", wrap=True, rich=True)
        self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setContentsMargins(40, 0, 40, 0)
        self.stack = QtWidgets.QStackedWidget()
        for page in (self.views, self.problem, self.placeholder):
            self.stack.addWidget(page)
        self.verdict = ToneLabel()
        _label(
            "Load a .npy to compare.",
            "Green: matches to rounding (relative error ≤ 1e-5); orange: close (< 1 %); "
            "red: differs",
            wrap=True,
            selectable=True,
            label=self.verdict,
        )
        self.errors = _label(
            "",
            "max abs error = max |yours − ours|; relative error = ‖yours − ours‖ / ‖ours‖",
            selectable=True,
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self._top_row())
        layout.addWidget(self.stack, 2)
        layout.addWidget(self.verdict)
        layout.addWidget(self.errors)
        # the question's words share the height with the pictures only when there are some
        layout.addWidget(self._words(), 3)
        layout.addLayout(self._bottom_row())
        self._show_words()

    def _top_row(self) -> QtWidgets.QHBoxLayout:
        """What the array is, Load, the shape it must have, and the question's deConv."""
        self.kind = QtWidgets.QComboBox()
        for key, (text, _phrase) in KINDS.items():
            self.kind.addItem(text, key)
        self.kind.setToolTip("What your array is: the forward output or the transposed result")
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.load_button = QtWidgets.QPushButton("Load .npy…")
        self.load_button.setToolTip("Choose a .npy file saved with np.save (pickles are refused)")
        self.load_button.clicked.connect(self._choose_file)
        self.question_button = QtWidgets.QPushButton("The question's deConv")
        self.question_button.setToolTip(
            "Run the asker's deConv loop (transposed kernel, bias added, ReLU) on the current "
            "y and compare it with the true adjoint Aᵀ(y − b); its commented-out second guess "
            "(np.linalg.pinv of each kernel slice) is measured against A⁺ below"
        )
        self.question_button.clicked.connect(self.run_question_deconv)
        # wrapped: a long shape must not push the dialog past a laptop screen
        self.expected = _label(
            "", "The shape your array must have (singleton axes are forgiven)", wrap=True
        )
        self.expected.setMinimumWidth(120)
        top = QtWidgets.QHBoxLayout()
        kind_label = _label("My array is the", self.kind.toolTip())
        for widget in (kind_label, self.kind, self.load_button):
            top.addWidget(widget)
        top.addWidget(self.expected, 1)
        top.addWidget(self.question_button)
        return top

    def _words(self) -> QtWidgets.QScrollArea:
        """The question mode's explanation and inverses, scrolling (never squeezing the images)."""
        self.explanation = _label(
            "", "Why the question's loop is not the transposed convolution", wrap=True, rich=True
        )
        self.inverses = InverseTable()
        for label in (self.explanation, self.inverses):
            label.setVisible(False)
        words = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(words)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.explanation)
        column.addWidget(self.inverses)
        column.addStretch(1)
        self.words = QtWidgets.QScrollArea()
        self.words.setWidget(words)
        self.words.setWidgetResizable(True)
        self.words.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.words.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        return self.words

    def _bottom_row(self) -> QtWidgets.QHBoxLayout:
        self.padding_button = QtWidgets.QPushButton("Set padding to 0 and retry")
        self.padding_button.setToolTip(
            "The question's loop ignores padding: set the window's padding to 0 and run again"
        )
        self.padding_button.clicked.connect(self._zero_padding)
        self.padding_button.setVisible(False)
        close = self._close_button("Close this dialog")
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.padding_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        return bottom

    # -- public ----------------------------------------------------------------------------
    def current_kind(self) -> str:
        """``"forward_output"`` or ``"transposed"``."""
        return str(self.kind.currentData())

    def set_kind(self, kind: str) -> None:
        """Say what the user's array is (a key of :data:`KINDS`)."""
        self.kind.setCurrentIndex(list(KINDS).index(kind))

    def load_file(self, path: str | Path) -> bool:
        """Load a ``.npy`` and compare it; on failure show why and return False."""
        self.mode = "file"
        try:
            array = load_user_array(path)
        except ValueError as exc:
            self.candidate = None
            self._show_problem(f"Could not use the file: {exc}")
            return False
        self.set_candidate(array, Path(path).name)
        return True

    def set_candidate(self, array: np.ndarray, name: str = "your array") -> None:
        """Compare ``array`` (the user's) with the app's array of the chosen kind."""
        self.mode = "file"
        self.candidate = np.asarray(array)
        self.candidate_name = name
        self._refresh()

    def run_question_deconv(self) -> None:
        """Switch to the question's-deConv mode and compare it with ``Aᵀ(y − b)``."""
        self.mode = "question"
        self._refresh()

    # -- internals -------------------------------------------------------------------------
    def _choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Load your array", "", "NumPy arrays (*.npy);;All files (*)"
        )
        if path:
            self.load_file(path)

    def _on_kind(self) -> None:
        self._update_expected()
        if self.mode == "file":
            self._refresh()

    def _on_result(self, _result: Result | None) -> None:
        self._update_expected()
        self._refresh()

    def _update_expected(self) -> None:
        result = self.state.result
        if result is None:
            self.expected.setText("(no result yet)")
            return
        shape = expected_shape(result, self.current_kind())
        self.expected.setText(f"your file must have shape {shape}")
        self.placeholder.setText(
            "<p><b>No array loaded yet.</b></p><p>In your own code, compute "
            f"{KINDS[self.current_kind()][1]} for the current image and filter, an array of "
            f"shape {shape}, and save it: <code>np.save('mine.npy', array)</code>. Then press "
            "<b>Load .npy…</b> above.</p><p>It checks the shape, then every value against "
            "this window's: the largest difference, the relative error ‖yours − ours‖ / "
            "‖ours‖ and a verdict (matches to rounding, close below 1 %, or differs), with "
            "yours, ours and the difference drawn side by side.</p>"
        )

    def _show_words(self) -> None:
        """The words' area takes room only when the question's mode has words to show."""
        shown = (self.explanation, self.inverses)
        self.words.setVisible(any(not label.isHidden() for label in shown))

    def _refresh(self) -> None:
        """Start the comparison for the current mode and result (stale jobs dropped)."""
        result = self.state.result
        self.padding_button.setVisible(False)
        if result is None:
            self.jobs.cancel()
            return
        if self.mode == "question":
            self.views.set_titles("The question's deConv", "True adjoint Aᵀ(y − b)", "Difference")
            self.setWindowTitle("Check my code: the question's deConv")
            self.verdict.say("Running the question's deConv…")
            self.jobs.submit(lambda _c, _p: question_job(result))
            return
        self.setWindowTitle("Check my code")
        self.explanation.setVisible(False)
        self.inverses.setVisible(False)
        if self.candidate is None:
            self.jobs.cancel()
            self.views.clear()
            # the empty pictures say what will appear there
            self.views.set_titles("Yours: press Load .npy… above", "Ours", "Difference")
            self.stack.setCurrentWidget(self.placeholder)
            self._show_words()
            self.verdict.say("Load a .npy to compare.")
            self.errors.setText("")
            return
        self._show_words()
        kind, candidate = self.current_kind(), self.candidate
        self.views.set_titles(f"Yours ({self.candidate_name})", "Ours", "Difference")
        self.verdict.say("Comparing…")
        self.jobs.submit(lambda _c, _p: compare_job(candidate, result, kind))

    def _on_outcome(self, _rid: int, outcome: CheckOutcome) -> None:
        self.outcome = outcome
        self.message = ""
        comp = outcome.comparison
        level = verdict_level(comp.relative_error, comp.matches)
        self.views.show_arrays(
            outcome.candidate, outcome.reference, comp.difference, rounding=level == "match"
        )
        self.stack.setCurrentWidget(self.views)
        prefix = {"match": "✔ Matches to rounding", "close": "≈ Close", "differs": "✘ Differs"}
        who = "The question's deConv" if self.mode == "question" else "Your array"
        self.verdict.say(f"{prefix[level]}: {who} {comp.verdict}.", level, bold=True)
        self.errors.setText(
            f"max abs error {comp.max_abs_error:.3g} · relative error {comp.relative_error:.3g}"
        )
        if outcome.facts is not None:
            self.explanation.setText(explain_question(outcome.facts))
            self.explanation.setVisible(True)
        result = self.state.result
        if outcome.inverses is not None and result is not None:
            self.inverses.show_rows(outcome.inverses, result.geometry.min_nullity)
        self.inverses.setVisible(outcome.inverses is not None)
        self._show_words()

    def _show_problem(self, message: str) -> None:
        self.outcome = None
        self.views.clear()
        self.errors.setText("")
        if self.mode == "question":
            result = self.state.result
            padding = None if result is None else tuple(result.params.padding)
            # zero padding is the cure only for a conv (a ConvTranspose2d is refused whole)
            padded = padding is not None and padding != (0, 0) and TRANSPOSED_LAYER not in message
            self.message = f"The question's deConv refuses this set-up: {message}." + (
                f"\n\nThe padding here is {padding}: press 'Set padding to 0 and retry' below."
                if padded
                else ""
            )
            self.padding_button.setVisible(padded)
            self.explanation.setVisible(False)
            self.inverses.setVisible(False)
        else:
            self.message = message
        self.problem.setText(self.message)
        self.stack.setCurrentWidget(self.problem)
        self._show_words()
        self.verdict.say("Nothing compared: see above.", "close")

    def _zero_padding(self) -> None:
        self._set_zero_padding()  # the result comes back later
        self.verdict.setText("Padding set to 0: waiting for the new result…")
        self.padding_button.setVisible(False)
