"""Insight → "The question's 7×7×3 example": the seed's case as a guided example.

Loads the seed toy image and the question's filter with stride 2 and no padding
(through the window's public methods), then opens a view with the 9×147 matrix ``A``,
``Aᵀ`` and ``A⁺`` as images and a short explanation.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy import QtCore, QtWidgets

from ...core import ConvGeometry, ConvOperator, dense_matrices, question_inverse_check
from ...core.analysis import ReluLoss, relu_loss
from ...core.groups import dense_filter
from ...view.colormaps import lookup_table
from ...view.theme import CANVAS
from ..support.screen import resize_within_screen
from .check_views import InverseTable

__all__ = ["SeedExampleView", "open_seed_example", "relu_html"]

_EXPLANATION = (
    "<p><b>Transposed ≠ inverse.</b> The 7×7×3 image has 147 unknowns; a 3×3×3 filter "
    "with stride 2 gives a 3×3 output: 9 equations. <i>A</i> is the 9×147 matrix on the "
    "left (one row per output pixel: the filter, shifted by the stride).</p>"
    "<p><b>Aᵀ</b> (middle) is the matrix of the transposed convolution, what "
    "'deconvolution' layers compute: it spreads each output back through the filter. "
    "It is the adjoint, not an inverse: A Aᵀ y ≠ y.</p>"
    "<p><b>A⁺</b> (right) is the pseudo-inverse: A A⁺ y = y exactly, so the "
    "pseudo-inverse panel reproduces y, with the smallest possible image.</p>"
    "<p><b>138 dimensions are lost</b>: 147 − 9 = 138 directions of the image give "
    "y = 0, so no method (Aᵀ, A⁺ or any other) can recover them. See the 'Lost' panel "
    "(Insight → Show lost-information panels).</p>"
)


def relu_html(here: ReluLoss, bias: float, half: ReluLoss, half_bias: float) -> str:
    """The walkthrough's line on the ReLU: what it adds to the lost dimensions, at the
    layer's bias (``here``) and at a bias that turns about half the units off (``half``)."""

    def zeros(loss: ReluLoss) -> str:
        return f"{loss.zeros} of the {loss.outputs} outputs are 0"

    text = (
        f"<p><b>With the ReLU</b> the question's deConv ends with (activation ReLU): y = "
        f"ReLU(A x + b). A zero output only says A<sub>i</sub> x + b<sub>i</sub> ≤ 0, so it "
        f"no longer pins a direction down. With b = {bias:g}, {zeros(here)}: the ReLU adds "
        f"{here.added} to the {here.lost} lost dimensions ({here.free} free)."
    )
    if half.zeros != here.zeros:
        text += (
            f" With b = {half_bias:.3g}, {zeros(half)}: {half.lost} + {half.added} = "
            f"{half.free} directions are free, each bounded on one side only (the ReLU "
            "preimage panel: the smallest image with the same ReLU output)."
        )
    return text + "</p>"


class SeedExampleView(QtWidgets.QDialog):
    """The matrices ``A``, ``Aᵀ`` and ``A⁺`` of the current (seed) problem as images."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("The question's 7×7×3 example: A, Aᵀ and A⁺")
        self.setObjectName("seed_example")
        self.matrices: dict[str, np.ndarray] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(CANVAS)
        self.graphics.setToolTip("Blue < 0 < red, each matrix at its own scale ±max|entry|")
        self.views: dict[str, pg.ImageItem] = {}
        for col, (key, title) in enumerate(
            (("A", "A  (9 × 147)"), ("At", "Aᵀ  (147 × 9)"), ("Apinv", "A⁺  (147 × 9)"))
        ):
            self.graphics.addLabel(title, row=0, col=col)
            view = self.graphics.addViewBox(row=1, col=col, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="row-major")
            item.setLookupTable(lookup_table("diverging"))
            view.addItem(item)
            self.views[key] = item
        self.text = QtWidgets.QLabel(_EXPLANATION)
        self.text.setWordWrap(True)
        self.text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.text.setToolTip("Why the question's deConv cannot give the image back")
        self.inverses = InverseTable()
        self.inverses.setVisible(False)
        close = QtWidgets.QPushButton("Close")
        close.setToolTip("Close this view (the window keeps the example loaded)")
        close.clicked.connect(self.close)  # type: ignore[arg-type]  # close()'s bool is unused
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.graphics, 3)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.inverses, 1)
        layout.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignRight)
        resize_within_screen(self, 960, 780)

    def show_problem(
        self,
        geometry: ConvGeometry,
        weights: np.ndarray,
        image: np.ndarray | None = None,
        bias: object = 0.0,
    ) -> None:
        """Draw the matrices of ``geometry`` with ``weights`` (small problems only).

        With the ``image``, also the table of the asker's second guess (each kernel
        slice pseudo-inverted) against ``Aᵀ`` and ``A⁺``, for an unpadded layer.
        """
        self.inverses.setVisible(False)
        plain = geometry.padding == (0, 0) and geometry.dilation == (1, 1)
        if image is not None and plain and geometry.stride[0] == geometry.stride[1]:
            rows = question_inverse_check(
                image,
                dense_filter(np.asarray(weights), geometry.groups, geometry.flip),
                bias,
                stride=geometry.stride[0],
            )
            self.inverses.show_rows(rows, geometry.min_nullity)
            self.inverses.setVisible(True)
        operator = ConvOperator(geometry, weights)
        dense = dense_matrices(operator)
        self.text.setText(_EXPLANATION)
        if image is not None and operator.shape[1] <= 4096:
            self.text.setText(_EXPLANATION + _relu_losses(operator, image, bias))
        self.matrices = {"A": dense.A, "At": dense.A_transpose, "Apinv": dense.A_pinv}
        for key, matrix in self.matrices.items():
            m = float(np.abs(matrix).max()) or 1.0
            self.views[key].setImage(matrix, autoLevels=False, levels=(-m, m))
            self.views[key].getViewBox().autoRange(padding=0.02)


def _relu_losses(operator: ConvOperator, image: np.ndarray, bias: object) -> str:
    b = np.asarray(bias, dtype=np.float64)
    pre = operator.apply(np.asarray(image, dtype=np.float64))
    half_bias = -float(np.median(pre)) if pre.size else 0.0  # about half the units off
    here = relu_loss(operator, image, b)
    half = relu_loss(operator, image, np.full_like(b, half_bias))
    return relu_html(here, float(b.mean()), half, half_bias)


def open_seed_example(insight) -> SeedExampleView:
    """Load the seed's set-up in the window and open the matrices view."""
    insight.hooks.load_seed_example()
    state = insight.state
    params, image = state.params, state.image
    if params is None or image is None:
        raise ValueError("the seed example did not load")
    geometry = params.geometry(image.pixels.shape)
    view = insight._show_dialog("seed", lambda: SeedExampleView(insight.window))
    view.show_problem(geometry, params.weights, image.pixels, params.bias)
    return view
