"""Where the package's data files live: the top-level ``resources/`` folder.

The repository keeps data apart from code in ``resources/`` (filter presets, the question's
toy example, the icon, desktop files). A wheel maps that folder into the package as
``deconv_gui/resources`` (see ``setup.py``), so an installed copy finds it through
:mod:`importlib.resources`; a source checkout run with ``PYTHONPATH`` finds it next to the
package. Only the standard library is used here.
"""

from __future__ import annotations

import functools
import json
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.resources.abc is new in Python 3.11; 3.10 is supported
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable

__all__ = ["read_json", "resource", "resources_root"]


@functools.cache
def resources_root() -> Traversable:
    """The folder of data files, installed (``deconv_gui/resources``) or in a checkout.

    Raises
    ------
    FileNotFoundError
        If neither an installed nor a source-tree ``resources`` folder exists.
    """
    installed = resources.files("deconv_gui").joinpath("resources")
    if installed.is_dir():
        return installed
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"resources folder not found: neither {installed} (installed) nor {checkout} (checkout)"
    )


def resource(name: str) -> Traversable:
    """One data file by its path inside ``resources/``, e.g. ``"icons/deconv-gui.svg"``.

    Raises
    ------
    FileNotFoundError
        If ``name`` is not a file of the resources folder.
    """
    item = resources_root()
    for part in name.split("/"):
        item = item.joinpath(part)
    if not item.is_file():
        raise FileNotFoundError(f"name: no resource {name!r} in {resources_root()}")
    return item


@functools.cache
def _json_text(name: str) -> str:
    return resource(name).read_text(encoding="utf-8")


def read_json(name: str) -> Any:
    """Parse a JSON resource; each call returns fresh objects (the text is read once)."""
    return json.loads(_json_text(name))
