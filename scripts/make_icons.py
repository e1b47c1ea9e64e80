"""Render the application icon's PNGs from its SVG: ``python scripts/make_icons.py``.

``resources/icons/deconv-gui.svg`` is the one drawing; this writes
``resources/icons/deconv-gui-<N>.png`` for the sizes desktops and Qt ask for. Run it after
editing the SVG and commit both. Needs QtSvg (through qtpy); no display (offscreen platform).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)


def render(svg: Path, size: int, out: Path) -> None:
    """Draw ``svg`` into a transparent ``size``×``size`` PNG at ``out``."""
    from qtpy import QtCore, QtGui, QtSvg

    renderer = QtSvg.QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"svg: not a valid SVG file: {svg}")
    image = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise OSError(f"could not write {out}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qtpy import QtGui

    app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(sys.argv[:1])
    svg = ICONS / "deconv-gui.svg"
    for size in SIZES:
        out = ICONS / f"deconv-gui-{size}.png"
        render(svg, size, out)
        print(f"{out.relative_to(ICONS.parents[1])}: {out.stat().st_size} bytes")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
