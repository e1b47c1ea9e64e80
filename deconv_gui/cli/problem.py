"""What the commands load alike: the images (folders expanded), the filter, the Params."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core import params as schema
from ..core.applicable import inapplicable_methods
from .options import AUTO_WORK_SIZE, PROG, AllMethods, UsageError, path_failure

__all__ = [
    "check_decoder_option",
    "check_filter",
    "check_shared_values",
    "filter_weights",
    "left_out_note",
    "load_decoder",
    "load_problem",
    "load_spec",
    "make_params",
    "methods_for_all",
    "methods_that_apply",
    "resolve_images",
    "skipped_methods",
]


def resolve_images(specs: Sequence[str]) -> tuple[list[str], bool]:
    """Expand folders into their image files; return the list and whether it is a batch.

    Raises
    ------
    UsageError
        For a name that is neither a sample, a file nor a folder, or an empty folder.
    ValueError
        For a path the system refuses to look at (too long, say): naming ``--image``.
    """
    images: list[str] = []
    batch = len(specs) > 1
    for spec in specs:
        try:
            batch = _resolve_one(spec, images) or batch
        except OSError as exc:
            raise path_failure("--image", spec, exc) from None
    return images, batch


def _resolve_one(spec: str, images: list[str]) -> bool:
    """Append the image(s) ``spec`` names to ``images``; True when it is a folder."""
    from ..io import FILE_EXTENSIONS, SAMPLES

    path = Path(spec)
    if spec in SAMPLES and not path.exists():
        images.append(spec)
        return False
    if path.is_dir():
        found = sorted(
            str(p)
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in FILE_EXTENSIONS and not p.name.startswith(".")
        )
        if not found:
            raise UsageError(f"no image files ({', '.join(FILE_EXTENSIONS)}) in folder {spec}")
        images.extend(found)
        return True
    if not path.is_file():
        raise UsageError(
            f"image not found: {spec} (not a file, a folder or a sample: {', '.join(SAMPLES)})"
        )
    images.append(spec)
    return False


def load_spec(spec: str, work_size: int | str | None):
    from ..io import DEFAULT_WORK_SIZE, SAMPLES, load_image, load_sample

    auto = work_size == AUTO_WORK_SIZE
    size = None if auto or work_size is None else int(work_size)
    if spec in SAMPLES and not Path(spec).exists():
        return load_sample(spec, DEFAULT_WORK_SIZE if auto else size)
    return load_image(spec, size)


def filter_weights(args: argparse.Namespace, in_channels: int) -> np.ndarray:
    from ..core import PRESETS, make_filter

    name = args.filter
    groups = getattr(args, "groups", 1)
    if name in PRESETS:
        if in_channels % groups:
            raise ValueError(
                f"--groups {groups} must divide the image's C_in = {in_channels} channels"
            )
        outputs = groups if args.out_channels is None else args.out_channels
        # a grouped preset sees C_in / groups channels; by default one output per group
        seen, made = in_channels // groups, outputs
        if getattr(args, "layer_kind", "conv") == "conv_transpose":
            # ConvTranspose2d: the image is the layer's input, the filter's last axis
            if outputs % groups:
                raise ValueError(f"--groups {groups} must divide --out-channels {outputs}")
            seen, made = outputs // groups, in_channels
        return make_filter(
            name, size=args.filter_size, in_channels=seen, out_channels=made, seed=args.seed
        )
    from ..io.decode import read_npy

    check_filter(args)
    try:
        return read_npy(Path(name))
    except ValueError as exc:
        raise ValueError(f"--filter: {exc}") from None


def check_shared_values(args: argparse.Namespace) -> None:
    """Refuse, before any image, the values every image would fail with: a ``--filter``
    ``.npy`` that cannot be read or computed with (NaN, the wrong number of axes, a gain
    that overflows) and a ``--bias`` that overflows, in one line naming the option or
    the file (a ``ValueError``: exit 1), instead of once per image of a batch.

    Examples
    --------
    >>> try:
    ...     check_shared_values(argparse.Namespace(filter="box", bias=1e300))
    ... except ValueError as exc:
    ...     print(str(exc)[:30])
    bias: values up to 1e+300 over
    """
    from ..core.limits import check_bias_magnitude

    check_bias_magnitude(getattr(args, "bias", None))
    _read_filter_file(args.filter)


def _read_filter_file(name: str | None) -> None:
    """Read ``--filter``'s ``.npy`` (a preset needs nothing) and refuse what no image can
    be computed with (NaN, the wrong number of axes, values that overflow), naming it."""
    from ..core import PRESETS
    from ..core.arrays import normalize_weights
    from ..core.limits import check_filter_magnitudes
    from ..io.decode import read_npy

    if name is None or name in PRESETS:
        return
    try:
        weights = read_npy(Path(name))
    except ValueError as exc:
        raise ValueError(f"--filter: {exc}") from None
    try:
        check_filter_magnitudes(normalize_weights(weights))
    except ValueError as exc:
        raise ValueError(f"--filter {Path(name).name}: {exc}") from None


def check_filter(args: argparse.Namespace) -> None:
    """A usage error unless ``--filter`` names a preset or an existing ``.npy`` file
    (or, instead, ``--model`` names a model file)."""
    from ..core import PRESETS

    if getattr(args, "model", None) is None:  # the model's options, typed without one
        for flag, value in (("--layer", None), ("--scaling", "unit")):
            given = getattr(args, flag.lstrip("-"), value)
            if given != value:
                raise UsageError(f"{flag} {given} applies only with --model MODEL")
    if getattr(args, "network", None) is not None:
        if args.filter is not None or getattr(args, "model", None) is not None:
            raise UsageError("give one of --filter, --model and --network")
        if not Path(args.network).is_file():
            raise UsageError(f"--network: session file not found: {args.network}")
        return
    if getattr(args, "model", None) is not None:
        if args.filter is not None:
            raise UsageError("give --filter or --model, not both")
        if not Path(args.model).is_file():
            raise UsageError(f"model file not found: {args.model}")
        if getattr(args, "layer", None) is None:
            raise UsageError(f"--model needs --layer (deconv-gui layers {args.model} lists them)")
        return
    if args.filter is None:
        raise UsageError("--filter is required (or --model with --layer)")
    _check_options_apply(args)
    path = Path(args.filter)
    if args.filter in PRESETS:
        return
    if path.suffix.lower() != ".npy":
        raise UsageError(
            f"--filter must be a preset ({', '.join(PRESETS)}) or a .npy file: {args.filter}"
        )
    try:
        found = path.is_file()
    except OSError as exc:
        raise path_failure("--filter", args.filter, exc) from None
    if not found:
        raise UsageError(f"filter file not found: {args.filter}")


#: Options that mean something only with another option's value: ``(dest, flag, needs
#: dest, its value)``. Given without it they were dropped without a word.
_DEPENDENT_OPTIONS = (
    ("output_padding", "--output-padding", "layer_kind", "conv_transpose"),
    ("leaky_slope", "--leaky-slope", "activation", "leaky_relu"),
)


def _check_options_apply(args: argparse.Namespace) -> None:
    """A usage error for an option typed where it does nothing (with ``--filter``: a
    model's or a session's layer may have the kind or activation it needs)."""
    given: set[str] = getattr(args, "given_options", set())
    for dest, flag, needs, value in _DEPENDENT_OPTIONS:
        if (
            dest in given
            and getattr(args, dest) is not None
            and getattr(args, needs, value) != value
        ):
            needed = "--" + needs.replace("_", "-")
            raise UsageError(
                f"{flag} applies only with {needed} {value} (got {needed} {getattr(args, needs)})"
            )


def check_decoder_option(args: argparse.Namespace) -> None:
    """``--decoder`` and method ``decoder`` go together: a usage error otherwise.

    ``--decoder FILE`` alone adds method ``decoder`` to ``--methods``; ``--methods all``
    without ``--decoder`` leaves it out (see :func:`skipped_methods`); an explicit
    ``--methods …,decoder`` without ``--decoder``, or a file that is not there, is refused.
    """
    named = getattr(args, "decoder_path", "")
    methods = getattr(args, "methods", ())
    if not named:
        if "decoder" in methods and not isinstance(methods, AllMethods):
            raise UsageError("--methods decoder needs --decoder FILE.npz (from fit-decoder)")
        return
    try:
        found = Path(named).is_file()
    except OSError as exc:
        raise path_failure("--decoder", named, exc) from None
    if not found:
        raise UsageError(f"decoder file not found: {named}")
    if "decoder" not in methods:
        args.methods = (*methods, "decoder")


def load_decoder(params: Any, geometry: Any):
    """The decoder of ``params`` checked against the layer (None without method decoder).

    A decoder fitted for another stride, channel count or size is a usage error naming
    ``--decoder`` (exit 2); an unreadable file a ``ValueError`` (exit 1).
    """
    from ..core.decoder import check_decoder
    from ..io import decoder_for

    decoder = decoder_for(params)
    if decoder is not None:
        try:
            check_decoder(decoder, geometry)
        except ValueError as exc:
            reason = str(exc).removeprefix("decoder: ")
            raise UsageError(f"--decoder {Path(params.decoder_path).name}: {reason}") from None
    return decoder


def make_params(args: argparse.Namespace, in_channels: int, source: str):
    from ..core import Params

    options = {name: getattr(args, name) for name in schema.defaults() if hasattr(args, name)}
    weights = filter_weights(args, in_channels)
    try:
        return Params(weights, image_source=source, **options)
    except ValueError as exc:
        if str(exc).startswith("channel "):  # the only field checked against the filter
            raise UsageError(f"--channel: {exc}") from None
        raise


def problem_geometry(params: Any, shape: tuple[int, ...]):
    """``params.geometry(shape)``; a padding the image cannot take is a usage error
    (``--padding``, ``--output-padding``: exit 2), other refusals stay ``ValueError``."""
    try:
        return params.geometry(shape)
    except ValueError as exc:
        for name in ("output_padding", "padding"):
            if str(exc).startswith(name):
                flag = "--" + name.replace("_", "-")
                raise UsageError(f"{flag}: {exc}") from None
        raise


def skipped_methods(
    methods: Sequence[str],
    weights: np.ndarray,
    decoder_path: str = "",
    activation: str = "none",
) -> dict[str, str]:
    """The methods of ``--methods all`` that do not apply to ``weights`` and
    ``activation``, with the reason (:func:`~deconv_gui.core.applicable.inapplicable_methods`,
    which the window's live update uses too).

    Richardson–Lucy's multiplicative steps need a filter without negative weights (a
    blur); an explicit ``--methods richardson_lucy`` fails with the solver's own error.
    The learned decoder needs a decoder file (``decoder_path``, ``--decoder``). With an
    activation, the priors (which solve with the conv alone) are refused (without one,
    :func:`methods_for_all` leaves out the activation's methods).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.cli.options import AllMethods
    >>> sobel = np.array([[-1.0, 0.0, 1.0]] * 3)[:, :, None, None]
    >>> skipped_methods(AllMethods(("pinv", "richardson_lucy")), sobel)["richardson_lucy"]
    'Richardson–Lucy needs a filter without negative weights (its minimum is -1)'
    >>> skipped_methods(("pinv", "richardson_lucy"), sobel)
    {}
    """
    if not isinstance(methods, AllMethods):
        return {}
    return inapplicable_methods(methods, weights, activation=activation, decoder_path=decoder_path)


#: The activation's methods: without one they are ``Aᵀy`` (twice) and ``pinv`` again, so
#: ``--methods all`` does not include them (quietly: nothing the user asked for is lost).
ACTIVATION_METHODS = ("deconvnet", "guided_backprop", "relu_preimage")


def methods_for_all(methods: Sequence[str], activation: str) -> tuple[str, ...]:
    """``methods`` as given, but ``--methods all`` without an activation leaves out
    :data:`ACTIVATION_METHODS`.

    Examples
    --------
    >>> from deconv_gui.cli.options import AllMethods
    >>> methods_for_all(AllMethods(("pinv", "deconvnet")), "none")
    ('pinv',)
    >>> methods_for_all(("pinv", "deconvnet"), "none")
    ('pinv', 'deconvnet')
    """
    if isinstance(methods, AllMethods) and activation == "none":
        return tuple(m for m in methods if m not in ACTIVATION_METHODS)
    return tuple(methods)


def methods_that_apply(methods: Sequence[str], params: Any) -> tuple[Any, dict[str, str]]:
    """``params`` with ``--methods all`` narrowed to what applies to its layer
    (:func:`methods_for_all`, then :func:`skipped_methods`), and what was left out, with
    the reason; ``methods`` is ``args.methods`` (an explicit list is kept as it is, for the
    pipeline to refuse what does not apply)."""
    kept = methods_for_all(methods, params.activation)
    skipped = skipped_methods(methods, params.weights, params.decoder_path, params.activation)
    chosen = tuple(m for m in params.methods if m in kept and m not in skipped)
    return params.replace(methods=chosen), skipped


def left_out_note(name: str, reason: str) -> str:
    """The note saying that ``--methods all`` left ``name`` out, and why."""
    return f"{PROG}: note: --methods all: {name} left out: {reason}"


def load_problem(args: argparse.Namespace, *, image_values: bool = True):
    """Load the single image of ``info``/``code``/``animate`` and build its Params and
    geometry.

    Values that overflow are refused here, in one line (a ``ValueError`` naming
    ``weights``, ``bias`` or ``image``), as ``run`` refuses them: a filter or bias no image
    can be computed with, and with ``image_values`` (what computes on the pixels) an image
    that overflows with the filter. Without it, weights of 1e308 gave ``info`` an "exact"
    rank of 0 and ``animate`` hundreds of overflow warnings.
    """
    from ..core.limits import check_filter_magnitudes, check_magnitudes

    (spec,), _ = resolve_images([args.image])
    check_filter(args)
    if getattr(args, "model", None) is not None:
        from .model_problem import load_model_problem

        loaded, params = load_model_problem(spec, args)
    else:
        loaded = load_spec(spec, args.work_size)
        params = make_params(args, loaded.pixels.shape[2], loaded.source)
    check_filter_magnitudes(params.weights, params.bias)
    if image_values:
        check_magnitudes(loaded.pixels, params.weights, params.bias)
    return loaded, params, problem_geometry(params, loaded.pixels.shape)
