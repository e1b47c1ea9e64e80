"""The NumPy snippets: NumPy/SciPy only, or over this package's API."""

from __future__ import annotations

from collections.abc import Sequence

from ...core import Params, registry
from .activation import (
    api_activation_lines,
    api_method_lines,
    conv_names,
    forward_output_lines,
    in_range_pinv,
    left_out_lines,
    pinv_lines,
    projection_arrays,
    projection_lines,
)
from .common import (
    PLACEHOLDER_NPY,
    PRIOR_VARIABLES,
    Settings,
    bias_value,
    code_block,
    common_top,
    footer,
    geometry_lines,
    header,
    invented_by,
    noise_lines,
    saved_arrays,
    weights_lines,
)
from .method_lines import (
    lost_lines,
    normalized_lines,
    prior_lines,
    rl_left_out,
    setting_lines,
)
from .templates import NUMPY_CONV, NUMPY_DENSE_FILTER, NUMPY_LAYER, NUMPY_PINV
from .transposed import NUMPY_LAYER_TRANSPOSED, numpy_out_shape, transposed_geometry_lines

__all__ = ["numpy_snippet"]

#: numpy.pad's names of PyTorch's padding modes.
NUMPY_PAD_MODES = {
    "zeros": "constant",
    "reflect": "reflect",
    "replicate": "edge",
    "circular": "wrap",
}

#: LSQR has no preconditioner, so it may take more iterations than the app's solver.
LSQR_MIN_ITER = 2000


def numpy_snippet(
    params: Params,
    image_shape: Sequence[int] | None = None,
    *,
    image_path: str = PLACEHOLDER_NPY,
    save_path: str | None = None,
    standalone: bool = True,
    weights_path: str | None = None,
) -> str:
    """A runnable NumPy script: ``y = A x + b``, ``Aᵀ(y − b)`` and the reconstructions.

    Parameters
    ----------
    params : Params
        Filter, bias, geometry (padding mode, groups, flip, a ConvTranspose2d layer),
        noise, and the methods: ``pinv`` (the pseudo-inverse, Tikhonov when
        ``reg > 0``), ``nonneg``, ``richardson_lucy``, ``tv``,
        ``normalized_transposed``, ``coverage`` and ``nullspace`` are reproduced when
        ``params.methods`` has them; with an ``activation`` the forward output goes
        through it and the methods study ``J = D A`` (:mod:`.activation`), and the
        ``deconvnet`` and ``guided_backprop`` are written too.
    image_shape : sequence of int, optional
        ``(H, W, C_in)``, for the docstring (and a ConvTranspose2d layer's padding).
    image_path : str
        The ``.npy`` file (``(H, W, C_in)`` float) the script loads, set in
        ``IMAGE_PATH`` at its top.
    save_path : str, optional
        When given, the script saves ``forward_output``, ``transposed`` and every
        other array under its :class:`~deconv_gui.core.Result` name (``pinv``,
        ``recoverable``, ``nullspace``, ...) to this ``.npz`` file (``SAVE_PATH``).
    standalone : bool
        True: NumPy and SciPy only, with the convolution, its adjoint, the
        pseudo-inverse (a ``scipy.sparse.linalg.LinearOperator`` solved by LSQR) and
        the priors written out. False: ``deconv_gui.core``'s functions.
    weights_path : str, optional
        A ``.npz`` with ``weights`` and ``bias`` (a model's layer) that the script loads
        (``WEIGHTS_PATH``) instead of holding the filter as a literal.

    Returns
    -------
    str
        Python source code.
    """
    settings = Settings.of(params)
    kind = "transposed convolution (ConvTranspose2d)" if settings.transposed else "convolution"
    what = f"A strided {kind} in NumPy: forward output y = A x + b, transposed A^T(y - b)"
    if params.activation != "none":
        what = (
            f"A strided {kind} and its {params.activation} in NumPy: forward output\n"
            f"y = {params.activation}(A x + b), transposed J^T(y - c) (J = D A, c = D b at x)"
        )
    if "pinv" in settings.methods:
        pinv = "A+(y - b)" if params.activation == "none" else "J+(y - c)"
        what += f",\nand the pseudo-inverse {pinv}: the image back, as far as y determines it"
    lines = header(settings, image_shape, what + ".")
    paths = (image_path, save_path, weights_path)
    if standalone:
        lines += _standalone(settings, image_shape, paths)
    else:
        lines += _api(settings, image_shape, paths)
    return "\n".join(lines) + "\n"


Paths = tuple[str, str | None, str | None]


def _data_lines(
    settings: Settings, image_shape: Sequence[int] | None, weights_path: str | None
) -> list[str]:
    """Load ``x``; the filter, bias and hyper-parameters as literals (or from a file)."""
    p = settings.params
    layout = "(f_h, f_w, C_in/groups, C_out)" if settings.groups != 1 else "(f_h, f_w, C_in, C_out)"
    if settings.transposed:
        layout = "(f_h, f_w, C_out/groups, C_in) = W_t.permute(2, 3, 1, 0)"
    lines = [
        "x = np.load(IMAGE_PATH)  # (H, W, C_in) float",
        "if x.ndim == 2:",
        "    x = x[:, :, None]",
        f"# filter in HWIO layout {layout}",
        *weights_lines(p, weights_path, "weights", 18, ".astype(x.dtype)"),
        f"bias = np.array({bias_value(p, weights_path)}, dtype=x.dtype)",
    ]
    if settings.transposed:
        return lines + transposed_geometry_lines(p, image_shape)[0]
    return lines + geometry_lines(p, "x.shape[:2]", "weights.shape[:2]")


def _solver_lines(settings: Settings, standalone: bool) -> list[str]:
    p = settings.params
    if standalone:
        limit = max(LSQR_MIN_ITER, p.max_iter or 0)
        solver = (
            f"rtol, max_iter = {p.rtol!r}, {limit}  # LSQR, unpreconditioned: more iterations "
            "than the app's solver"
        )
    else:
        solver = f"rtol, max_iter = {p.rtol!r}, {p.max_iter!r}  # the app's solver settings"
    return setting_lines(settings, solver)


def _standalone(settings: Settings, image_shape: Sequence[int] | None, paths: Paths) -> list[str]:
    """The NumPy-only script: set-up, the layer, then what the methods ask for."""
    lines = _standalone_setup(settings, image_shape, paths)
    lines += _standalone_layer(settings)
    lines += _standalone_solves(settings)
    lines += prior_lines(settings, "np")
    recovered = in_range_pinv(settings, "pinv({rhs}{reg}{ops})", "{}", "")[1]
    lines += lost_lines(settings.methods, recovered, "np.linalg.norm(x_lost) / np.linalg.norm(x)")
    lines += projection_lines(settings, "numpy") + left_out_lines(settings)
    return lines + footer({**saved_arrays(settings.methods), **projection_arrays(settings)})


def _standalone_setup(
    settings: Settings, image_shape: Sequence[int] | None, paths: Paths
) -> list[str]:
    """Imports, the convolution's code, the data and every setting as a literal."""
    lines = ["import math", ""] if {"nonneg", "tv"} & set(settings.methods) else []
    lines.append("import numpy as np")
    if settings.solves:
        lines.append("from scipy.sparse.linalg import LinearOperator, lsqr")
    lines += ["", *common_top(settings.params, *paths), ""]
    lines += code_block(NUMPY_CONV)
    if settings.groups != 1:
        lines += code_block(NUMPY_DENSE_FILTER)
    lines += _data_lines(settings, image_shape, paths[2])
    mode = settings.mode
    lines.append(
        f"padding_mode = {NUMPY_PAD_MODES[mode]!r}  # numpy.pad's name of PyTorch's {mode!r}"
    )
    lines += _solver_lines(settings, standalone=True)
    if settings.flip:
        lines += [
            "# true convolution (scipy.signal.convolve, textbooks): the kernel flipped in both",
            "# spatial axes; conv2d itself is a cross-correlation, as in PyTorch",
            "weights = weights[::-1, ::-1]",
        ]
    if settings.groups != 1:
        what = "input" if settings.transposed else "output"
        lines += [
            f"# groups={settings.groups} (PyTorch's): each group of the conv's {what} channels "
            "sees only its share of the other side",
            f"weights = dense_groups(weights, {settings.groups})",
        ]
    if settings.transposed:
        lines += numpy_out_shape("weights.shape[2]")
    return lines


def _standalone_layer(settings: Settings) -> list[str]:
    """forward and adjoint, the forward output, the transpose and the coverage."""
    layer = NUMPY_LAYER_TRANSPOSED if settings.transposed else NUMPY_LAYER
    lines = ["", "", *code_block(conv_names(layer, settings))]
    lines += forward_output_lines(settings, torch=False)
    lines += ["x_transposed = adjoint(y - bias)"]
    if settings.covers:
        lines.append(
            "cover = adjoint(np.ones_like(y))  # the coverage A^T 1 (filter weight per pixel)"
        )
    seen = "np.abs(cover) > 1e-12 * max(np.abs(cover).max(), 1e-300)"
    divided = "np.divide(x_transposed, cover, out=np.zeros_like(cover), where=seen)"
    return lines + normalized_lines(settings.methods, seen, divided)


def _standalone_solves(settings: Settings) -> list[str]:
    """The pseudo-inverse by LSQR over forward and adjoint."""
    if not settings.solves:
        return []
    lines = ["", "", *code_block(NUMPY_PINV)]
    if "pinv" in settings.methods:
        lines += [
            *pinv_lines(settings, "pinv({rhs}{reg}{ops})", "x_pinv"),
            "misfit = np.linalg.norm(forward(x_pinv) - (y - bias))",
            "residual = misfit / max(np.linalg.norm(y - bias), 1e-300)",
            'print(f"pseudo-inverse: |A x - (y - b)| / |y - b| = {residual:.1e}")',
        ]
    return lines


def _api(settings: Settings, image_shape: Sequence[int] | None, paths: Paths) -> list[str]:
    """The script over ``deconv_gui.core``: the layer's functions, then the methods."""
    p, methods = settings.params, settings.methods
    names = ["conv2d", "conv2d_transpose"]
    operator = "ConvTransposeOperator" if settings.transposed else "ConvOperator"
    if p.activation != "none":  # the methods go through the layer's network
        names.append(operator)
    elif methods:
        names += [operator, *sorted(registry.method(m).api for m in methods)]
    lines = ["import numpy as np", "", *_wrapped("from deconv_gui.core import ", sorted(names))]
    if p.activation != "none":
        lines.append("from deconv_gui.core.network.single import layer_network")
    lines += ["", *common_top(p, *paths)]
    lines += _data_lines(settings, image_shape, paths[2])
    layer = ["stride=stride", "padding=padding", "dilation=dilation"]
    if settings.mode != "zeros":
        layer.append(f"padding_mode={settings.mode!r}")
    if settings.groups != 1:
        layer.append(f"groups={settings.groups}")
    if settings.flip:
        layer.append("flip=True")
    lines += [*_wrapped("layer = dict", layer), *_solver_lines(settings, standalone=False), ""]
    if p.activation == "none":
        lines += _api_layer(settings) + _api_methods(settings)
    else:
        lines += _api_operator(settings) + api_activation_lines(settings)
        lines += api_method_lines(settings)
    lines += projection_lines(settings, "api") + left_out_lines(settings)
    return lines + footer({**saved_arrays(methods), **projection_arrays(settings)})


def _api_layer(settings: Settings) -> list[str]:
    """The forward output, the transpose and the operator of the reconstructions."""
    p, transposed = settings.params, settings.transposed
    if transposed:
        lines = [
            "# the layer: F.conv_transpose2d (conv2d_transpose without input_shape)",
            "y = conv2d_transpose(x, weights, output_padding=output_padding, **layer) + bias",
        ]
    else:
        lines = ["y = conv2d(x, weights, bias, **layer)  # the forward output"]
    lines += noise_lines(p, "y", to_tensor=False)
    if transposed:
        lines += ["x_transposed = conv2d(y - bias, weights, **layer)  # B^T: the strided conv"]
    else:
        lines += [
            "x_transposed = conv2d_transpose(y - bias, weights, input_shape=x.shape, **layer)"
        ]
    if not settings.methods:
        return lines
    return [*lines, *_api_operator(settings)]


def _api_operator(settings: Settings) -> list[str]:
    """``op``: the layer as one operator ``A``."""
    lines = ["", "# the layer as one operator A, validated once, for the reconstructions"]
    if settings.transposed:
        return [
            *lines,
            "op = ConvTransposeOperator.from_weights(",
            "    weights, input_shape=x.shape, output_padding=output_padding, **layer",
            ")",
        ]
    return [*lines, "op = ConvOperator.from_weights(weights, input_shape=x.shape, **layer)"]


def _api_methods(settings: Settings) -> list[str]:
    methods = settings.methods
    lines = []
    if "normalized_transposed" in methods:
        lines.append("x_normalized = normalized_transposed_reconstruction(y, op, bias)")
    if "pinv" in methods:
        lines.append(
            "x_pinv = pinv_reconstruction(y, op, bias, reg=reg, rtol=rtol, max_iter=max_iter).image"
        )
    if "nonneg" in methods:
        lines.append(
            "x_nonneg = nonneg_reconstruction(y, op, bias, reg=reg, max_iter=prior_iter).image"
        )
    if "richardson_lucy" in methods:
        lines += [
            "try:",
            "    x_rl = richardson_lucy(np.maximum(y - bias, 0), op, n_iter=prior_iter).image",
            "except ValueError as error:  # weights with a negative value: one line, not a trace",
            "    raise SystemExit(str(error)) from None",
        ]
    lines += rl_left_out(settings)
    if "tv" in methods:
        lines.append(
            "x_tv = tv_reconstruction("
            "y, op, bias, lam=lam, max_iter=prior_iter, nonneg=tv_nonneg).image"
        )
    if "coverage" in methods:
        lines.append("cover = coverage_map(op)  # A^T 1")
    if "nullspace" in methods:
        lines += [
            "split = split_components(x, op, rtol=rtol, max_iter=max_iter)  # x = A+A x + lost",
            "x_recoverable, x_lost = split.recoverable, split.lost",
        ]
    prior = invented_by(methods)
    if prior is not None:
        lines += [
            "# what the prior invented: the null-space part of its image (y says nothing there)",
            f"x_invented = split_components({PRIOR_VARIABLES[prior]}, op, rtol=rtol, "
            "max_iter=max_iter).lost",
        ]
    return lines


def _wrapped(head: str, items: Sequence[str]) -> list[str]:
    """``head(a, b)`` on one line, or one item per line when that is over 88 characters."""
    one = f"{head}({', '.join(items)})"
    if head.startswith("from "):
        one = head + ", ".join(items)
    if len(one) <= 88:
        return [one]
    return [f"{head}(", *(f"    {item}," for item in items), ")"]
