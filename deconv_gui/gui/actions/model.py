"""File → Open model…: pick a conv layer of a model file and study it on what the model
feeds it.

Listing reads shapes only (fast, in the GUI thread); choosing a layer runs the current
image through the model up to it off the GUI thread (the image loader's job, with its
progress and cancel), then the activation becomes the input and the layer's weights,
bias and stored geometry the forms' values. A weights-only file (state_dict,
safetensors) cannot be run: its layer gets the image itself when the channels fit, and
when they do not, one line names both counts and nothing changes (no input of another
channel count is made up: the panels would explain a layer on data it never sees).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from qtpy import QtCore, QtGui, QtWidgets

from ...core import Params
from ...document import ImageSource, ModelSource
from ...io import LoadedImage
from ...io.models import GRAPH_FORMATS, MODEL_EXTENSIONS, Model, read_model
from ..dialogs.model_layers import ModelLayersDialog
from ..state import AppState, ImageOrigin
from ..support import settings as stored
from .image import ImageActions

__all__ = ["MAX_LAYER_CHANNELS", "MODEL_FILTER", "ModelActions", "layer_problem"]

#: The most input channels of a layer the window studies (montages, a filter slice).
MAX_LAYER_CHANNELS = 512

MODEL_FILTER = (
    f"Model files ({' '.join('*' + e for e in MODEL_EXTENSIONS)});;"
    "ONNX (*.onnx);;PyTorch (*.pt *.pth);;safetensors (*.safetensors);;Keras (*.keras *.h5)"
)


def layer_problem(
    model: Model, name: str, scaling: str, image: LoadedImage, base: Params
) -> tuple[LoadedImage, Params]:
    """The input the model feeds layer ``name`` and ``base`` with the layer's filter."""
    from ...io.models.activations import layer_activation, model_input

    layer = model.layer(name)
    weights = layer.load()
    pixels = image.pixels
    note = f"the image itself, for {name}"
    maps = False
    if model.format in ("onnx", "keras"):
        act = layer_activation(model, layer, pixels, scaling)
        fed = model_input(pixels, model, scaling)
        # a first layer takes the image as the model scales it: its channels stay colours
        maps = act.input.shape != fed.shape or not np.allclose(act.input, fed, atol=1e-6)
        pixels, note = act.input, f"what the model feeds {name} ({act.runner})"
        if fed.shape[:2] != image.pixels.shape[:2]:  # a file that fixes its input size
            (h, w), (fh, fw) = image.pixels.shape[:2], fed.shape[:2]
            note += f"; the image resized {h}×{w} → {fh}×{fw}, the input size the file fixes"
    if pixels.shape[2] > MAX_LAYER_CHANNELS:
        raise ValueError(
            f"layer {name!r} takes {pixels.shape[2]} channels and the window studies at most "
            f"{MAX_LAYER_CHANNELS}: study it with deconv-gui run --model … --layer …"
        )
    # a file without groups (weights only) keeps the form's: the layer takes those channels
    groups = layer.groups or base.groups
    # a ConvTranspose layer's weights are (f_h, f_w, C_out/groups, C_in): its input is
    # the last axis, its output (and bias) the third times groups
    transposed = layer.kind == "conv_transpose"
    c_in = weights.weights.shape[3] if transposed else weights.weights.shape[2] * groups
    if pixels.shape[2] != c_in:
        unknown = None if layer.groups or transposed else groups
        raise ValueError(_mismatch(model, name, c_in, pixels.shape[2], unknown))
    fields: dict[str, Any] = layer.params_fields(*pixels.shape[:2])
    c_out = weights.weights.shape[2] * groups if transposed else weights.weights.shape[3]
    bias = (0.0,) * c_out if weights.bias is None else tuple(float(b) for b in weights.bias)
    if base.channel is not None and base.channel >= c_out:  # a channel it does not have
        fields["channel"] = None
    params = replace(base, weights=weights.weights, bias=bias, **fields)
    note += _kept_geometry(params, fields, Path(model.path).name)
    # the source is shown as a file name: the layer's name (often a path) stays in the note;
    # a weights-only file runs nothing: its layer takes the image itself
    word = "through" if model.format in GRAPH_FORMATS else "into a layer of"
    source = f"{Path(image.source).name} {word} {Path(model.path).name}"
    loaded = LoadedImage(np.asarray(pixels, np.float32), source, note, feature_maps=maps)
    return loaded, params


def _kept_geometry(params: Params, fields: dict[str, Any], file: str) -> str:
    """What the note adds when the file does not store the layer's geometry (a weights-only
    file): the window's own values are used, which the user may need to set.

    >>> from deconv_gui.core import Params, make_filter
    >>> params = Params(make_filter("gaussian", in_channels=3))
    >>> _kept_geometry(params, {"padding": (1, 1), "dilation": (1, 1)}, "a.pt")[:60]
    "; stride, groups not stored in a.pt: the window's stride 2×2"
    >>> _kept_geometry(params, {"stride": 2, "padding": 1, "dilation": 1, "groups": 1}, "b")
    ''
    """
    missing = [name for name in ("stride", "padding", "dilation", "groups") if name not in fields]
    if not missing:
        return ""

    def shown(value: Any) -> str:
        if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
            return "×".join(map(str, value))
        return str(value)

    kept = ", ".join(f"{name} {shown(getattr(params, name))}" for name in missing)
    names = ", ".join(missing)
    return f"; {names} not stored in {file}: the window's {kept} (set them under Geometry)"


def _mismatch(model: Model, name: str, takes: int, has: int, groups: int | None = None) -> str:
    """One line: layer ``name`` takes ``takes`` channels (with the form's ``groups`` when
    the file stores none), its input has ``has``, and what to do.

    Examples
    --------
    >>> from ...io.models import Model
    >>> print(_mismatch(Model("W.pt", "pytorch", ()), "features.4", 4, 3))  # doctest: +ELLIPSIS
    layer 'features.4' takes 4 channels; the image has 3: a pytorch file stores weights only...
    """
    if model.format in GRAPH_FORMATS:  # the model itself feeds it another count
        return f"layer {name!r} takes {takes} channels; the model feeds it {has}"
    form = f" (with groups {groups}, the form's)" if groups not in (None, 1) else ""
    return (
        f"layer {name!r} takes {takes} channels{form}; the image has {has}: a {model.format} "
        "file stores weights only and cannot be run, so the window studies its layers on the "
        "image itself (deconv-gui run --model … --layer … --image map.npy takes a feature "
        f"map of {takes} channels)"
    )


def _model_path(mime: QtCore.QMimeData | None) -> str | None:
    """The first dropped local file whose suffix is a model file's, if any."""
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        path = url.toLocalFile() if url.isLocalFile() else ""
        if path and Path(path).suffix.lower() in MODEL_EXTENSIONS:
            return path
    return None


class ModelActions(QtCore.QObject):
    """Open a model file, list its layers, load the chosen one into the window."""

    def __init__(
        self,
        state: AppState,
        images: ImageActions,
        read_params: Callable[[], Params],
        apply_params: Callable[[Params], None],
        compute_now: Callable[[], object],
        parent: QtWidgets.QWidget,
    ) -> None:
        super().__init__(parent)
        self._state, self._images, self._parent = state, images, parent
        self._read_params, self._apply_params = read_params, apply_params
        self._compute_now = compute_now
        self.dialog: ModelLayersDialog | None = None
        #: while a model's layer is studied: the activation shown as the input, and the
        #: image (with its origin) that the model runs on, for the next layer chosen
        self._active: tuple[LoadedImage, LoadedImage, ImageOrigin] | None = None
        #: the earlier activations still held (by the undo history), with their images: an
        #: undone layer choice shows one again, and its model still runs on its image
        self._earlier: list[tuple[weakref.ref[LoadedImage], LoadedImage, ImageOrigin]] = []
        state.imageChanged.connect(self._image_changed)

    def _set_active(self, active: tuple[LoadedImage, LoadedImage, ImageOrigin] | None) -> None:
        old = self._active
        if old is not None and old is not active:
            self._earlier.append((weakref.ref(old[0]), old[1], old[2]))
        self._earlier = [entry for entry in self._earlier if entry[0]() is not None]
        self._active = active

    def _remembered(self, image: object) -> tuple[LoadedImage, LoadedImage, ImageOrigin] | None:
        """``image``'s (activation, image, origin) when it is an earlier activation."""
        for ref, source, origin in reversed(self._earlier):
            activation = ref()
            if activation is not None and activation is image:
                return activation, source, origin
        return None

    def _image_changed(self, image: object) -> None:
        """Another image is the input: the layer no longer reads the model's activation."""
        if self._active is not None and image is self._active[0]:
            return
        earlier = self._remembered(image)
        if earlier is not None:  # undo or redo showed an earlier activation again
            self._set_active(earlier)
        else:
            # (also with nothing active: the remembered settings' model layer, not run
            # again because --image replaced its image at launch, named a model the
            # window no longer studies)
            self._set_active(None)
            document = self._state.document
            if document.layer.model is not None:  # no network before it now: no switch
                layers = list(document.layers)
                layers[document.selected] = replace(document.layer, model=None)
                document.update(layers=tuple(layers), through=False)

    def adopt(self, activation: LoadedImage, image: LoadedImage, origin: ImageOrigin) -> None:
        """``activation`` (the input now shown) is what the model makes of ``image``
        (a reopened session's layer): choosing another layer runs the model on ``image``."""
        self._set_active((activation, image, origin))

    def _model_source(self, model: Model, name: str, scaling: str) -> ModelSource | None:
        """What a session records of the layer: None when the image cannot be reloaded."""
        image, origin = self._source_image()
        if image is None or origin is None or origin.kind not in ("sample", "file"):
            return None
        source = str(origin.value)
        if origin.kind == "file":
            source = str(Path(source).resolve())
        image_source = ImageSource(origin.kind, source, self._images.work_size())
        return ModelSource(str(Path(model.path).resolve()), name, None, scaling, image_source)

    def _source_image(self) -> tuple[LoadedImage | None, ImageOrigin | None]:
        """The image the model runs on: the current one, or the one under the activation."""
        if self._active is not None and self._state.image is self._active[0]:
            return self._active[1], self._active[2]
        return self._state.source, self._state.origin

    def accept_drops_on(self, widget: QtWidgets.QWidget) -> None:
        """Open model files dropped on ``widget`` (other drops go on to the image actions,
        whose filter was installed first and so runs after this one)."""
        widget.installEventFilter(self)

    def eventFilter(self, watched: QtCore.QObject | None, event: QtCore.QEvent | None) -> bool:
        if event is not None and event.type() == QtCore.QEvent.Type.Drop:
            assert isinstance(event, QtGui.QDropEvent)
            path = _model_path(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                self.open_path(path)
                return True
        return super().eventFilter(watched, event)

    def open_dialog(self) -> None:
        """File → Open model…: pick a model file."""
        settings = self._state.settings
        path = stored.ask_file_to_open(self._parent, settings, "Open model", MODEL_FILTER, "model")
        if path:
            self.open_path(path)

    def _read(self, path: str | Path) -> Model:
        """The model at ``path``; its folder is where File → Open model… starts next."""
        model = read_model(path)
        stored.set_folder_for(self._state.settings, "model", Path(path).resolve().parent)
        return model

    def open_path(self, path: str | Path) -> ModelLayersDialog | None:
        """List the conv layers of ``path`` in the layer dialog (shown, not modal)."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            model = self._read(path)
        except ValueError as exc:
            self._state.notify(f"Could not open the model: {exc}", True)
            return None
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        dialog = ModelLayersDialog(model, self._parent)

        def chosen(name: str, scaling: str) -> None:
            self.use_layer(model, name, scaling)

        dialog.layerChosen.connect(chosen)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.open()
        return dialog

    def load_layer(self, path: str | Path, name: str, scaling: str = "unit") -> bool:
        """Study layer ``name`` of the model at ``path`` (``--model``/``--layer``); False
        with a message when the file or the layer cannot be used."""
        try:
            model = self._read(path)
            model.layer(name)
        except ValueError as exc:
            self._state.notify(f"Could not open the model: {exc}", True)
            return False
        return self.use_layer(model, name, scaling)

    def use_layer(self, model: Model, name: str, scaling: str) -> bool:
        """Run the current image up to layer ``name`` and study that layer."""
        image, origin = self._source_image()
        if image is None or origin is None:
            self._state.notify("Open an image first: the model runs on it", True)
            return False
        try:
            base = self._read_params()
        except ValueError as exc:
            self._state.notify(f"Could not use the layer: {exc}", True)
            return False
        record = self._model_source(model, name, scaling)

        def job(_cancel: threading.Event, _progress: object) -> tuple[LoadedImage, Params]:
            return layer_problem(model, name, scaling, image, base)

        def take(value: tuple[LoadedImage, Params]) -> bool:
            return self._take(value, (image, origin), record)

        self._images.loader.start(name, job, take, "Could not use the layer")
        return True

    def _take(
        self,
        value: tuple[LoadedImage, Params],
        source: tuple[LoadedImage, ImageOrigin],
        record: ModelSource | None,
    ) -> bool:
        """Use the layer: all of it, or (when a form cannot show a value) none of it."""
        loaded, params = value
        before = (self._state.source, self._state.origin, self._read_params(), self._active)
        document = self._state.document
        chain = document.copy()
        if len(document.layers) > 1 or document.layer.model is None:
            # a model's layer goes through the model's network; another model layer keeps
            # the switch's side, a layer of the window's own starts alone
            document.update(layers=(document.layer,), selected=0, through=False)
        origin = ImageOrigin("array", (loaded.pixels, loaded.source, loaded.note))
        self._set_active((loaded, *source))
        self._state.set_image(loaded, origin)
        try:
            self._apply_params(params)
        except ValueError as exc:
            image, old_origin, old_params, active = before
            self._set_active(active)  # first: putting its image back keeps its model record
            document.update(layers=chain.layers, selected=chain.selected, through=chain.through)
            if image is not None and old_origin is not None:
                self._state.set_image(image, old_origin)
            self._apply_params(old_params)
            self._state.notify(f"Could not use the layer (nothing changed): {exc}", True)
            return False
        self._state.document.set_layer(model=record)
        self._compute_now()
        return True
