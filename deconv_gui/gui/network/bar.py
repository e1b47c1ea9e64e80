"""The strip above the panels: the switch "this layer alone | the network up to here" and
the chain ``J`` is made of (:class:`~.view.NetworkView` drives it)."""

from __future__ import annotations

from qtpy import QtCore, QtWidgets

from ..support.qthelp import signals_blocked

__all__ = ["NetworkBar"]


class NetworkBar(QtWidgets.QWidget):
    """The switch and the chain ``J`` is made of, in one strip above the panels.

    ``shownChanged(bool)`` is emitted when the strip is shown or hidden (a network is
    studied or no longer).
    """

    shownChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("network_bar")
        column = QtWidgets.QVBoxLayout(self)
        column.setContentsMargins(4, 0, 4, 0)
        column.setSpacing(0)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("<b>Study:</b>"))
        row.addSpacing(6)
        self.alone = QtWidgets.QRadioButton("this layer alone")
        self.alone.setToolTip(
            "The layer under study alone, A, on its input: what the layers before it make "
            "of the image"
        )
        self.through = QtWidgets.QRadioButton("the network up to here")
        self._through_tip = (
            "The network from the image up to this layer, as its local linear map J at the "
            "image (exact on the image's linear region for ReLU networks, first order with "
            "smooth activations such as SiLU or GELU): f(x₀), Jᵀ (backprop), deconvnet, "
            "guided backprop, J⁺ and what J loses (Ctrl+T)"
        )
        self.through.setToolTip(self._through_tip)
        self.group = QtWidgets.QButtonGroup(self)
        self.group.addButton(self.alone)
        self.group.addButton(self.through)
        self.alone.setChecked(True)
        row.addWidget(self.alone)
        row.addWidget(self.through)
        row.addStretch(1)
        column.addLayout(row)
        self.chain = QtWidgets.QLabel()
        self.chain.setObjectName("network_chain")
        self.chain.setWordWrap(True)
        self.chain.setToolTip("The layers J contains, from the image to this layer")
        self.chain.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        column.addWidget(self.chain)

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        self.shownChanged.emit(visible)

    def show_through(self, through: bool) -> None:
        """Tick the button of ``through`` without emitting anything."""
        with signals_blocked(self.alone, self.through):
            (self.through if through else self.alone).setChecked(True)

    def offer_through(self, why_not: str) -> None:
        """Offer "the network up to here", or (``why_not`` says why) not: the button is
        off and its tooltip's first line is ``why_not``."""
        self.through.setEnabled(not why_not)
        tip = self._through_tip
        self.through.setToolTip(f"{why_not}.\n{tip}" if why_not else tip)
