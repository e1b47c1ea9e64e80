"""The command line's shared vocabulary: the parser, value types and option groups.

Every command reads its problem options (image, filter, geometry) and, where it solves,
the solver options from the one :class:`~deconv_gui.core.Params` schema, so that a flag,
its parser, its check and its default are written once.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from ..core import params as schema
from ..core.filters import MAX_PRESET_OUT_CHANNELS, MAX_PRESET_SIZE
from ..core.network.pipeline import PREFIX_METHODS
from ..core.registry import ALL_METHODS, METHOD_SPECS, panel
from .outputs import (
    check_out_folder,
    check_output,
    path_failure,
    write_made_folder,
    write_output,
)

__all__ = [
    "AUTO_WORK_SIZE",
    "METHOD_CHOICES",
    "METHOD_PANELS",
    "PROG",
    "UsageError",
    "add_problem_options",
    "add_schema_options",
    "add_solver_options",
    "check_out_folder",
    "check_output",
    "field_type",
    "is_terminal",
    "non_negative_pair",
    "one_line",
    "out_folder",
    "parse_pair",
    "path_failure",
    "positive_pair",
    "shown_default",
    "write_made_folder",
    "write_output",
]


PROG = "deconv-gui"


#: ``--methods`` names: ``forward`` (always computed, accepted for clarity), then every
#: method of the registry (:data:`~deconv_gui.core.registry.ALL_METHODS`).
METHOD_CHOICES = ("forward", *ALL_METHODS)


#: The exported panels (file stems) of each method, from the registry.
METHOD_PANELS = {m.name: tuple(panel(p).export_name for p in m.panels) for m in METHOD_SPECS}


class AllMethods(tuple):
    """``--methods all``: every method, less those that do not apply to the filter.

    A tuple like any ``--methods`` value; ``run`` drops (with a note) the methods whose
    conditions the filter fails (see :func:`deconv_gui.cli.problem.skipped_methods`),
    where a method named explicitly fails with its error.
    """

    __slots__ = ()


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` is a terminal (a progress bar is drawn there, not in a log)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def one_line(exc: BaseException | Warning | str) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def parse_pair(text: str, minimum: int | None = None, name: str = "value") -> tuple[int, int]:
    """Parse ``"2"`` as ``(2, 2)`` and ``"2,1"``, ``"2x1"`` or ``"2×1"`` as ``(2, 1)``.

    Parameters
    ----------
    text : str
        The option's text.
    minimum : int, optional
        The smallest value allowed for each number.
    name : str
        What the numbers are, for the message (e.g. ``"stride"``).

    Raises
    ------
    argparse.ArgumentTypeError
        If the text is not one integer or two separated by ``,``, ``x`` or ``×``, or a
        number is below ``minimum``.
    """
    parts = text.replace("×", ",").replace("x", ",").split(",")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or H,W integers, got {text!r}") from None
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"expected N or H,W integers, got {text!r}")
    if minimum is not None and min(values) < minimum:
        raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {text!r}")
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


def positive_pair(text: str) -> tuple[int, int]:
    """:func:`parse_pair` for stride and dilation: every number >= 1."""
    return parse_pair(text, 1, "each number")


def non_negative_pair(text: str) -> tuple[int, int]:
    """:func:`parse_pair` for padding: every number >= 0."""
    return parse_pair(text, 0, "each number")


def field_type(name: str):
    """The argparse ``type`` of Params field ``name``: the schema's parser and checks."""

    def parse(text: str) -> Any:
        try:
            return schema.parse_text(name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = name
    return parse


def _methods(text: str) -> tuple[str, ...]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:  # an empty list (a shell variable left unset, say) asked for nothing
        raise argparse.ArgumentTypeError(
            f"expected a list of methods, 'all', or 'forward' for the forward output alone, "
            f"got {text!r}"
        )
    if names == ["all"]:
        return AllMethods(ALL_METHODS)
    # a network prefix's methods (run --through) are accepted here, checked where used
    choices = tuple(dict.fromkeys((*METHOD_CHOICES, *PREFIX_METHODS)))
    unknown = [n for n in names if n not in choices]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(choices)}"
        )
    return tuple(n for n in names if n != "forward")


def shown_default(value: Any) -> str:
    """A default as typed on the command line: ``2``, ``2,1``, ``transposed,pinv``."""
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == value[1] and not isinstance(value[0], str):
            return str(value[0])
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


class _Given(argparse.Action):
    """Store the value and record that the option was typed (``args.given_options``): a
    model layer's geometry yields only to options the user actually gave."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given_options = {*getattr(namespace, "given_options", set()), self.dest}


def add_schema_options(parser: argparse.ArgumentParser, group: str) -> None:
    """One option per Params field of ``group``, with the schema's parser and default."""
    for name, rule, default in schema.cli_fields(group):
        assert rule.cli is not None  # cli_fields lists only the fields with a flag
        if name == "methods":
            # the tips are sentences: their full stops would end the list mid-way
            tips = "; ".join(
                f"{m.name}: {m.tip.rstrip('.')}" for m in METHOD_SPECS if not m.reconstruction
            )
            parser.add_argument(
                rule.cli,
                type=_methods,
                default=default,
                metavar=rule.metavar,
                help=f"comma-separated among {', '.join(METHOD_CHOICES)} or 'all' (default "
                f"{shown_default(default)}; the forward output is always computed; {tips})",
            )
            continue
        if rule.kind == "bool":  # a switch: --flip / --no-flip
            parser.add_argument(
                rule.cli,
                action=argparse.BooleanOptionalAction,
                default=default,
                dest=name,
                help=f"{rule.help} (default {'on' if default else 'off'})",
            )
            continue
        parser.add_argument(
            rule.cli,
            type=field_type(name),
            default=default,
            action=_Given,
            metavar=rule.metavar,
            dest=name,
            # an empty default (no --decoder file) has nothing to show
            help=rule.help if default == "" else f"{rule.help} (default {shown_default(default)})",
        )


#: ``--work-size`` default: a file keeps its size, a sample is shrunk to the window's 256.
AUTO_WORK_SIZE = "auto"


def _work_size(text: str) -> int | str | None:
    if text.lower() in ("none", "full", "original"):
        return None
    if text.lower() == AUTO_WORK_SIZE:
        return AUTO_WORK_SIZE
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a pixel count, 'none' or 'auto', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def out_folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string")
    return Path(text)


def _preset_size(text: str) -> tuple[int, int]:
    size = parse_pair(text, 1, "each number")
    if max(size) > MAX_PRESET_SIZE:
        raise argparse.ArgumentTypeError(
            f"each number must be at most {MAX_PRESET_SIZE} (the largest preset), got {text!r}"
        )
    return size


def _count(what: str, minimum: int, maximum: int | None):
    """An argparse type: an int from ``minimum`` to ``maximum`` (None: no upper bound)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise argparse.ArgumentTypeError(f"{what} must be {bound}, got {value}")
        return value

    parse.__name__ = "int"
    return parse


def add_problem_options(
    parser: argparse.ArgumentParser,
    *,
    batch: bool,
    image_flag: str = "--image",
    model: bool = False,
) -> None:
    """Add the options that make a problem: the image (several with ``batch``, under
    ``image_flag``), the filter (a preset, a ``.npy``, or with ``model`` a model file's
    layer), the layer's :class:`~deconv_gui.core.Params` fields and ``--work-size``."""
    _add_image_option(parser, batch=batch, image_flag=image_flag)
    _add_filter_options(parser, model=model)
    add_schema_options(parser, "problem")
    _add_work_size_option(parser)


def _add_image_option(parser: argparse.ArgumentParser, *, batch: bool, image_flag: str) -> None:
    from ..io import SAMPLES

    image_help = f"image file, sample ({', '.join(SAMPLES)})"
    if batch:
        image_help += " or folder; repeat or list several for a batch"
    parser.add_argument(
        image_flag,
        dest="image",
        required=True,
        action="extend" if batch else "store",
        nargs="+" if batch else None,
        metavar="PATH|SAMPLE",
        help=image_help,
    )


def _add_filter_options(parser: argparse.ArgumentParser, *, model: bool) -> None:
    """``--filter`` (or ``--model``'s options) and what makes a preset: its size, output
    channels and seed."""
    from ..core import PRESETS

    parser.add_argument(
        "--filter",
        required=not model,
        default=None,
        metavar="PRESET|weights.npy",
        help=f"a preset ({', '.join(PRESETS)}) or a .npy (f_h, f_w, C_in, C_out) array"
        + (" (or --model and --layer)" if model else ""),
    )
    if model:
        from .model_problem import add_model_options

        add_model_options(parser)
    parser.add_argument(
        "--filter-size",
        type=_preset_size,
        default=(3, 3),
        metavar="N|H,W",
        help=f"kernel size of a preset, 1 to {MAX_PRESET_SIZE} on each axis (default 3)",
    )
    parser.add_argument(
        "--out-channels",
        type=_count("output channels", 1, MAX_PRESET_OUT_CHANNELS),
        default=None,
        metavar="C_OUT",
        help=f"output channels of a preset, 1 to {MAX_PRESET_OUT_CHANNELS} (default: --groups, "
        "so 1, or depthwise with groups)",
    )
    parser.add_argument(
        "--seed",
        type=_count("the seed", 0, None),
        default=0,
        help="seed of random presets (an int >= 0)",
    )


def _add_work_size_option(parser: argparse.ArgumentParser) -> None:
    from ..io import DEFAULT_WORK_SIZE

    parser.add_argument(
        "--work-size",
        type=_work_size,
        default=AUTO_WORK_SIZE,
        metavar="N|none|auto",
        help="shrink so the long side is at most N pixels (never enlarged); 'none' keeps the "
        f"size; default {AUTO_WORK_SIZE}: a file keeps its size, a sample is shrunk to "
        f"{DEFAULT_WORK_SIZE} as in the window",
    )


def add_solver_options(parser: argparse.ArgumentParser) -> None:
    add_schema_options(parser, "solver")
