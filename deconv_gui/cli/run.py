"""``deconv-gui run``: compute the pipeline and export its panels, for one image or a batch."""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..core.registry import PANELS
from .cluster import Outcome, add_cluster_options, input_error, map_in_order
from .network_problem import add_network_option, load_network_problem, read_network
from .options import (
    PROG,
    UsageError,
    add_problem_options,
    add_schema_options,
    add_solver_options,
    check_out_folder,
    is_terminal,
    one_line,
    out_folder,
    path_failure,
)
from .problem import (
    check_decoder_option,
    check_filter,
    check_shared_values,
    left_out_note,
    load_decoder,
    load_spec,
    make_params,
    methods_that_apply,
    problem_geometry,
    resolve_images,
)
from .through import add_through_options, run_through

if TYPE_CHECKING:  # the core and io are imported when a run starts, not at start-up
    from ..core import Params, Result
    from ..io.images import LoadedImage

__all__ = ["LARGE_RUN_BYTES", "add_parser", "command"]


def add_parser(commands: Any) -> None:
    """Add ``run`` and its options to the subcommands ``commands``."""
    run = commands.add_parser("run", help="compute and export the panels (like Ctrl+E)")
    add_problem_options(run, batch=True, model=True)
    add_solver_options(run)
    add_schema_options(run, "run")
    add_through_options(run)
    add_network_option(run)
    run.add_argument("--out", required=True, type=out_folder, metavar="DIR", help="output folder")
    run.add_argument("--overwrite", action="store_true", help="replace existing files")
    run.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    add_cluster_options(run)
    run.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


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
        timed = re.search(r"stopped at the time limit \([^)]*\)", solver.message)
        if timed and not solver.converged:  # --time-limit stopped it, not --max-iter
            state += f", {timed.group(0)}"
        # why it stopped short (the estimated κ(A), Tikhonov), as the report says it
        marks = [solver.message.find(m) for m in ("A is ill-conditioned", "estimated κ(A)")]
        why = solver.message[min(i for i in marks if i >= 0) :] if max(marks) >= 0 else ""
        parts.append(
            f"pinv: {solver.iterations} iterations, relative residual "
            f"{float(solver.relative_residual):.2g}, {state}"
            + (f" ({why})" if why and not solver.converged else "")
        )
    preimage = result.metrics.preimage
    if preimage is not None and preimage.activation == "relu":
        parts.append(f"relu_preimage: {preimage.summary()}")
    psnr = [
        f"{name} {score.psnr:.2f} dB"
        for name, score in result.metrics.reconstructions.items()
        if score.psnr is not None and np.isfinite(score.psnr)
    ]
    if psnr:
        parts.append("PSNR " + ", ".join(psnr))
    return " · ".join(parts)


_NOTES_SHOWN: set[str] = set()


def _say_once(text: str) -> None:
    """Say ``text`` on stderr once per run (a batch repeats notes for every image)."""
    from tqdm import tqdm

    if text not in _NOTES_SHOWN:
        _NOTES_SHOWN.add(text)
        tqdm.write(text, file=sys.stderr)


#: ``run`` warns (on stderr, through tqdm) before a problem estimated above this size.
LARGE_RUN_BYTES = 1024**3


def _run_one(
    spec: str, args: argparse.Namespace, folder: Path, notes: list[str]
) -> tuple[dict[str, Any], str]:
    """Compute and export one image: its JSON record and its summary line.

    What it has to say besides (notes, warnings) goes into ``notes``, for the caller to
    print: on a cluster this runs in another process.
    """
    from ..core import complete_metrics, run_pipeline
    from ..core.limits import estimate_pipeline_bytes
    from ..io import result_metrics

    if getattr(args, "through", False):  # the network up to the layer, not the layer alone
        return run_through(spec, args, folder, notes)
    loaded, params = _load_problem(spec, args)
    params, skipped = _applicable(params, args.methods, notes)
    if not args.overwrite:  # refuse before computing; export_result checks again
        _refuse_existing(folder, params.methods)
    geometry = problem_geometry(params, loaded.pixels.shape)
    decoder = load_decoder(params, geometry)
    need = estimate_pipeline_bytes(geometry, params.methods)
    if need > LARGE_RUN_BYTES:  # allowed (run_pipeline refuses beyond its budget): say so now
        notes.append(
            f"{PROG}: warning: {spec}: {'×'.join(map(str, loaded.pixels.shape))} image: this "
            f"run needs about {need / 1024**3:.1f} GiB of memory (--work-size N makes it "
            "smaller)"
        )
    # SSIM once, here: the export's sidecar and the JSON record then share the numbers
    result = complete_metrics(run_pipeline(loaded.pixels, params, decoder=decoder))
    files = _export(result, folder, args.overwrite, loaded)
    record = {
        "image": loaded.source,
        "folder": str(folder),
        "files": [p.name for p in files],
        "skipped": skipped,
        "metrics": result_metrics(result),
    }
    return record, _summary(loaded.source, folder, result)


def _load_problem(spec: str, args: argparse.Namespace) -> tuple[LoadedImage, Params]:
    """The image and the layer's :class:`Params`: from ``--model``, from ``--network``'s
    session, or from the filter and geometry options."""
    if args.model is not None:
        from .model_problem import load_model_problem

        return load_model_problem(spec, args)
    if args.network is not None:  # the layer under study of a network built by hand
        return load_network_problem(spec, args)
    loaded = load_spec(spec, args.work_size)
    return loaded, make_params(args, loaded.pixels.shape[2], loaded.source)


def _applicable(
    params: Params, methods: Sequence[str], notes: list[str]
) -> tuple[Params, dict[str, str]]:
    """``params`` without the methods of ``--methods all`` that do not apply to this layer,
    and those left out with the reason (each noted in ``notes``)."""
    params, skipped = methods_that_apply(methods, params)
    notes += [left_out_note(name, reason) for name, reason in skipped.items()]
    return params, skipped


def _refuse_existing(folder: Path, methods: tuple[str, ...]) -> None:
    """Refuse (without ``--overwrite``) a folder holding a file the export would replace."""
    from ..io.export import EXPORT_FORMATS as FORMATS
    from ..io.export import SIDECAR_NAME, ExistingFilesError

    panels = [p.export_name for p in PANELS if p.method in (None, *methods)]
    names = [f"{p}.{e}" for p in panels for e in FORMATS]
    existing = [folder / n for n in [*names, SIDECAR_NAME] if (folder / n).exists()]
    if existing:
        raise ValueError(f"{ExistingFilesError(existing)} (use --overwrite to replace them)")


def _export(result: Result, folder: Path, overwrite: bool, loaded: LoadedImage) -> list[Path]:
    """Export ``result`` into ``folder`` (created with its missing parents): all or nothing,
    the folders made for it removed again when it fails."""
    from ..io import export_result
    from ..io.export import ExistingFilesError

    try:
        return export_result(
            result, folder, overwrite=overwrite, image_source=loaded, make_folder=True
        )
    except ExistingFilesError as exc:
        raise ValueError(f"{exc} (use --overwrite to replace them)") from None


def _job(item: tuple[str, argparse.Namespace, Path]) -> tuple[Any, str, list[str], Any, bool]:
    """One image, its failure caught: ``(record, summary, notes, error, usage_error)``.

    A module-level function of plain values, so that a dask worker can run it.
    """
    spec, args, folder = item
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record, summary = _run_one(spec, args, folder, notes)
    except (ValueError, UsageError) as exc:
        return None, "", notes, one_line(exc), isinstance(exc, UsageError)
    except Exception as exc:  # report, keep going; --debug shows the traceback
        if args.debug:
            raise
        return None, "", notes, f"{type(exc).__name__}: {one_line(exc)}", False
    for text in dict.fromkeys(one_line(w.message) for w in caught):
        notes.append(f"{PROG}: warning: {input_error(spec, text)}")
    return record, summary, notes, None, False


def _checked_options(args: argparse.Namespace) -> Path:
    """``--out``, once the options that need no image are valid (usage errors first)."""
    if args.through and args.model is None and args.network is None:
        raise UsageError("--through needs --model MODEL --layer NAME or --network SESSION")
    check_filter(args)  # the same usage error as info and code, before any image
    check_decoder_option(args)
    out: Path = args.out
    try:
        not_folder = out.exists() and not out.is_dir()
    except OSError as exc:
        raise path_failure("--out", out, exc) from None
    if not_folder:
        raise UsageError(f"--out is not a folder: {out}")
    if args.scheduler is None:  # (a cluster's workers write where they see the folder)
        check_out_folder(out)
    _read_once(args)
    return out


def _read_once(args: argparse.Namespace) -> None:
    """Read the run's shared inputs before any image: ``--network``'s session,
    ``--decoder``'s file, ``--filter``'s ``.npy`` and ``--model``'s layer. One that cannot
    be used is one line naming that file (exit 1), not the same failure for every image
    under the image's name."""
    from ..io.decoder_file import read_decoder

    if args.network is not None:
        read_network(args.network)
    if getattr(args, "decoder_path", ""):
        read_decoder(Path(args.decoder_path))
    check_shared_values(args)  # the same for every image
    if args.model is not None:
        from .model_problem import read_layer_once

        read_layer_once(args)


def _report(
    outcomes: Iterable[Outcome], images: list[str], *, summaries: bool
) -> tuple[list[dict[str, Any]], list[dict[str, str]], bool]:
    """Say each image's notes, error or summary line as its outcome comes (in order);
    return the records, the errors and whether an image refused a command-line value."""
    from tqdm import tqdm

    results: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    usage = False  # a single image refused a command-line value: a usage error
    for (_, done, crashed), spec in zip(outcomes, images, strict=True):
        if crashed is not None:  # an error the job itself did not expect
            errors.append({"image": spec, "error": crashed})
            tqdm.write(f"{PROG}: error: {input_error(spec, crashed)}", file=sys.stderr)
            continue
        record, summary, notes, error, refused = done
        for text in notes:
            if ": note: " in text:
                _say_once(text)
            else:
                tqdm.write(text, file=sys.stderr)
        if error is not None:
            usage = usage or refused
            errors.append({"image": spec, "error": error})
            tqdm.write(f"{PROG}: error: {input_error(spec, error)}", file=sys.stderr)
            continue
        results.append(record)
        if summaries:
            tqdm.write(summary, file=sys.stdout)
    return results, errors, usage


def command(args: argparse.Namespace) -> int:
    """Run every image (a folder of its own each in a batch) and report: 0 when all were
    exported, 2 for a single image refusing a command-line value, 1 for any failure."""
    from tqdm import tqdm

    images, batch = resolve_images(args.image)
    _NOTES_SHOWN.clear()
    out = _checked_options(args)
    used: set[str] = set()
    folders = [_unique_folder(out, Path(s).stem, used) if batch else out for s in images]
    bar = tqdm(
        total=len(images),
        desc="images",
        unit="image",
        file=sys.stderr,
        # on a terminal only: in a log, its redrawn lines would run into the error lines
        disable=not (batch and is_terminal(sys.stderr)),
    )
    jobs = [(spec, args, folder) for spec, folder in zip(images, folders, strict=True)]
    outcomes = map_in_order(
        _job,
        jobs,
        workers=args.workers,
        scheduler=args.scheduler,
        on_done=lambda _outcome: bar.update(1),
        reraise=args.debug,
    )
    results, errors, usage = _report(outcomes, images, summaries=not args.json)
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
        return 2 if usage and not batch else 1
    return 0
