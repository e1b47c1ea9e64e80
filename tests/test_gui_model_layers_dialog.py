"""The layer table of File → Open model…: notes that many layers share, or one per layer,
leave the table its room."""

from __future__ import annotations

import pytest

from deconv_gui.io.models import read_model
from deconv_gui.io.models.table import layer_notes

pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from deconv_gui.gui.dialogs.model_layers import NOTES_LINES, ModelLayersDialog  # noqa: E402

pytestmark = pytest.mark.gui


def _stack(count: int) -> torch.nn.Sequential:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for i in range(count):
        layers += [torch.nn.Conv2d(4 if i else 3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)]
        layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


def _visible_rows(dialog: ModelLayersDialog) -> int:
    table = dialog.table
    return table.viewport().height() // table.rowHeight(0)


def test_a_note_per_layer_scrolls_below_a_table_that_keeps_its_rows(qtbot, tmp_path):
    """An ONNX graph that keeps its BatchNormalization nodes: every conv has its own note
    (the batch norm folded into it); 30 of them stay within NOTES_LINES lines."""
    path = tmp_path / "bn.onnx"
    export = {"dynamo": False, "do_constant_folding": False}
    torch.onnx.export(_stack(30), torch.zeros(1, 3, 16, 16), str(path), **export)
    model = read_model(path)
    assert len(layer_notes(model)) == 30
    dialog = ModelLayersDialog(model)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.notes is not None
    label = dialog.notes.widget()
    assert "'/1/BatchNormalization' folded" in label.text()
    assert dialog.notes.height() <= NOTES_LINES * label.fontMetrics().lineSpacing() + 8
    assert _visible_rows(dialog) >= 8


def test_a_note_many_layers_share_is_one_line(qtbot, tmp_path):
    """A state_dict stores no geometry: one line names the layers, not one line each."""
    path = tmp_path / "w.pt"
    torch.save(_stack(30).state_dict(), path)
    model = read_model(path)
    notes = layer_notes(model)
    assert notes == [f"all layers: {model.layers[0].notes[0]}"]
    up = {"up.weight": torch.zeros(4, 2, 4, 4), "up.bias": torch.zeros(2)}  # a decoder's
    torch.save({**_stack(12).state_dict(), **up}, path)
    model = read_model(path)
    notes = layer_notes(model)
    assert len(notes) == 2 and notes[0].startswith("0, 3 and 10 more layers: geometry not stored")
    assert notes[1].startswith("up: ")
    dialog = ModelLayersDialog(model)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert _visible_rows(dialog) >= 8


@pytest.fixture
def window(qtbot, tmp_path):
    from qtpy import QtCore

    from deconv_gui.gui.main_window import MainWindow
    from deconv_gui.gui.support.teardown import delete_now

    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    yield win
    delete_now(win)


def test_open_model_starts_in_the_folder_of_the_last_model(window, tmp_path, monkeypatch):
    """File → Open model… starts where the last model came from (the command line, a
    drop or the dialog), not in the folder of the last image."""
    from qtpy import QtWidgets

    folder = tmp_path / "models"
    folder.mkdir()
    torch.save(_stack(2).state_dict(), folder / "w.pt")
    asked: list[str] = []

    def ask(_parent, _title, start, _filters):
        asked.append(start)
        return "", ""

    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", ask)
    dialog = window.models.open_path(folder / "w.pt")
    assert dialog is not None
    dialog.reject()
    window.models.open_dialog()
    assert asked == [str(folder.resolve())]


def test_a_model_of_fixed_input_size_says_the_image_was_resized(tmp_path):
    """An ONNX export without dynamic axes takes 16×16 only: the layer's note says the
    24×40 image was resized (its aspect changed), not just 'what the model feeds'."""
    import numpy as np

    from deconv_gui.core import Params
    from deconv_gui.gui.actions.model import layer_problem
    from deconv_gui.io import LoadedImage

    path = tmp_path / "fixed.onnx"
    torch.onnx.export(_stack(2), torch.zeros(1, 3, 16, 16), str(path), dynamo=False)
    model = read_model(path)
    image = LoadedImage(np.random.default_rng(0).random((24, 40, 3)), "wide.png", "")
    base = Params(np.ones((3, 3, 4, 4)) / 36, stride=1, padding=1)
    loaded, _params = layer_problem(model, model.layers[1].name, "unit", image, base)
    assert loaded.pixels.shape == (16, 16, 4)
    assert loaded.note.endswith("; the image resized 24×40 → 16×16, the input size the file fixes")
