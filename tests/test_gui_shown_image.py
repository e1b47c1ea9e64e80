"""A panel's picture shown smaller than its pixels is the mean of what each screen pixel
covers (no moiré from the screen grid), and crisp pixels when shown larger.

The reference is independent: the grabbed widget's pixels against the data's mean grey
and against the data's two values.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtWidgets

from deconv_gui.gui.panels.picture import PanelPicture
from deconv_gui.gui.support.qimage import qimage_to_array

pytestmark = pytest.mark.gui


def _shown(qtbot, data, side):
    """The grey values the screen shows of ``data`` fitted into a ``side``-pixel view."""
    holder = QtWidgets.QWidget()
    qtbot.addWidget(holder)
    picture = PanelPicture(holder)
    picture.graphics.setParent(holder)
    picture.graphics.resize(side, side)
    picture.item.setImage(data, levels=(0.0, 1.0))
    picture.view.setRange(xRange=(0, data.shape[1]), yRange=(0, data.shape[0]), padding=0)
    holder.resize(side, side)
    holder.show()
    qtbot.waitExposed(holder)
    rect = picture.view.mapRectToScene(picture.item.boundingRect())
    grabbed = qimage_to_array(picture.graphics.grab().toImage())[..., :3].astype(float)
    rect = picture.graphics.mapFromScene(rect).boundingRect()
    inner = grabbed[rect.top() + 3 : rect.bottom() - 3, rect.left() + 3 : rect.right() - 3]
    assert inner.size > 0
    return inner.mean(axis=2), picture


def test_a_fine_checkerboard_shown_smaller_is_its_mean_grey_not_coarse_blocks(qtbot):
    rows, cols = np.indices((256, 256))
    checker = ((rows + cols) % 2).astype(np.float32)  # what a stride-2 layer leaves
    grey, picture = _shown(qtbot, checker, 140)
    # each screen pixel covers about 1.9 data pixels: about half of them are 1
    assert abs(grey.mean() - 127.5) < 20
    assert np.percentile(np.abs(grey - 127.5), 95) < 40, "moiré: blocks of black and white"
    assert picture.item.qimage.width() == 256  # an export still reads every data pixel


def test_an_image_shown_larger_keeps_crisp_pixels(qtbot):
    rows, cols = np.indices((8, 8))
    checker = ((rows + cols) % 2).astype(np.float32)
    grey, _ = _shown(qtbot, checker, 200)
    values = grey.ravel()
    # nearest pixels: (almost) every screen pixel is black or white, none blended
    assert np.mean((values < 10) | (values > 245)) > 0.95
