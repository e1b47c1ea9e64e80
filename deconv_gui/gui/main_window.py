"""The main window: controls in a left dock, image panels in the middle, read-out below.

Data flows one way: every edit restarts a short debounce; when it fires the widgets'
values become a frozen :class:`~deconv_gui.core.Params`, which
:class:`~deconv_gui.gui.live.LiveUpdates` computes off the GUI thread and draws into the
:class:`~deconv_gui.gui.panels.grid.PanelGrid`; the drawn :class:`~deconv_gui.core.Result`
goes into the :class:`~deconv_gui.gui.state.AppState`, which the actions, menus, insight
views and dialogs read (none of them imports this module). This module builds the parts
and wires them together; nothing here does any math.
"""

from __future__ import annotations

from pathlib import Path

from qtpy import QtCore, QtGui, QtWidgets

from ..core import Params, Result
from ..document import Display, Document, Insight
from ..io import LoadedImage
from .actions import session as session_actions
from .actions.commands import WindowCommands
from .actions.decoder import DecoderActions
from .actions.display import DisplayMirror
from .actions.document import DocumentForms, DocumentSync
from .actions.edit_menu import HistoryActions
from .actions.filter_fit import FilterFit
from .actions.history import EditHistory, HistoryHooks
from .actions.image import ImageActions
from .actions.layers import LayerChain
from .actions.menus import MenuHandlers, build_menus, show_about
from .actions.model import ModelActions
from .actions.model_chain import ModelNetworkList
from .actions.window_title import WindowTitle
from .animation import install_steps_view
from .auto_weights import AutoWeights
from .controls.dock import ControlsDock
from .controls.filter_editor import CUSTOM
from .feedback import ComputeFeedback
from .insight.menu import InsightHooks, install_insight
from .live import DEBOUNCE_MS, LiveUpdates
from .network import install_network_view
from .panels.central import CentralArea
from .panels.status_bar import StatusWidgets
from .pipeline_runner import PipelineRunner
from .state import AppState
from .support import settings as stored
from .support.qthelp import nonnull
from .support.screen import available_geometry, fit_to_screen, initial_size, keep_frame_on_screen
from .support.teardown import give_to_qt

__all__ = ["DEBOUNCE_MS", "MainWindow"]


class MainWindow(WindowCommands, QtWidgets.QMainWindow):
    """The Deconvolution Explorer window.

    Parameters
    ----------
    settings : QSettings, optional
        Where window layout, recent files and last settings live (default: the
        user's settings; tests pass a temporary file).
    restore : bool
        Restore the last session's image and settings, and save them on close (False:
        start on the defaults and leave the stored settings alone).

    Signals
    -------
    resultShown(object)
        After a :class:`~deconv_gui.core.Result` has been drawn in every panel.
    messageShown(str)
        After an error or a notice was shown to the user.
    """

    resultShown = QtCore.Signal(object)
    messageShown = QtCore.Signal(str)

    def __init__(self, settings: QtCore.QSettings | None = None, *, restore: bool = True) -> None:
        super().__init__()
        # Qt, not Python's garbage collector, destroys the window: C++ owns it (the binding keeps
        # the wrapper alive) and close() schedules deleteLater() in the GUI thread. Left to
        # the collector, the widget tree (pyqtgraph scenes included) was torn down inside
        # a GC pass, in any thread, with the items' weak references already cleared.
        give_to_qt(self)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.state = AppState(settings if settings is not None else stored.make_settings(), self)
        self.settings = self.state.settings
        self.remember = restore
        self._build_areas()
        self._build_actions()
        self._connect()
        self.auto_weights = AutoWeights(self.state, self.recon_options, self)  # "auto" buttons
        self.insight = install_insight(self, self.state, self._insight_hooks())
        history_hooks = HistoryHooks(
            self.sync,
            self.compute_now,
            (self.geometry_editor.geometryChanged, self.recon_options.optionsChanged),
        )
        self.history = EditHistory(history_hooks, self.controls_dock, self)
        self.history_actions = HistoryActions(self.history, self.menu_actions.edit_menu, self)
        self.steps = install_steps_view(
            self, self.state, self.panels, lambda: self.insight.inspector.selection
        )
        self.geometry_editor.stepsRequested.connect(self.steps.open)  # type: ignore[arg-type]  # result unused
        self.network = install_network_view(
            self,
            self.state,
            lambda: self.models._source_image()[0],
            lambda label: self.history.step(label),
            self.menu_actions.through,
            state_label=self.state_label,
            listing=self.chain.models,
            hide_alone=self.live.set_hidden,
            display=self.display,
            layer_forms=(self.filter_editor, self.geometry_editor),
        )
        self.resize(initial_size(available_geometry(self)))
        stored.restore_window(self, restore_last=restore)
        fit_to_screen(self)  # a stored geometry may come from a larger screen
        keep_frame_on_screen(self)  # ... and the frame is only known once shown
        if self.loaded is None and not self.images.busy:
            self.load_sample("astronaut")
        self.history.reset()  # undo stops at the window as it opened
        self.title.track(self.history)

    # ------------------------------------------------------------------------------ building
    def _build_areas(self) -> None:
        """The Controls dock, the panels' central area and the status bar."""
        self.controls_dock = ControlsDock(self)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.controls_dock)
        self.image_controls = self.controls_dock.image_controls
        self.filter_editor = self.controls_dock.filter_editor
        self.geometry_editor = self.controls_dock.geometry_editor
        self.recon_options = self.controls_dock.recon_options
        self.params_forms = self.controls_dock.params_forms
        central = CentralArea()
        self.setCentralWidget(central)
        self.message_bar, self.panels = central.message_bar, central.panels
        self.metrics = central.metrics
        self.status_widgets = StatusWidgets(nonnull(self.statusBar(), "status bar"), self.panels)
        self.readout = self.status_widgets.readout
        self.state_label = self.status_widgets.state_label
        self.open_folder_button = self.status_widgets.open_folder_button

    def _build_actions(self) -> None:
        """What acts on the state: image and model loading, live updates, menus, sync."""
        self.images = ImageActions(
            self.state, self.image_controls.work_size, self.open_session, self
        )
        self.images.accept_drops_on(self)
        self.live = LiveUpdates(self.state, self.panels, self.current_params, self)
        self.models = ModelActions(
            self.state, self.images, self.current_params, self.apply_params, self.compute_now, self
        )
        self.models.accept_drops_on(self)  # model files; other drops go to the images
        self.decoders = DecoderActions(
            self.state,
            self.current_params,
            self.apply_params,
            self.compute_now,
            lambda label: self.history.step(label),
            self,
        )
        #: the display choices: the document's, drawn by the panels, ticked in the menu
        self.display = DisplayMirror(self.state.document, self.panels)
        self.menu_actions = build_menus(self, self._menu_handlers())
        self.display.actions = self.menu_actions
        #: the widgets written into ``state.document`` and shown from a document
        self.sync = DocumentSync(
            DocumentForms(
                self.state,
                self.params_forms,
                self.filter_editor,
                self.image_controls,
                self.panels,
                extra_methods=lambda: self.insight.extra_methods(),
                show_params=self._show_params,
                show_display=self._show_display,
                after_show=lambda: self.chain.refresh(),
            )
        )
        #: the network built by hand: the Network menu and the dock's list of layers
        self.chain = LayerChain(
            *(self.state, self.sync, self.controls_dock.layers_panel),
            lambda label: self.history.step(label),
            self,
            ModelNetworkList(
                self.state,
                self.controls_dock.layers_panel,
                lambda: self.models._source_image()[0],
                lambda model, name: self.models.load_layer(model.path, name, model.scaling),
                self,
            ),
        )
        self.chain.set_actions(self.menu_actions.by_id)
        self.title = WindowTitle(self, self.state)  # the unsaved-changes marker once tracked
        self.session_form = session_actions.SessionForm(
            sync=self.sync,
            compute_now=self.compute_now,
            images=self.images,
            as_one_step=lambda label: self.history.step(label),
            adopt_model=self.models.adopt,
            named=self.title.name_session,
        )

    def _menu_handlers(self) -> MenuHandlers:
        return MenuHandlers(
            open_image=self.images.open_dialog,
            open_model=self.models.open_dialog,
            load_decoder=lambda: self.decoders.open_dialog(),
            paste_image=self.paste_image,
            export=self.export,
            save_session=lambda: session_actions.save_session_dialog(self.session_form, self),
            open_session=lambda: session_actions.open_session_dialog(self.session_form, self),
            copy_as_code=self.copy_as_code,
            fit_view=self.panels.fit_all,
            set_layout_mode=self.display.set_layout_mode,
            set_shared_levels=self.display.set_shared_levels,
            set_scaling=self.display.set_scaling,
            about=lambda: show_about(self),
            fill_recent_menu=self.images.fill_recent_menu,
            load_sample=self.load_sample,
            add_layer=lambda kind: self.chain.add(kind),
            remove_layer=lambda: self.chain.remove(),
            move_layer=lambda step: self.chain.move(step),
            set_through=lambda on: self.network.set_through(on),
            study_step=lambda step: self.chain.study_step(step),
            view_toggles=(nonnull(self.controls_dock.toggleViewAction()),),
        )

    def _insight_hooks(self) -> InsightHooks:
        return InsightHooks(
            panels=self.panels,
            recon_options=self.recon_options,
            show_arithmetic=self.geometry_editor.show_arithmetic,
            recompute=self.schedule_update,
            load_seed_example=self.load_question_example,
            set_zero_padding=lambda: self.geometry_editor.set_values(padding=(0, 0)),
        )

    def _connect(self) -> None:
        self.filter_editor.filterChanged.connect(self.schedule_update)
        self.filter_editor.picker.channelsChanged.connect(self.panels.set_tiles)
        self.filter_fit = FilterFit(  # before the recompute: a kind switch refits first
            self.state,
            self.filter_editor,
            self.geometry_editor,
            self.params_forms,
            self.chain.owns_channels,
        )
        self.geometry_editor.geometryChanged.connect(self.schedule_update)
        self.recon_options.optionsChanged.connect(self.schedule_update)
        self.recon_options.cancelRequested.connect(self.cancel)
        self.image_controls.sampleRequested.connect(self.load_sample)  # type: ignore[arg-type]  # result unused
        self.image_controls.openRequested.connect(self.images.open_dialog)
        self.image_controls.workSizeChanged.connect(lambda _size: self.images.reload())
        self.live.shown.connect(self.status_widgets.refresh_values)  # a partial, or put back
        self.state.imageChanged.connect(self._on_image)
        self.feedback = ComputeFeedback(
            self.state,
            self.live,
            self.recon_options,
            self.geometry_editor,
            self.state_label,
            self.metrics,
        )
        self.state.resultChanged.connect(self._on_result_shown)  # after the feedback's
        self.state.messageRequested.connect(self._show_message_now)
        self.state.exported.connect(self.status_widgets.offer_open_folder)
        self.images.loader.statusChanged.connect(self.feedback.show_loading)
        self.live.invalid.connect(self._on_invalid)

    # ------------------------------------------------------------------------------ state
    @property
    def loaded(self) -> LoadedImage | None:
        """The input image (see :attr:`AppState.image`)."""
        return self.state.image

    @property
    def result(self) -> Result | None:
        """The result on screen (see :attr:`AppState.result`)."""
        return self.state.result

    @property
    def last_message(self) -> str:
        """The last message shown to the user."""
        return self.state.last_message

    @property
    def runner(self) -> PipelineRunner:
        """The runner of the live computation."""
        return self.live.runner

    @property
    def draw_seconds(self) -> float:
        """GUI-thread seconds spent drawing the latest result (for benchmarks)."""
        return self.live.draw_seconds

    # ------------------------------------------------------------------------------ compute
    def schedule_update(self) -> None:
        """Restart the debounce timer; a running solve is cancelled (it is stale now)."""
        self.live.schedule()

    @property
    def forms(self) -> tuple:
        """The controls that edit :class:`Params` fields (see :class:`ParamsForms`)."""
        return self.params_forms.forms

    @property
    def document(self) -> Document:
        """The window's state (see :class:`~deconv_gui.document.Document`)."""
        return self.state.document

    def current_params(self) -> Params:
        """The selected layer's :class:`Params`, as the widgets show them (ValueError if invalid).

        Reading writes the widgets' values into :attr:`document`.
        """
        return self.sync.read().params

    def apply_params(self, params: Params, preset: str = CUSTOM) -> None:
        """Show ``params`` in the forms (``preset``: the filter preset's name to show).

        Raises
        ------
        ValueError
            When a widget cannot show a value (e.g. a filter larger than 7×7).
        """
        # the Insight panels first, then the forms show the exact methods saved
        self.params_forms.show(params, self.insight.show_methods(params.methods), preset)

    def _show_params(self, params: Params, preset: str, insight: Insight) -> None:
        self.apply_params(params, preset)
        self.insight.user_ticked_normalised = insight.normalised_by_user

    def _show_display(self, display: Display) -> None:
        # the rest of ``display`` is drawn when the document takes it (DisplayMirror)
        self.panels.panel("forward").channel_box.setValue(display.forward_channel)

    def compute_now(self) -> int | None:
        """Validate the current settings and start the computation; returns the request id.

        An invalid geometry is shown in the geometry editor (and the panels keep the
        previous result); None is returned.
        """
        return self.live.compute_now()

    def cancel(self) -> None:
        """Stop the running computation (the panels keep the previous result)."""
        self.live.cancel()

    def _on_invalid(self, message: str) -> None:
        self.state.last_message = message
        self.messageShown.emit(message)

    def _on_result_shown(self, result: Result) -> None:
        """Every panel shows ``result``: update the read-out and announce it."""
        self.status_widgets.refresh_values(result)
        self.resultShown.emit(result)

    # ------------------------------------------------------------------------------ images
    def _on_image(self, loaded: LoadedImage) -> None:
        self.sync.image_arrived(loaded)
        source = self.state.source or loaded  # the dock shows the image as loaded
        self.status_widgets.show_loaded(
            self.image_controls.show_image(source, self.state.origin.kind)
        )
        self.filter_editor.set_feature_maps(self.chain.owns_channels() or loaded.feature_maps)
        self.filter_fit.fit(loaded.pixels.shape[2])
        self.compute_now()

    # ------------------------------------------------------------------------------ view
    def show_message(self, text: str, error: bool = True) -> None:
        """Show a message in the bar above the panels and in the status bar."""
        self.state.notify(text, error)

    def _show_message_now(self, text: str, error: bool) -> None:
        self.message_bar.show_text(text, error)
        self.readout.setText(text.splitlines()[0] if text else "")
        self.messageShown.emit(text)

    def save_screenshot(self, path: str | Path) -> bool:
        """Save a picture of the whole window."""
        return self.grab().save(str(path), "PNG")

    def closeEvent(self, event: QtGui.QCloseEvent | None) -> None:
        # nothing may fire or arrive after this: timers stop, every pool is cancelled
        # and waited for, and results queued by a finished job are dropped
        self.images.loader.shutdown()
        self.decoders.shutdown()
        self.live.shutdown()
        self.network.shutdown()
        self.chain.shutdown()
        self.message_bar.stop()
        self.panels.stop_timers()
        self.insight.shutdown()
        self.auto_weights.shutdown()
        self.steps.shutdown()
        if self.remember:
            stored.save_window(self)
        super().closeEvent(event)
