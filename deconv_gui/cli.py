"""Headless commands: ``deconv-gui run``, ``info``, ``code`` and ``animate``.

``run`` computes the same pipeline as the window and writes the same files as its
export; ``info`` prints the shape arithmetic (equations, unknowns, rank, nullity);
``code`` prints a runnable NumPy or PyTorch snippet; ``animate`` writes a GIF of the
convolution or its transpose, one frame per step. Bad input gives a one-line
message on stderr and a non-zero exit code, never a traceback.

Exit codes (the same for every command): 0 success; 1 a failure with valid arguments
(an image or filter file that cannot be read or used, a problem too large, an output that
cannot be written; in a batch the other images are still processed); 2 bad command-line
input (unknown option, malformed or out-of-range value, missing file or sample name);
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import __version__
from .core import params as schema
from .core.registry import ALL_METHODS, METHOD_SPECS, PANELS, panel

__all__ = [
    "build_parser",
    "field_type",
    "main",
    "non_negative_pair",
    "parse_pair",
    "positive_pair",
    "shown_default",
]

PROG = "deconv-gui"
#: ``--methods`` names: ``forward`` (always computed, accepted for clarity), then every
#: method of the registry (:data:`~deconv_gui.core.registry.ALL_METHODS`).
METHOD_CHOICES = ("forward", *ALL_METHODS)
#: The exported panels (file stems) of each method, from the registry.
METHOD_PANELS = {m.name: tuple(panel(p).export_name for p in m.panels) for m in METHOD_SPECS}


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _one_line(exc: BaseException) -> str:
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
    if names == ["all"]:
        return ALL_METHODS
    unknown = [n for n in names if n not in METHOD_CHOICES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHOD_CHOICES)}"
        )
    return tuple(n for n in names if n != "forward")


def shown_default(value: Any) -> str:
    """A default as typed on the command line: ``2``, ``2,1``, ``transposed,pinv``."""
    if isinstance(value, tuple):
        if len(value) == 2 and value[0] == value[1] and not isinstance(value[0], str):
            return str(value[0])
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def _add_schema_options(parser: argparse.ArgumentParser, group: str) -> None:
    """One option per Params field of ``group``, with the schema's parser and default."""
    for name, rule, default in schema.cli_fields(group):
        if name == "methods":
            tips = "; ".join(f"{m.name}: {m.tip}" for m in METHOD_SPECS if not m.reconstruction)
            parser.add_argument(
                rule.cli,
                type=_methods,
                default=default,
                metavar=rule.metavar,
                help=f"comma-separated among {', '.join(METHOD_CHOICES)} or 'all' (default "
                f"{shown_default(default)}; the forward output is always computed; {tips})",
            )
            continue
        parser.add_argument(
            rule.cli,
            type=field_type(name),
            default=default,
            metavar=rule.metavar,
            dest=name,
            help=f"{rule.help} (default {shown_default(default)})",
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


def _out_folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder name, got an empty string")
    return Path(text)


def _add_problem_options(parser: argparse.ArgumentParser, *, batch: bool) -> None:
    from .core import PRESETS
    from .io import DEFAULT_WORK_SIZE, SAMPLES

    image_help = f"image file, sample ({', '.join(SAMPLES)})"
    if batch:
        image_help += " or folder; repeat or list several for a batch"
    parser.add_argument(
        "--image",
        required=True,
        action="extend" if batch else "store",
        nargs="+" if batch else None,
        metavar="PATH|SAMPLE",
        help=image_help,
    )
    parser.add_argument(
        "--filter",
        required=True,
        metavar="PRESET|weights.npy",
        help=f"a preset ({', '.join(PRESETS)}) or a .npy (f_h, f_w, C_in, C_out) array",
    )
    parser.add_argument("--filter-size", type=parse_pair, default=(3, 3), metavar="N|H,W")
    parser.add_argument("--out-channels", type=int, default=1, metavar="C_OUT")
    parser.add_argument("--seed", type=int, default=0, help="seed of random presets")
    _add_schema_options(parser, "problem")
    parser.add_argument(
        "--work-size",
        type=_work_size,
        default=AUTO_WORK_SIZE,
        metavar="N|none|auto",
        help="shrink so the long side is at most N pixels (never enlarged); 'none' keeps the "
        f"size; default {AUTO_WORK_SIZE}: a file keeps its size, a sample is shrunk to "
        f"{DEFAULT_WORK_SIZE} as in the window",
    )


def _add_solver_options(parser: argparse.ArgumentParser) -> None:
    _add_schema_options(parser, "solver")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the three subcommands."""
    parser = _Parser(prog=PROG, description="Deconvolution Explorer, headless commands.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="compute and export the panels (like Ctrl+E)")
    _add_problem_options(run, batch=True)
    _add_solver_options(run)
    _add_schema_options(run, "run")
    run.add_argument("--out", required=True, type=_out_folder, metavar="DIR", help="output folder")
    run.add_argument("--overwrite", action="store_true", help="replace existing files")
    run.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    run.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    info = commands.add_parser("info", help="print the shape arithmetic, rank and nullity")
    _add_problem_options(info, batch=False)
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument(
        "--save-matrix",
        type=Path,
        default=None,
        metavar="PATH.npz",
        help="save A (without bias) as a scipy.sparse matrix (scipy.sparse.load_npz reads it)",
    )
    info.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    code = commands.add_parser("code", help="print a runnable NumPy or PyTorch snippet")
    _add_problem_options(code, batch=False)
    _add_solver_options(code)
    code.add_argument("--lang", choices=("numpy", "api", "torch"), default="numpy")
    code.add_argument(
        "--npy",
        default=None,
        metavar="PATH",
        help="the .npy image the snippet loads (default: the --image if it is a .npy used "
        "as is, else input.npy: see --write-input)",
    )
    code.add_argument(
        "--write-input",
        type=_out_folder,
        default=None,
        metavar="PATH.npy",
        help="write the image as used (converted, resized) there and make the snippet load it, "
        "so that it runs as printed",
    )
    code.add_argument("--save", default=None, metavar="PATH.npz", help="make the snippet save")
    code.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    from .core import ANIMATION_MODES

    animate = commands.add_parser(
        "animate", help="write a GIF of the convolution or its transpose, step by step"
    )
    _add_problem_options(animate, batch=False)
    animate.add_argument(
        "--mode",
        choices=ANIMATION_MODES,
        default="forward",
        help="forward: the window over the padded input; scatter: the transpose as "
        "kernel × value added into the result; zero-insertion: the transpose as a stride-1 "
        "correlation of the spread y with the flipped kernel (default forward)",
    )
    animate.add_argument("--out", required=True, type=_out_folder, metavar="PATH.gif")
    animate.add_argument("--frame-ms", type=int, default=500, metavar="MS",
                         help="milliseconds per step (default 500)")  # fmt: skip
    animate.add_argument("--overwrite", action="store_true", help="replace an existing file")
    animate.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return parser


# ---------------------------------------------------------------- shared helpers


def resolve_images(specs: Sequence[str]) -> tuple[list[str], bool]:
    """Expand folders into their image files; return the list and whether it is a batch.

    Raises
    ------
    UsageError
        For a name that is neither a sample, a file nor a folder, or an empty folder.
    """
    from .io import FILE_EXTENSIONS, SAMPLES

    images: list[str] = []
    batch = len(specs) > 1
    for spec in specs:
        path = Path(spec)
        if spec in SAMPLES and not path.exists():
            images.append(spec)
        elif path.is_dir():
            batch = True
            found = sorted(
                str(p)
                for p in path.iterdir()
                if p.is_file()
                and p.suffix.lower() in FILE_EXTENSIONS
                and not p.name.startswith(".")
            )
            if not found:
                raise UsageError(f"no image files ({', '.join(FILE_EXTENSIONS)}) in folder {spec}")
            images.extend(found)
        elif path.is_file():
            images.append(spec)
        else:
            raise UsageError(
                f"image not found: {spec} (not a file, a folder or a sample: {', '.join(SAMPLES)})"
            )
    return images, batch


def _load(spec: str, work_size: int | str | None):
    from .io import DEFAULT_WORK_SIZE, SAMPLES, load_image, load_sample

    if spec in SAMPLES and not Path(spec).exists():
        return load_sample(spec, DEFAULT_WORK_SIZE if work_size == AUTO_WORK_SIZE else work_size)
    return load_image(spec, None if work_size == AUTO_WORK_SIZE else work_size)


def _weights(args: argparse.Namespace, in_channels: int) -> np.ndarray:
    from .core import PRESETS, make_filter

    name = args.filter
    if name in PRESETS:
        return make_filter(
            name,
            size=args.filter_size,
            in_channels=in_channels,
            out_channels=args.out_channels,
            seed=args.seed,
        )
    from .io.decode import read_npy

    _check_filter(args)
    try:
        return read_npy(Path(name))
    except ValueError as exc:
        raise ValueError(f"--filter: {exc}") from None


def _check_filter(args: argparse.Namespace) -> None:
    """A usage error unless ``--filter`` names a preset or an existing ``.npy`` file."""
    from .core import PRESETS

    path = Path(args.filter)
    if args.filter in PRESETS:
        return
    if path.suffix.lower() != ".npy":
        raise UsageError(
            f"--filter must be a preset ({', '.join(PRESETS)}) or a .npy file: {args.filter}"
        )
    if not path.is_file():
        raise UsageError(f"filter file not found: {args.filter}")


def _params(args: argparse.Namespace, in_channels: int, source: str):
    from .core import Params

    options = {name: getattr(args, name) for name in schema.defaults() if hasattr(args, name)}
    return Params(_weights(args, in_channels), image_source=source, **options)


def _problem(args: argparse.Namespace):
    """Load the single image of ``info``/``code`` and build its Params and geometry."""
    (spec,), _ = resolve_images([args.image])
    loaded = _load(spec, args.work_size)
    params = _params(args, loaded.pixels.shape[2], loaded.source)
    return loaded, params, params.geometry(loaded.pixels.shape)


# ---------------------------------------------------------------- commands


def _unique_folder(out: Path, stem: str, used: set[str]) -> Path:
    name, k = stem, 2
    while name in used:
        name, k = f"{stem}_{k}", k + 1
    used.add(name)
    return out / name


def _summary(source: str, folder: Path, result) -> str:
    """One line per image: where it went, the solve, and the PSNR of each reconstruction."""
    parts = [f"{source} → {folder}"]
    solver = result.solver
    if solver is not None:
        state = "converged" if solver.converged else "NOT converged"
        parts.append(
            f"pinv: {solver.iterations} iterations, relative residual "
            f"{float(solver.relative_residual):.2g}, {state}"
        )
    psnr = [
        f"{name} {score.psnr:.2f} dB"
        for name, score in result.metrics.reconstructions.items()
        if score.psnr is not None and np.isfinite(score.psnr)
    ]
    if psnr:
        parts.append("PSNR " + ", ".join(psnr))
    return " · ".join(parts)


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents; return the ones created, outermost first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    return missing


#: ``run`` warns (on stderr, through tqdm) before a problem estimated above this size.
LARGE_RUN_BYTES = 1024**3


def _run_one(spec: str, args: argparse.Namespace, folder: Path) -> tuple[dict[str, Any], str]:
    """Compute and export one image: its JSON record and its summary line."""
    from tqdm import tqdm

    from .core import complete_metrics, run_pipeline
    from .core.limits import estimate_pipeline_bytes
    from .io import export_result, result_metrics
    from .io.export import EXPORT_FORMATS as FORMATS
    from .io.export import SIDECAR_NAME, ExistingFilesError

    loaded = _load(spec, args.work_size)
    params = _params(args, loaded.pixels.shape[2], loaded.source)
    if not args.overwrite:  # refuse before computing; export_result checks again
        panels = [p.export_name for p in PANELS if p.method in (None, *params.methods)]
        names = [f"{p}.{e}" for p in panels for e in FORMATS]
        existing = [folder / n for n in [*names, SIDECAR_NAME] if (folder / n).exists()]
        if existing:
            raise ValueError(f"{ExistingFilesError(existing)} (use --overwrite to replace them)")
    need = estimate_pipeline_bytes(params.geometry(loaded.pixels.shape), params.methods)
    if need > LARGE_RUN_BYTES:  # allowed (run_pipeline refuses beyond its budget): say so now
        tqdm.write(
            f"{PROG}: warning: {spec}: {'×'.join(map(str, loaded.pixels.shape))} image: this "
            f"run needs about {need / 1024**3:.1f} GiB of memory (--work-size N makes it "
            "smaller)",
            file=sys.stderr,
        )
    # SSIM once, here: the export's sidecar and the JSON record then share the numbers
    result = complete_metrics(run_pipeline(loaded.pixels, params))
    created = _make_folders(folder)
    try:
        files = export_result(result, folder, overwrite=args.overwrite, image_source=loaded)
    except ExistingFilesError as exc:
        raise ValueError(f"{exc} (use --overwrite to replace them)") from None
    except BaseException:
        # the export writes all or nothing; remove the folders made for it too
        for made in reversed(created):
            try:
                made.rmdir()
            except OSError:
                break
        raise
    record = {
        "image": loaded.source,
        "folder": str(folder),
        "files": [p.name for p in files],
        "metrics": result_metrics(result),
    }
    return record, _summary(loaded.source, folder, result)


def _cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    images, batch = resolve_images(args.image)
    _check_filter(args)  # the same usage error as info and code, before any image
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out is not a folder: {out}")
    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    used: set[str] = set()
    folders = [_unique_folder(out, Path(s).stem, used) if batch else out for s in images]
    bar = tqdm(
        list(zip(images, folders, strict=True)),
        desc="images",
        unit="image",
        file=sys.stderr,
        disable=not batch,
    )
    for spec, folder in bar:
        bar.set_postfix_str(Path(spec).name, refresh=False)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                record, summary = _run_one(spec, args, folder)
        except (ValueError, UsageError) as exc:
            errors.append({"image": spec, "error": _one_line(exc)})
            tqdm.write(f"{PROG}: error: {spec}: {_one_line(exc)}", file=sys.stderr)
            continue
        except Exception as exc:  # report, keep going; --debug shows the traceback
            if args.debug:
                raise
            message = f"{type(exc).__name__}: {_one_line(exc)}"
            errors.append({"image": spec, "error": message})
            tqdm.write(f"{PROG}: error: {spec}: {message}", file=sys.stderr)
            continue
        # through tqdm.write, so that a warning never splits the progress bar's line
        for text in dict.fromkeys(_one_line(w.message) for w in caught):
            tqdm.write(f"{PROG}: warning: {spec}: {text}", file=sys.stderr)
        results.append(record)
        if not args.json:
            tqdm.write(summary, file=sys.stdout)
    bar.close()
    if args.json:
        document = {
            "command": "run",
            "version": __version__,
            "out": str(out),
            "results": results,
            "errors": errors,
        }
        print(json.dumps(document, allow_nan=False))
    if errors:
        if batch:
            names = ", ".join(e["image"] for e in errors)
            print(
                f"{PROG}: {len(errors)} of {len(images)} image(s) failed: {names}",
                file=sys.stderr,
            )
        return 1
    return 0


def rank_report(geometry, weights: np.ndarray) -> dict[str, Any]:
    """Equations, unknowns, rank and nullity: exact when small, else stated as bounds.

    Notes
    -----
    The numbers are :func:`~deconv_gui.core.rank_info`'s, the window's too: exact (the
    SVD of the dense matrix, ``numpy.linalg.matrix_rank``'s tolerance
    ``σ_max · max(m, n) · ε``) while :func:`~deconv_gui.core.exact_rank_feasible`,
    else only ``rank ≤ min(equations, unknowns)`` and ``nullity ≥ unknowns −
    equations`` are stated.
    """
    from .core import ConvOperator, rank_info

    info = rank_info(ConvOperator(geometry, weights, dtype=np.float64))
    report: dict[str, Any] = {
        "input_shape": list(geometry.input_shape),
        "filter_shape": list(geometry.filter_shape),
        "output_shape": list(geometry.output_shape),
        "stride": list(geometry.stride),
        "padding": list(geometry.padding),
        "padding_mode": geometry.padding_mode,
        "dilation": list(geometry.dilation),
        "equations": info.n_equations,
        "unknowns": info.n_unknowns,
    }
    if info.exact:
        report.update(exact=True, rank=info.rank, nullity=info.nullity)
    else:
        report.update(
            exact=False, rank_at_most=info.rank_upper, nullity_at_least=info.nullity_lower
        )
    return report


def _cmd_info(args: argparse.Namespace) -> int:
    from .core import DENSE_COLUMN_LIMIT, DENSE_ENTRY_LIMIT

    loaded, params, geometry = _problem(args)
    report = rank_report(geometry, params.weights)
    report["image"] = loaded.source
    if args.save_matrix is not None:
        report["matrix"] = str(_save_matrix(args.save_matrix, geometry, params.weights))
    if args.json:
        print(json.dumps(report))
        return 0

    def shape(values: Sequence[int]) -> str:
        return "×".join(map(str, values))

    eq, unk = report["equations"], report["unknowns"]
    lines = [
        f"image      {loaded.source}: {shape(geometry.input_shape)}",
        f"filter     {shape(geometry.filter_shape)} (f_h×f_w×C_in×C_out) · stride "
        f"{shape(geometry.stride)} · padding {shape(geometry.padding)} "
        f"({geometry.padding_mode}) · dilation "
        f"{shape(geometry.dilation)}",
        f"output     {shape(geometry.output_shape)}",
        f"equations  {eq:,} (H_out·W_out·C_out)",
        f"unknowns   {unk:,} (H·W·C_in)",
    ]
    if report["exact"]:
        lines += [
            f"rank       {report['rank']:,} (exact: numpy.linalg.matrix_rank of the dense "
            f"{eq:,}×{unk:,} matrix)",
            f"nullity    {report['nullity']:,} (exact: unknowns − rank)",
        ]
    else:
        lines += [
            f"rank       ≤ {report['rank_at_most']:,} (bound: rank ≤ equations; exact only "
            f"up to {DENSE_COLUMN_LIMIT:,} unknowns and {DENSE_ENTRY_LIMIT:,} matrix entries)",
            f"nullity    ≥ {report['nullity_at_least']:,} (bound: nullity ≥ unknowns − equations)",
        ]
    if args.save_matrix is not None:
        lines.append(f"matrix     {report['matrix']} (scipy.sparse.load_npz; rows y, columns x)")
    print("\n".join(lines))
    return 0


def _save_matrix(path: Path, geometry, weights: np.ndarray) -> Path:
    """Write ``A`` as a CSR ``.npz`` (``.npz`` added when missing) and return the path."""
    from scipy import sparse

    from .core import ConvOperator

    if path.suffix.lower() != ".npz":
        path = path.with_name(path.name + ".npz")
    matrix = ConvOperator(geometry, weights, dtype=np.float64).to_sparse()
    try:
        sparse.save_npz(path, matrix)
    except OSError as exc:
        raise ValueError(f"--save-matrix: cannot write {path}: {exc.strerror or exc}") from None
    return path


def _cmd_code(args: argparse.Namespace) -> int:
    from .io.snippets import make_snippet

    loaded, params, _ = _problem(args)
    npy = args.npy
    if args.write_input is not None:
        npy = str(_write_input(args.write_input, loaded.pixels))
    elif npy is None:
        npy = _npy_as_used(loaded.source, loaded.pixels)
    print(
        make_snippet(args.lang, params, loaded.pixels.shape, image_path=npy, save_path=args.save),
        end="",
    )
    if npy == PLACEHOLDER_NPY and not Path(npy).exists():
        print(
            f"{PROG}: note: the snippet loads {PLACEHOLDER_NPY}, which does not exist here; "
            f"add --write-input {PLACEHOLDER_NPY} to write the image as used (converted and "
            "resized), or take input.npy from 'run --out DIR'",
            file=sys.stderr,
        )
    return 0


#: The image file a snippet loads when the image is not a usable ``.npy`` file.
PLACEHOLDER_NPY = "input.npy"


def _npy_as_used(source: str, pixels: np.ndarray) -> str:
    """``source`` if it is a ``.npy`` holding exactly these float pixels, else the placeholder."""
    path = Path(source)
    if path.suffix.lower() != ".npy" or not path.is_file():
        return PLACEHOLDER_NPY
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return PLACEHOLDER_NPY
    shape = stored.shape if stored.ndim == 3 else (*stored.shape, 1)
    if stored.dtype.kind != "f" or tuple(shape) != pixels.shape:
        return PLACEHOLDER_NPY
    return str(path)


def _write_input(path: Path, pixels: np.ndarray) -> Path:
    """Save the image as used for the snippet (``.npy`` added when missing)."""
    if path.suffix.lower() != ".npy":
        path = path.with_name(path.name + ".npy")
    try:
        np.save(path, pixels, allow_pickle=False)
    except OSError as exc:
        raise ValueError(f"--write-input: cannot write {path}: {exc.strerror or exc}") from None
    return path


def _cmd_animate(args: argparse.Namespace) -> int:
    from .core import StepAnimation
    from .io.animation import TITLE_FRAMES, animation_frames, write_gif

    out: Path = args.out
    if out.suffix.lower() != ".gif":
        raise UsageError(f"--out must name a .gif file, got {out}")
    if out.exists() and not args.overwrite:
        raise ValueError(f"{out} already exists (use --overwrite to replace it)")
    if args.frame_ms < 1:
        raise UsageError(f"--frame-ms must be >= 1, got {args.frame_ms}")
    loaded, params, geometry = _problem(args)
    try:
        anim = StepAnimation(geometry, params.weights, loaded.pixels, args.mode)
        frames = list(animation_frames(anim))
    except ValueError as exc:
        raise ValueError(f"{exc}; try --work-size 16") from None
    write_gif(out, frames, step_ms=args.frame_ms)
    print(f"{out}: {len(anim)} steps + {TITLE_FRAMES} title frames ({args.mode})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a headless command; ``argv`` includes the subcommand (``run``, ``info``, …).

    Returns
    -------
    int
        The exit code (see the module docstring).
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        args = build_parser().parse_args(args_list)
        command = {"run": _cmd_run, "info": _cmd_info, "code": _cmd_code, "animate": _cmd_animate}[
            args.command
        ]
        return command(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:  # valid arguments, but the data cannot be used
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"{PROG}: error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
