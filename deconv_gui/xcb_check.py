"""Find the system libraries Qt's X11 (xcb) platform plugin needs, before Qt aborts without them.

PyQt5's wheels ship Qt but not the X11 client libraries; when one is missing, Qt prints
"could not load the Qt platform plugin xcb" and aborts the process (exit 134) inside
``QApplication``. Loading each library first names the missing ones and their packages.
No Qt here.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

__all__ = ["XCB_LIBRARIES", "missing_xcb_packages", "uses_xcb"]

#: Shared libraries of PyQt5's ``libqxcb.so`` plugin (``ldd``) and their Debian/Ubuntu packages.
XCB_LIBRARIES: dict[str, str] = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def uses_xcb(environ: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """True when Qt 5 will pick its xcb plugin: Linux/BSD and no other ``QT_QPA_PLATFORM``."""
    environ = dict(os.environ) if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith(("linux", "freebsd")):
        return False
    return environ.get("QT_QPA_PLATFORM", "xcb").strip().lower().startswith("xcb")


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def missing_xcb_packages(loads: Callable[[str], bool] = _loads) -> list[str]:
    """The packages of the xcb libraries that cannot be loaded (empty when all are there)."""
    return [package for soname, package in XCB_LIBRARIES.items() if not loads(soname)]
