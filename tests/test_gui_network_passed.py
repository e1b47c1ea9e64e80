"""The dock's list of a model's layers counts the ReLU units each row passes at the image
(a block's row: its ReLUs' units), the very numbers ``info --through`` prints, and the
units each ReLU inside a block passes as torch's forward hooks count them."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("torch")
pytest.importorskip("onnx")
import torch
from qtpy import QtCore

from deconv_gui import app
from deconv_gui.cli import main as cli_main
from deconv_gui.cli.problem import load_spec
from deconv_gui.gui.launch import apply_arguments
from deconv_gui.gui.main_window import MainWindow
from deconv_gui.gui.support.teardown import delete_now
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import model_input

pytestmark = pytest.mark.gui
TIMEOUT = 120_000  # ms; generous because the CPU cores are shared
nn = torch.nn


class _Block(nn.Module):
    """torchvision's BasicBlock without batch norms: a ReLU inside the body, one after
    the sum, a 1×1 conv on the shortcut."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.inner, self.outer = nn.ReLU(), nn.ReLU()
        self.down = nn.Conv2d(c_in, c_out, 1, stride)

    def forward(self, x):
        body = self.conv2(self.inner(self.conv1(x)))
        return self.outer(body + self.down(x))


class _ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_relu = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
        self.layer1 = _Block(4, 6, 2)
        self.head = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, x):
        return self.head(self.layer1(self.stem_relu(self.stem(x))))


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat)
    win = MainWindow(settings, restore=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.result is not None and not win.runner.busy, timeout=TIMEOUT)
    yield win
    delete_now(win)


def _cli_report(path, head, image, capsys):
    args = ["info", "--model", str(path), "--layer", head, "--through", "--image", str(image)]
    assert cli_main([*args, "--work-size", "24", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _export(tmp_path):
    """The model's file and the name of its head conv."""
    torch.manual_seed(4)
    net = _ResNet().eval()
    path = tmp_path / "resnet.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 24, 24), str(path), dynamo=False)
    head = next(layer.name for layer in read_model(path).layers if "head" in layer.name)
    return net, path, head


def _noise(tmp_path, seed):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    image = tmp_path / f"noise{seed}.png"
    Image.fromarray(pixels).save(image)
    return image


def _study(qtbot, window, path, head, image):
    """Study ``head`` of ``path`` on ``image`` (as --model/--layer/--image do) and wait for
    the dock's listing of it."""
    args = app.build_parser().parse_args(
        ["--model", str(path), "--layer", head, "--image", str(image)]
    )
    assert apply_arguments(window, args, wait=False) is None
    models = window.chain.models
    qtbot.waitUntil(
        lambda: (
            window.document.layer.model is not None
            and not window.images.busy
            and models.listing is not None
            and not models.runner.busy
            and window.models._source_image()[0].source.endswith(image.name)
        ),
        timeout=TIMEOUT,
    )
    return models.listing


def test_the_lists_passed_column_is_info_through_s(qtbot, window, tmp_path, capsys):
    net, path, head = _export(tmp_path)
    image = _noise(tmp_path, 5)
    listing = _study(qtbot, window, path, head, image)
    loaded = load_spec(str(image), 24)
    assert np.array_equal(window.models._source_image()[0].pixels, loaded.pixels)
    report = _cli_report(path, head, image, capsys)

    rows = {row.name: row for row in listing.rows}
    cli_rows = report["layers"]
    assert [b["active"] is not None for b in cli_rows] == [
        False, True, True, True, False,  # stem, its ReLU, the block, the outer ReLU, head
    ]  # fmt: skip
    for b in cli_rows:  # each of info's rows is one of the list's, with the same count
        row = rows[b["name"]]
        assert (None if row.passed is None else row.passed[0]) == b["active"], b["name"]
    relus = [row for row in listing.rows if row.text.endswith("ReLU")]
    for row in relus:  # of the ReLU's own units
        assert row.passed[1] == np.prod([int(n) for n in row.shape.split("×")])
    # the ReLU inside the block has a row of its own, counted as torch counts it
    x0 = model_input(loaded.pixels, read_model(path), "unit")
    counted = []
    handle = net.layer1.inner.register_forward_hook(
        lambda _m, _i, out: counted.append(int((out > 0).sum()))
    )
    with torch.no_grad():
        net.double()(
            torch.from_numpy(np.ascontiguousarray(x0.transpose(2, 0, 1)[None], np.float64))
        )
    handle.remove()
    inner = [row for row in relus if row.name not in {b["name"] for b in cli_rows}]
    assert [row.passed[0] for row in inner] == counted
    block = next(row for row in listing.rows if row.block)
    assert block.passed == inner[0].passed  # the outer ReLU is a row of its own

    # the panel shows the share before the layer's words, the count in its tooltip
    panel = window.controls_dock.layers_panel
    header = panel.list.header()
    # shown with the layer alone too: the ReLUs counted made the layer's input
    assert not window.document.through
    assert not panel.list.isColumnHidden(4) and header.visualIndex(4) == 1
    assert "made the studied layer's input" in panel.list.headerItem().toolTip(4)
    assert "ReLU units that pass" in panel.list.headerItem().toolTip(4)
    for index, row in enumerate(listing.rows):
        item = panel.list.topLevelItem(index)
        if row.passed is None:
            assert item.text(4) == ""
        else:
            passed, units = row.passed
            text, share = item.text(4), 100 * passed / units
            assert text.endswith("%") and 0 < passed < units  # neither none nor all here
            assert text[0] in "<>" or abs(int(text[:-1]) - share) <= 0.5
            assert f"{passed:,} of" in item.toolTip(4) and f"{units:,} units" in item.toolTip(4)
    # the column is in view in the dock, before the layer's words
    assert (
        header.sectionViewportPosition(4) + header.sectionSize(4) <= panel.list.viewport().width()
    )


def test_another_image_counts_again_and_drops_the_first_ones(qtbot, window, tmp_path, capsys):
    _net, path, head = _export(tmp_path)
    first, second = _noise(tmp_path, 5), _noise(tmp_path, 6)
    args = app.build_parser().parse_args(
        ["--model", str(path), "--layer", head, "--image", str(first)]
    )
    assert apply_arguments(window, args, wait=False) is None  # not waited for
    listing = _study(qtbot, window, path, head, second)
    counts = {row.name: row.passed[0] for row in listing.rows if row.passed is not None}
    wanted = _cli_report(path, head, second, capsys)["layers"]
    assert {b["name"]: b["active"] for b in wanted if b["active"] is not None}.items() <= (
        counts.items()
    )
    before = _cli_report(path, head, first, capsys)["layers"]
    assert [b["active"] for b in before] != [b["active"] for b in wanted]  # they tell apart
