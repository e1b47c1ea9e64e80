"""A layer with its activation in the scripts: ``y = act(A x + b)`` and its local map ``J``.

At the image the layer is ``f(v) = J v + c`` with ``J = D A`` (``D`` the activation's
slope at each output) and ``c = D b``, and the app's methods study ``J``
(:mod:`deconv_gui.core.network.single`). The NumPy and PyTorch scripts therefore compute
the forward output through the activation (``np.maximum`` / ``np.where``,
``F.relu`` / ``F.leaky_relu``), then rebind ``forward``, ``adjoint`` and ``bias`` to
``J``, ``Jᵀ`` and ``c`` (the conv's own are kept as ``conv_forward`` and
``conv_adjoint``), so every method's lines after it are the same as without an
activation. The API script goes through :func:`~deconv_gui.core.network.single.
layer_network` and its :class:`~deconv_gui.core.network.Linearization`. The deconvnet
and guided backprop of ``f(x)`` are written for every flavour (the ReLU preimage, a
convex programme, is left out with a note).
"""

from __future__ import annotations

import re

from .common import Settings, noise_lines
from .method_lines import NOTES

__all__ = [
    "PROJECTION_VARIABLES",
    "api_activation_lines",
    "api_method_lines",
    "conv_names",
    "forward_output_lines",
    "in_range_pinv",
    "left_out_lines",
    "pinv_lines",
    "projection_arrays",
    "projection_lines",
]

#: The backward rules a script writes, and their variables (the saved name is the method's).
PROJECTION_VARIABLES = {"deconvnet": "x_deconvnet", "guided_backprop": "x_guided_backprop"}

_NUMPY_ACT = {
    "relu": ('"""ReLU: max(v, 0)."""', "np.maximum(v, 0)"),
    "leaky_relu": (
        '"""Leaky ReLU: v where v > 0, slope * v elsewhere."""',
        "np.where(v > 0, v, slope * v)",
    ),
}
_TORCH_ACT = {"relu": "F.relu(v)", "leaky_relu": "F.leaky_relu(v, negative_slope=slope)"}

_J_NOTE = (
    "# At x the layer is f(v) = J v + c on x's linear region: J = D A with D the activation's",
    "# slope at each output (1 where A x + b > 0, else {slope}) and c = D b. The methods below",
    "# study J: from here on forward and adjoint are J's and bias is c (the conv's own are",
    "# conv_forward and conv_adjoint).",
)


def conv_names(block: str, settings: Settings) -> str:
    """The layer's code block with ``forward``/``adjoint`` named ``conv_forward`` and
    ``conv_adjoint`` when there is an activation (``J``'s take the names)."""
    if settings.params.activation == "none":
        return block
    return re.sub(r"\b(forward|adjoint)\(", r"conv_\1(", block)


#: Why a leaky ReLU's in-range pseudo-inverse is solved on the conv.
_THROUGH_THE_CONV = [
    "# every slope is > 0, so J = D A has A's row space and J+ r = A+ D^-1 r for r in J's",
    "# range: solved on the conv, as the app does (J's small slopes would stall the solver)",
]


def in_range_pinv(
    settings: Settings, call: str, rhs: str, reg: str, in_range: bool = True
) -> tuple[list[str], str]:
    """The comment and the call of ``J⁺ rhs``: ``call`` a format with fields ``rhs``,
    ``reg`` (the text ``reg``, e.g. ``", reg"`` for the Tikhonov weight) and ``ops`` (the
    solver's optional operator arguments).

    A leaky ReLU with a slope > 0 makes ``D`` invertible: for a ``rhs`` in ``J``'s range
    (``in_range``: ``J x``, or ``y − c`` without simulated noise) and no Tikhonov, the call
    is ``A⁺ (rhs / gain)`` on the conv itself, as the app computes it (on a square 32 × 32 × 2 layer
    with slope 0.01, LSQR and CGLS on ``J`` stopped at their 2000 iterations 6 % from
    it); anything else solves on ``J`` as written.

    Examples
    --------
    >>> from deconv_gui.core import Params
    >>> import numpy as np
    >>> p = Params(np.ones((3, 3, 1, 1)), activation="leaky_relu", leaky_slope=0.1)
    >>> in_range_pinv(Settings.of(p), "pinv({rhs}{reg}{ops})", "y - bias", ", reg")[1]
    'pinv((y - bias) / gain, 0.0, conv_forward, conv_adjoint)'
    """
    p = settings.params
    leaky = p.activation == "leaky_relu" and float(p.leaky_slope) > 0
    if not (leaky and in_range and (reg != ", reg" or p.reg == 0)):
        return [], call.format(rhs=rhs, reg=reg, ops="")
    ops = ", conv_forward, conv_adjoint"
    return list(_THROUGH_THE_CONV), call.format(rhs=f"({rhs}) / gain", reg=", 0.0", ops=ops)


def pinv_lines(settings: Settings, call: str, result: str) -> list[str]:
    """The comments and the line ``result = call`` of the pseudo-inverse ``J⁺(y − c)``.

    ``y − c`` is in ``J``'s range unless the script simulates noise, so a leaky ReLU's is
    solved on the conv (:func:`in_range_pinv`, whose format ``call`` is).

    Examples
    --------
    >>> from deconv_gui.core import Params
    >>> import numpy as np
    >>> p = Params(np.ones((3, 3, 1, 1)), activation="leaky_relu", leaky_slope=0.1)
    >>> pinv_lines(Settings.of(p), "pinv({rhs}{reg}{ops})", "x_pinv")[-1]
    'x_pinv = pinv((y - bias) / gain, 0.0, conv_forward, conv_adjoint)'
    """
    p = settings.params
    noise_free = p.noise_sigma == 0 and p.photons == 0
    note, call = in_range_pinv(settings, call, "y - bias", ", reg", noise_free)
    return [*NOTES["pinv"], *note, f"{result} = {call}"]


def forward_output_lines(settings: Settings, torch: bool) -> list[str]:
    """``y`` with its noise; with an activation also ``gain`` (``D``), ``J``'s forward and
    adjoint and ``bias = c``."""
    p = settings.params
    noise = noise_lines(p, "y", to_tensor=torch)
    if p.activation == "none":
        return ["y = forward(x) + bias  # the forward output", *noise]
    slope = 0.0 if p.activation == "relu" else float(p.leaky_slope)
    lines = [f"slope = {slope!r}  # the activation's slope where A x + b <= 0", ""]
    if torch:
        lines += ["", "def act(v):", f"    return {_TORCH_ACT[p.activation]}", "", ""]
    else:
        doc, body = _NUMPY_ACT[p.activation]
        lines += ["", "def act(v):", f"    {doc}", f"    return {body}", "", ""]
    lines += [
        "z = conv_forward(x) + bias  # the layer's output before its activation, A x + b",
        f"y = act(z)  # the forward output {p.activation}(A x + b)",
        *noise,
        *(line.format(slope=slope) for line in _J_NOTE),
        f"gain = slope + (1.0 - slope) * (z > 0){'.to(z.dtype)' if torch else '.astype(z.dtype)'}",
        "",
        "",
        "def forward(v, w=weights):",
        '    """J v = D A v."""',
        "    return gain * conv_forward(v, w)",
        "",
        "",
        "def adjoint(r, w=weights):",
        '    """J^T r = A^T (D r)."""',
        "    return conv_adjoint(gain * r, w)",
        "",
        "",
        "bias = gain * bias  # c = D b",
    ]
    return lines


def projection_lines(settings: Settings, flavour: str) -> list[str]:
    """The deconvnet and guided backprop of ``f(x) = y`` (of one channel with
    ``params.channel``), as the app computes them; ``flavour``: numpy, torch or api."""
    p = settings.params
    wanted = [m for m in PROJECTION_VARIABLES if m in p.methods]
    if not wanted:
        return []
    torch = flavour == "torch"
    lines = ["", "# the backward rules people use to see what a unit responds to, on f(x) = y:"]
    if p.channel is None:
        lines.append("signal = y")
    else:
        index = f"[:, {p.channel}]" if torch else f"[..., {p.channel}]"
        zeros = "torch.zeros_like" if torch else "np.zeros_like"
        lines += [
            f"signal = {zeros}(y)  # only channel {p.channel}, as Zeiler & Fergus project one map",
            f"signal{index} = y{index}",
        ]
    if p.activation == "none":
        lines.append("# without an activation both are the conv's transpose of the signal")
        transpose = "adjoint(signal)"
        if flavour == "api":
            transpose = "conv2d_transpose(signal, weights, input_shape=x.shape, **layer)"
        return lines + [f"{PROJECTION_VARIABLES[m]} = {transpose}" for m in wanted]
    lines += [
        "# deconvnet (Zeiler & Fergus): the activation applied to the signal, then A^T (the",
        "# bias unused); guided backprop (Springenberg et al.): also the forward mask D",
    ]
    rules = {
        "deconvnet": "conv_adjoint(act(signal))",
        "guided_backprop": "conv_adjoint(gain * act(signal))",
    }
    if flavour == "api":
        rules = {m: f"lin.project(signal, {m!r}).astype(x.dtype)" for m in PROJECTION_VARIABLES}
    return lines + [f"{PROJECTION_VARIABLES[m]} = {rules[m]}" for m in wanted]


def projection_arrays(settings: Settings) -> dict[str, str]:
    """Saved name → variable of the backward rules the script writes."""
    return {m: v for m, v in PROJECTION_VARIABLES.items() if m in settings.params.methods}


def left_out_lines(settings: Settings) -> list[str]:
    """Why the ReLU preimage is missing, when it was asked for."""
    if "relu_preimage" not in settings.params.methods:
        return []
    return [
        "# the ReLU preimage (a convex programme: equations where y > 0, A x + b <= 0 where",
        "# y = 0) is left out: deconv_gui.core.network.relu_preimage solves it",
    ]


def api_activation_lines(settings: Settings) -> list[str]:
    """The API script's layer with its activation: ``layer_network`` linearised at ``x``."""
    p = settings.params
    slope = f", {float(p.leaky_slope)!r}" if p.activation == "leaky_relu" else ""
    return [
        f"# the layer and its activation as a network [conv, {p.activation}]: at x it is",
        "# f(v) = J v + c with J = D A (D the activation's slopes) and c = D b",
        f"net = layer_network(op, bias, {p.activation!r}{slope})",
        "lin = net.linearize(x)  # in float64",
        f"y = lin.output.astype(x.dtype)  # the forward output {p.activation}(A x + b)",
        *noise_lines(p, "y", to_tensor=False),
        "c = lin.offset",
        "x_transposed = lin.apply_adjoint(y - c).astype(x.dtype)  # J^T (y - c)",
    ]


def api_method_lines(settings: Settings) -> list[str]:
    """The API script's methods on ``J``: the coverage ``Jᵀ1``, the normalised transpose,
    ``J⁺(y − c)`` and the split ``x = J⁺J x + (x − J⁺J x)``."""
    methods = settings.methods
    lines = []
    if settings.covers:
        lines.append("cover = lin.apply_adjoint(np.ones(y.shape)).astype(x.dtype)  # J^T 1")
    if "normalized_transposed" in methods:
        lines += [
            "seen = np.abs(cover) > 1e-12 * max(np.abs(cover).max(), 1e-300)",
            "x_normalized = np.divide(x_transposed, cover, out=np.zeros_like(cover), where=seen)",
        ]
    solve = "rtol=rtol, max_iter=max_iter"
    if "pinv" in methods:
        lines.append(f"x_pinv = lin.pinv(y - c, reg=reg, {solve})[0].astype(x.dtype)  # J+(y - c)")
    if "nullspace" in methods:
        lines += [
            "# x = J+J x (what f determines near x) + the rest, which J sends to 0",
            f"x_recoverable = lin.pinv(lin.apply(x), {solve}, consistent=True)[0].astype(x.dtype)",
            "x_lost = x - x_recoverable",
        ]
    return lines
