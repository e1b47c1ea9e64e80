"""What every flavour of snippet shares: the settings it reproduces, its header and footer.

:class:`Settings` reads from :class:`~deconv_gui.core.Params` what a snippet must
reproduce (the geometry with padding mode, groups and flip; which reconstructions;
their solver settings), so that the NumPy and PyTorch writers never look at the
params themselves.
"""

from __future__ import annotations

import pprint
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from ... import __version__
from ...core import ConvGeometry, Params, matching_input_sizes, registry

__all__ = [
    "PLACEHOLDER_NPY",
    "SNIPPET_METHODS",
    "Settings",
    "SnippetPaths",
    "ambiguity",
    "bias_value",
    "code_block",
    "common_top",
    "footer",
    "geometry_lines",
    "header",
    "invented_by",
    "literal",
    "noise_lines",
    "saved_arrays",
    "symmetric_padding",
    "torch_output_padding",
    "weights_lines",
]

#: The methods a snippet reproduces (with the transposed one, always): the registry's
#: methods that the scripts save (``MethodSpec.saved``), in its order.
SNIPPET_METHODS: tuple[str, ...] = registry.SNIPPET_METHODS
#: The image file a script loads when the image is not a usable ``.npy`` file: the
#: input as an export writes it.
PLACEHOLDER_NPY = f"{registry.panel('input').export_name}.npy"
#: The variable of each prior's image in the scripts.
PRIOR_VARIABLES = {m: registry.method(m).saved[0][1] for m in registry.PRIORS}


class SnippetPaths(TypedDict, total=False):
    """Where a script reads and writes (see :func:`~.numpy_code.numpy_snippet`):
    ``image_path``, ``save_path`` and ``weights_path``."""

    image_path: str
    save_path: str | None
    weights_path: str | None


def invented_by(methods: Sequence[str]) -> str | None:
    """The prior whose image the null-space split also splits (``invented``), if any."""
    if "nullspace" not in methods:
        return None
    return next((m for m in registry.PRIORS if m in methods), None)


def saved_arrays(methods: Sequence[str]) -> dict[str, str]:
    """What a snippet saves for ``methods``: name → variable, forward and transposed first."""
    arrays = {"forward_output": "y", "transposed": "x_transposed"}
    for method in methods:
        arrays.update(registry.method(method).saved)
    if invented_by(methods) is not None:
        arrays["invented"] = "x_invented"
    return arrays


@dataclass(frozen=True)
class Settings:
    """What a snippet reproduces of one :class:`~deconv_gui.core.Params`.

    Attributes
    ----------
    params : Params
        The params themselves (filter, bias, geometry, noise, solver settings).
    groups : int
        PyTorch's ``groups`` (1: every input channel feeds every output channel).
    flip : bool
        True convolution (the kernel flipped), not cross-correlation.
    prior_nonneg : bool
        The TV image is constrained to ``x ≥ 0``.
    methods : tuple of str
        The entries of :data:`SNIPPET_METHODS` that ``params.methods`` asks for
        (Richardson–Lucy only with a non-negative filter, as the app requires), in
        that order.
    rl_left_out : bool
        Richardson–Lucy was asked for but the filter has negative weights.
    """

    params: Params
    groups: int
    flip: bool
    prior_nonneg: bool
    methods: tuple[str, ...]
    rl_left_out: bool = False

    @classmethod
    def of(cls, params: Params) -> Settings:
        """The settings of ``params``."""
        methods = tuple(m for m in SNIPPET_METHODS if m in params.methods)
        rl_left_out = "richardson_lucy" in methods and bool(np.any(params.weights < 0))
        if rl_left_out:
            methods = tuple(m for m in methods if m != "richardson_lucy")
        return cls(
            params,
            params.groups,
            params.flip,
            params.prior_nonneg,
            methods,
            rl_left_out,
        )

    @property
    def mode(self) -> str:
        """PyTorch's padding mode."""
        return self.params.padding_mode

    def geometry(self, image_shape: Sequence[int]) -> ConvGeometry:
        """The geometry for an image of ``image_shape``, groups and flip included."""
        return self.params.geometry(image_shape)

    @property
    def solves(self) -> bool:
        """A pseudo-inverse is solved: for ``pinv`` or for the null-space split."""
        return "pinv" in self.methods or "nullspace" in self.methods

    @property
    def priors(self) -> tuple[str, ...]:
        """The priors among the methods."""
        return tuple(m for m in self.methods if m in registry.PRIORS)

    @property
    def transposed(self) -> bool:
        """The layer is a ConvTranspose2d (``B = Aᵀ`` of the strided conv ``A``)."""
        return self.params.layer_kind == "conv_transpose"

    @property
    def covers(self) -> bool:
        """The coverage ``Aᵀ1`` is needed (itself, or to normalise the transpose)."""
        return "coverage" in self.methods or "normalized_transposed" in self.methods

    def describe(self) -> str:
        """The layer in one line, e.g. ``stride (2, 2), padding (1, 1), dilation (1, 1)``."""
        p = self.params
        padding = repr(p.padding) if isinstance(p.padding, str) else str(p.padding)
        text = f"stride {p.stride}, padding {padding}, dilation {p.dilation}"
        if p.padding_mode != "zeros":
            text += f", padding_mode {p.padding_mode!r}"
        if self.groups != 1:
            text += f", groups {self.groups}"
        if self.flip:
            text += ", true convolution (flipped kernel)"
        return text


_SAME_HELPER = '''
def same_padding(n, f, s, d, lower):
    """TF/Keras/ONNX 'same': ceil(n / s) outputs; the odd pixel after (before if lower)."""
    total = max((-(-n // s) - 1) * s + d * (f - 1) + 1 - n, 0)
    return (total - total // 2, total // 2) if lower else (total // 2, total - total // 2)

'''


def symmetric_padding(params: Params) -> bool:
    """Whether ``params.padding`` is an ``(h, w)`` pair (PyTorch's ``Conv2d(padding=)``)."""
    return not isinstance(params.padding, str) and isinstance(params.padding[0], int)


def geometry_lines(params: Params, image_hw: str, kernel_hw: str) -> list[str]:
    """``stride, padding, dilation = …`` for a script; ``padding`` is an ``(h, w)`` pair or
    ``((top, bottom), (left, right))``, a name resolved in the script for ``image_hw``
    and ``kernel_hw`` (the expressions of the image's ``(H, W)`` and the filter's)."""
    p = params
    if symmetric_padding(p):
        return [f"stride, padding, dilation = {p.stride}, {p.padding}, {p.dilation}"]
    lines = [f"stride, dilation = {p.stride}, {p.dilation}"]
    if p.padding == "valid":
        return [*lines, "padding = (0, 0)  # 'valid': no padding"]
    if isinstance(p.padding, str):
        lower = p.padding == "same_lower"
        return [
            *_SAME_HELPER.strip("\n").splitlines(),
            "",
            *lines,
            f"# {p.padding!r}: ((top, bottom), (left, right)) for this image",
            "padding = tuple(",
            f"    same_padding(n, f, s, d, lower={lower})",
            f"    for n, f, s, d in zip({image_hw}, {kernel_hw}, stride, dilation)",
            ")",
        ]
    return [*lines, f"padding = {p.padding}  # ((top, bottom), (left, right))"]


def torch_output_padding(geometry: ConvGeometry) -> tuple[int, int]:
    """The ``output_padding`` that makes ``conv_transpose2d`` return the input's size.

    Notes
    -----
    ``conv_transpose2d`` returns :math:`(n_{out} - 1)s - 2p + d(f - 1) + 1 + o_p` rows;
    several input sizes give the same :math:`n_{out}` when the stride does not divide
    evenly, and :math:`o_p = (n + 2p - d(f - 1) - 1) \\bmod s` picks ours (always
    smaller than the stride, as PyTorch requires).
    """
    h_out, w_out, _ = geometry.output_shape
    pads = []
    for axis, n_out in ((0, h_out), (1, w_out)):
        sizes = _matching_sizes(geometry, axis, n_out)
        # the largest size is output_padding = stride - 1 (the smallest may be cut off at 1)
        pads.append(geometry.input_shape[axis] - (sizes[-1] - geometry.stride[axis] + 1))
    return pads[0], pads[1]


def _matching_sizes(geometry: ConvGeometry, axis: int, n_out: int) -> list[int]:
    return matching_input_sizes(
        n_out,
        geometry.filter_shape[axis],
        geometry.stride[axis],
        geometry.pads[axis],
        geometry.dilation[axis],
    )


def ambiguity(geometry: ConvGeometry) -> str:
    """E.g. ``Inputs of 7 or 8 rows give 3 rows; ...`` for the docstring of a snippet."""
    parts = []
    for axis, label in ((0, "rows"), (1, "columns")):
        n_out = geometry.output_shape[axis]
        sizes = _matching_sizes(geometry, axis, n_out)
        listed = ", ".join(map(str, sizes[:-1])) + (" or " if len(sizes) > 1 else "")
        parts.append(f"inputs of {listed}{sizes[-1]} {label} give {n_out} {label}")
    return "; ".join(parts).capitalize() + "."


def code_block(text: str) -> list[str]:
    """A template's definitions as script lines, with the two blank lines that follow them."""
    return [*text.strip("\n").splitlines(), "", ""]


def literal(value: object, indent: int) -> str:
    """``value`` as a Python literal (exact: ``repr`` round-trips), wrapped at ``indent``."""
    text = pprint.pformat(value, width=92 - indent, compact=True)
    return text.replace("\n", "\n" + " " * indent)


def header(settings: Settings, image_shape: Sequence[int] | None, what: str) -> list[str]:
    """The snippet's docstring: what it computes, the filter, the layer and the shapes."""
    params = settings.params
    layout = "(f_h, f_w, C_in/groups, C_out)" if settings.groups != 1 else "(f_h, f_w, C_in, C_out)"
    lines = [
        f'"""{what}',
        "",
        f"Generated by deconv_gui {__version__}.",
        f"Filter {'×'.join(map(str, params.weights.shape))} {layout}, {settings.describe()}.",
    ]
    if image_shape is not None:
        geometry = settings.geometry(image_shape)
        lines.append(f"Image {params.image_source or '(array)'}: {geometry.describe()}.")
    lines += ['"""', ""]
    return lines


def common_top(
    params: Params, image_path: str, save_path: str | None, weights_path: str | None = None
) -> list[str]:
    """``IMAGE_PATH``, ``SAVE_PATH`` (and ``WEIGHTS_PATH``): the lines a user edits."""
    note = ""
    if params.image_source and not params.image_source.endswith(".npy"):
        note = f"  # the input panel of {params.image_source!r}, as exported"
    lines = [
        f"IMAGE_PATH = {image_path!r}{note}",
        f"SAVE_PATH = {save_path!r}  # set to a .npz path to save the results",
    ]
    if weights_path is not None:
        lines.append(f"WEIGHTS_PATH = {weights_path!r}  # the layer's weights and bias (.npz)")
    return [*lines, ""]


def weights_lines(
    params: Params, weights_path: str | None, name: str, indent: int, cast: str
) -> list[str]:
    """``name = …``: the filter as a literal, or loaded from ``WEIGHTS_PATH`` (then the
    bias too, as ``bias_stored``)."""
    if weights_path is None:
        return [f"{name} = np.array({literal(params.weights.tolist(), indent)}){cast}"]
    return [
        "with np.load(WEIGHTS_PATH) as stored:  # written beside this script",
        f"    {name}, bias_stored = stored['weights']{cast}, stored['bias']",
    ]


def bias_value(params: Params, weights_path: str | None) -> str:
    """The bias as a literal list, or the one stored with the weights."""
    return "bias_stored" if weights_path is not None else repr(list(params.bias))


def noise_lines(params: Params, target: str, to_tensor: bool) -> list[str]:
    """The pipeline's simulated noise: Poisson (``photons``), then Gaussian (``noise_sigma``)."""
    if params.noise_sigma <= 0 and params.photons <= 0:
        return []
    lines = [f"rng = np.random.default_rng({params.noise_seed})  # simulated measurement noise"]
    values = target
    if to_tensor:
        values = f"{target}_hwc"
        lines.append(f"{values} = {target}[0].permute(1, 2, 0).numpy()  # drawn in the app's order")
    if params.photons > 0:
        n = repr(params.photons)
        lines += [
            "# photon counting: Poisson counts of the non-negative intensity, in image units",
            f"counts = rng.poisson(np.maximum({values}, 0).astype(np.float64) * {n})",
            f"{values} = (counts / {n}).astype({values}.dtype)",
        ]
    if params.noise_sigma > 0:
        draw = f"rng.standard_normal({values}.shape)"
        lines.append(
            f"{values} = {values} + ({params.noise_sigma!r} * {draw}).astype({values}.dtype)"
        )
    if to_tensor:
        lines.append(
            f"{target} = torch.from_numpy(np.ascontiguousarray({values})).permute(2, 0, 1)[None]"
        )
    return lines


def footer(arrays: dict[str, str]) -> list[str]:
    """Print the shapes and save ``arrays`` (saved name → variable) when ``SAVE_PATH`` is set."""
    lines = ["", "results = {"]
    lines += [f"    {name!r}: {var}," for name, var in arrays.items()]
    return [
        *lines,
        "}",
        "for name, array in results.items():",
        '    print(f"{name:22} {array.shape}")',
        "if SAVE_PATH:",
        "    np.savez(SAVE_PATH, **results)",
    ]
