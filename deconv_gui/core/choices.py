"""One check for an argument that names one of a few choices (a mode, a kind, a preset).

Every layer (core, io, view, document, gui) refuses an unknown name with the same
one-line ``ValueError``, naming the argument, the allowed names and the value given, so
that a typo in a script, a session file or a widget reads the same everywhere. No Qt
here, and no import from the rest of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["check_choice"]

T = TypeVar("T")


def check_choice(name: str, value: T, choices: Iterable[str], *, extra: Iterable[object] = ()) -> T:
    """Return ``value`` if it is one of ``choices`` (or of ``extra``), else refuse it.

    Parameters
    ----------
    name : str
        The argument's name, first in the error message.
    value : object
        What the caller gave.
    choices : iterable of str
        The allowed names (a dict gives its keys), listed in the message in this order.
    extra : iterable, optional
        Further allowed values, such as ``None`` or ``"custom"``, listed after the names
        (the last after "or"); matched by identity, or by equality for strings.

    Returns
    -------
    object
        ``value`` itself.

    Raises
    ------
    ValueError
        ``"<name> must be one of a, b, c, got <value!r>"`` (the extra values last,
        after "or") when ``value`` is none of them. Only a ``str`` equals a name, so an
        array or a list never reaches an ambiguous comparison.

    Examples
    --------
    >>> from deconv_gui.core.choices import check_choice
    >>> check_choice("mode", "fast", ("fast", "exact"))
    'fast'
    >>> check_choice("mode", None, ("fast", "exact"), extra=(None,)) is None
    True
    >>> check_choice("mode", "quick", ("fast", "exact"), extra=(None,))
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of fast, exact or None, got 'quick'
    """
    names, others = tuple(choices), tuple(extra)
    text = value if isinstance(value, str) else None
    if any(value is option or (text is not None and text == option) for option in names + others):
        return value
    listed = [*names, *map(str, others)]
    if others:  # the extra values last, after "or": "a, b or None"
        listed[-2:] = [f"{listed[-2]} or {listed[-1]}"] if len(listed) > 1 else listed[-1:]
    raise ValueError(f"{name} must be one of {', '.join(listed)}, got {value!r}")
