"""The spectrum window's log axes, offscreen: every label of an axis in one style.

pyqtgraph wrote ``10⁻⁶`` beside ``0.0001`` on the L-curve's residual axis and the
PSNR's reg axis. The rule is tested Qt-free in ``test_view_ticks.py``; here the plots
drawn with curves of the ranges a real layer gives are read back label by label.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from qtpy import QtWidgets

from deconv_gui.core import TikhonovCurve
from deconv_gui.gui.insight.spectrum_plots import CurvePlots, LogAxis

pytestmark = pytest.mark.gui
POWER = re.compile(r"^(\d(\.\d+)?·)?10⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")


def _labels(axis: LogAxis) -> list[str]:
    """Every label the axis draws at its present range and length."""
    low, high = axis.range
    length = max(axis.width(), axis.height())
    levels = axis.tickValues(low, high, length)
    return [
        text
        for spacing, values in levels
        for text in axis.tickStrings(values, axis.autoSIPrefixScale * axis.scale, spacing)
        if text
    ]


def test_the_l_curve_and_psnr_axes_never_mix_label_styles(qtbot):
    plots = CurvePlots()
    qtbot.addWidget(plots)
    plots.resize(1000, 320)
    plots.show()
    regs = np.r_[0.0, np.logspace(-6, 1, 12)]
    curve = TikhonovCurve(
        regs=regs,
        residual_norms=np.logspace(-7, 0.7, regs.size),  # 1e-7 … 5: powers of ten
        relative_residuals=np.logspace(-8, -0.3, regs.size),
        solution_norms=np.linspace(170, 3, regs.size),  # 3 … 170: plain numbers
        psnr=np.linspace(16, 5, regs.size),
        ssim=None,
        reports=(),
    )
    plots.show_curve(curve, 0.0)
    QtWidgets.QApplication.processEvents()
    residuals, solutions = plots.lcurve.getAxis("bottom"), plots.lcurve.getAxis("left")
    regs_axis = plots.psnr.getAxis("bottom")
    for axis in (residuals, solutions, regs_axis):
        assert isinstance(axis, LogAxis) and axis.logMode
    for axis, style in ((residuals, POWER), (regs_axis, POWER), (solutions, DECIMAL)):
        labels = _labels(axis)
        assert len(labels) >= 2, labels
        assert all(style.match(text) for text in labels), labels
    assert "10⁻⁶" in _labels(residuals) and "0.0001" not in _labels(residuals)
    assert "100" in _labels(solutions)
