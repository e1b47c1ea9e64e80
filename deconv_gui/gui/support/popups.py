"""pyqtgraph's menus and dialogs, owned by the view that shows them.

pyqtgraph makes its context menus and colour dialogs without a parent: a view box's
menu (with its axis and mouse-mode submenus), a plot item's "Plot Options" menu, and a
gradient editor's colormap menu (a dozen submenus) and ``QColorDialog`` (one of each in
every histogram's colour bar). Each is a top-level widget kept for as long as Python
holds its item, which outlives the window: every closed window left ~190 of them, and
Qt sends every palette change to each. :func:`adopt_popups` makes the view their
parent, so that they go with it; the scene's export dialog, made when the user first
asks for it, is deleted with the view.
"""

from __future__ import annotations

from functools import partial

from qtpy import QtCore, QtWidgets

__all__ = ["POPUP_ATTRIBUTES", "adopt_popups"]

#: Where pyqtgraph's items keep their parentless menus and dialogs.
POPUP_ATTRIBUTES = ("menu", "ctrlMenu", "colorDialog", "colorMapMenu")


def adopt_popups(view: QtWidgets.QGraphicsView) -> int:
    """Make ``view`` the parent of its scene's items' parentless menus and dialogs.

    Call it once the view's items are made (those added later keep their own). They
    stay windows of their own (a popup menu, a dialog) and keep working; they are
    deleted with ``view``. Returns how many were adopted.

    Examples
    --------
    >>> from qtpy import QtWidgets
    >>> app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    >>> scene = QtWidgets.QGraphicsScene()
    >>> item = QtWidgets.QGraphicsRectItem()
    >>> item.menu = QtWidgets.QMenu()  # as pyqtgraph's items keep theirs
    >>> scene.addItem(item)
    >>> view = QtWidgets.QGraphicsView(scene)
    >>> adopt_popups(view), item.menu.parent() is view, item.menu.isWindow()
    (1, True, True)
    >>> adopt_popups(view)  # already adopted
    0
    """
    scene = view.scene()
    if scene is None:
        return 0
    adopted = 0
    for item in scene.items():
        for name in POPUP_ATTRIBUTES:
            popup = getattr(item, name, None)
            if isinstance(popup, QtWidgets.QWidget) and popup.parent() is None:
                popup.setParent(view, popup.windowFlags())  # still a popup or a dialog
                adopted += 1
    if hasattr(scene, "exportDialog"):  # a pyqtgraph scene: its dialog is made on demand
        view.destroyed.connect(partial(_delete_export_dialog, scene))
    return adopted


def _delete_export_dialog(scene: QtCore.QObject, *_: object) -> None:
    dialog = getattr(scene, "exportDialog", None)
    if isinstance(dialog, QtWidgets.QWidget):
        dialog.deleteLater()
