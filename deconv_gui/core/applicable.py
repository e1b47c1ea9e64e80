"""Which of the requested methods do not apply to a layer, and why (one line each).

The one place that says so: ``run --methods all`` leaves these methods out with a note,
and the window's live update leaves them out with the reason in its status bar (an
explicit request on the command line is refused instead, by the method itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .decoder import Decoder, check_decoder
from .registry import PRIORS

__all__ = ["NEEDS_DECODER_FILE", "inapplicable_methods"]

#: Why method ``"decoder"`` cannot run without a decoder file.
NEEDS_DECODER_FILE = (
    "the learned decoder needs a decoder file from fit-decoder "
    "(File → Load decoder…, or --decoder FILE.npz)"
)


def inapplicable_methods(
    methods: Sequence[str],
    weights: Any,
    *,
    activation: str = "none",
    decoder_path: str = "",
    decoder: Decoder | None = None,
    geometry: Any = None,
) -> dict[str, str]:
    """The methods of ``methods`` that do not apply to the layer, with the reason.

    Parameters
    ----------
    methods : sequence of str
        The methods asked for.
    weights : array_like
        The layer's filter: Richardson–Lucy's multiplicative steps need one without
        negative weights (a blur).
    activation : str
        The layer's activation: the priors solve with the conv alone and need ``"none"``.
    decoder_path : str
        The decoder file of method ``"decoder"`` ("" = none: the method cannot run).
    decoder, geometry : optional
        The decoder read from that file and the layer's geometry: given both, a decoder
        of another stride, channel count or size does not apply
        (:func:`~deconv_gui.core.decoder.check_decoder`'s reason).

    Returns
    -------
    dict
        ``{method: reason}`` in the order of ``methods``; empty when everything applies.

    Examples
    --------
    >>> import numpy as np
    >>> sobel = np.array([[-1.0, 0.0, 1.0]] * 3)[:, :, None, None]
    >>> inapplicable_methods(("pinv", "richardson_lucy"), sobel)["richardson_lucy"]
    'Richardson–Lucy needs a filter without negative weights (its minimum is -1)'
    >>> inapplicable_methods(("pinv", "decoder"), sobel, decoder_path="dec.npz")
    {}
    """
    reasons: dict[str, str] = {}
    for name in methods:
        reason = _why_not(name, weights, activation, decoder_path, decoder, geometry)
        if reason:
            reasons[name] = reason
    return reasons


def _why_not(
    name: str, weights: Any, activation: str, decoder_path: str, decoder: Any, geometry: Any
) -> str:
    """Why ``name`` does not apply ("" when it does)."""
    if name == "decoder":
        if not decoder_path:
            return NEEDS_DECODER_FILE
        if decoder is not None and geometry is not None:
            try:
                check_decoder(decoder, geometry)
            except ValueError as exc:
                return str(exc).removeprefix("decoder: ")
        return ""
    if name == "richardson_lucy":
        lowest = float(np.min(weights)) if np.size(weights) else 0.0
        if lowest < 0:
            return (
                "Richardson–Lucy needs a filter without negative weights "
                f"(its minimum is {lowest:g})"
            )
    if name in PRIORS and activation != "none":
        return (
            f"the priors need --activation none (they solve with the conv alone), got {activation}"
        )
    return ""
