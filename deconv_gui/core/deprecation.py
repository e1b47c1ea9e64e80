"""The one way the core retires a name or a keyword: warn, and keep working.

:func:`warn_deprecated` says what to use instead (a :class:`DeprecationWarning`
pointing at the caller's line); :func:`module_aliases` gives a module a
``__getattr__`` that hands out an old name's new object with that warning, so that
``from deconv_gui.core import PriorResult`` still works for a while.

Examples
--------
>>> import warnings
>>> from deconv_gui.core.deprecation import module_aliases
>>> getattr_ = module_aliases("pkg", {"Old": ("New", int)})
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     getattr_("Old") is int, str(caught[0].message)
(True, 'pkg.Old is deprecated; use New instead')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["module_aliases", "warn_deprecated"]


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new``.

    ``stacklevel`` 3 points at the caller of the function that calls this (the user's
    line that passed the old keyword or name).
    """
    warnings.warn(f"{old} is deprecated; use {new} instead", DeprecationWarning, stacklevel)


def module_aliases(module: str, aliases: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that serves each old name as ``(new name, object)``.

    The old names stay out of the module's ``__all__`` (a star import does not warn).
    """

    def __getattr__(name: str) -> Any:
        if name in aliases:
            new, value = aliases[name]
            warn_deprecated(f"{module}.{name}", new)
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
