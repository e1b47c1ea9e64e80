"""Export a :class:`~deconv_gui.core.Result`: each panel as ``.npy``, float32 ``.tif`` and ``.png``,
plus a ``params.json`` sidecar with every parameter, the image's SHA-256 and the metrics.

Writes are all-or-nothing: every target name is checked first, every file is written
to a temp file in the destination folder, and only when all of them succeeded are
they renamed into place with ``os.replace``; a file that was there before is first
renamed aside, so that a rename failing half-way puts every earlier one back.
"""

from __future__ import annotations

import datetime
import hashlib
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..core import METHODS, Result, complete_metrics, reconstruction_metrics, registry
from ..core.scores import ReconstructionScore
from ..view.display import filter_is_signed
from .files import write_into_folder
from .images import SAMPLES, LoadedImage, sha256_of
from .matrix import MATRIX_NAME, check_matrix_size, matrix_npz_bytes
from .render import encode_png, render_panel
from .session import dumps_json, params_to_dict

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_SCHEMA",
    "PANELS",
    "SIDECAR_NAME",
    "ExistingFilesError",
    "describe_image_source",
    "export_metadata",
    "export_result",
    "panel_arrays",
    "planned_files",
    "result_metrics",
]

#: Exported panels (file stems) in display order, from the registry: ``input`` is the
#: image as used, ``forward_output`` the forward panel, then the reconstructions and the
#: insight panels (``coverage`` ``Aᵀ1``, ``recoverable`` ``A⁺Ax``, ``nullspace`` ``x − A⁺Ax``).
PANELS: tuple[str, ...] = tuple(p.export_name for p in registry.PANELS)
EXPORT_FORMATS: tuple[str, ...] = ("npy", "tif", "png")
SIDECAR_NAME = "params.json"
EXPORT_SCHEMA = "deconv_gui.export"


class ExistingFilesError(ValueError):
    """Raised by :func:`export_result` when targets exist and ``overwrite`` is False.

    Attributes
    ----------
    paths : list of Path
        The existing files, so a GUI can list them and ask before overwriting.
    """

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        folder = self.paths[0].parent if self.paths else ""
        names = ", ".join(p.name for p in self.paths)
        super().__init__(f"{len(self.paths)} file(s) already exist in {folder}: {names}")


def panel_arrays(result: Result) -> dict[str, np.ndarray]:
    """The result's panels that are present, by name, in :data:`PANELS` order."""
    arrays = {}
    for spec in registry.PANELS:
        value = result.panel(spec.name)
        if value is not None:
            arrays[spec.export_name] = value
    return arrays


def _json_number(value: float) -> float | str:
    value = float(value)
    return value if np.isfinite(value) else str(value)  # "inf" (PSNR of equal images)


def _quality(score: ReconstructionScore) -> dict[str, Any]:
    """One ``quality`` item of ``params.json`` from a reconstruction's score."""
    out: dict[str, Any] = {
        "data_range": float(score.data_range),
        "psnr_db": None if score.psnr is None else _json_number(score.psnr),
        "ssim": None if score.ssim is None else float(score.ssim),
    }
    if score.notes:
        out["note"] = "; ".join(score.notes)
    return out


def result_metrics(result: Result) -> dict[str, Any]:
    """Shapes, the solver's report, timings and quality against the input, as JSON-ready data.

    Returns
    -------
    dict
        ``shapes`` (panel → list), ``equations``, ``unknowns``, ``solver`` (method,
        iterations, relative_residual, converged, message; None without a pinv),
        ``timings_s`` (stage → seconds) and ``quality`` (reconstruction → ``psnr_db``,
        ``ssim``, ``data_range`` and, when there is something to say, ``note``) for
        every reconstruction of :data:`~deconv_gui.core.METHODS` with the input's shape;
        ``preimage`` (what ``relu_preimage`` found: outputs that are equations or bounds,
        free directions; None without it).

    Notes
    -----
    The numbers are those of ``result.metrics`` (computed once, by
    :func:`~deconv_gui.core.reconstruction_metrics`, the same the window's table
    shows); SSIM that the pipeline skipped (live updates, large images) is filled in
    by :func:`~deconv_gui.core.complete_metrics`. ``data_range = max(x) − min(x)`` of
    the input ``x``; below 7×7 pixels SSIM uses a smaller window (said in ``note``).
    """
    arrays = panel_arrays(result)
    solver = result.solver
    report = None
    if solver is not None:
        report = {
            "method": solver.method,
            "iterations": int(solver.iterations),
            "relative_residual": _json_number(solver.relative_residual),
            "converged": bool(solver.converged),
            "message": solver.message,
        }
    scores = complete_metrics(result).metrics.reconstructions
    preimage = result.metrics.preimage
    quality = {}
    for name in METHODS:
        if not registry.panel(name).scored:  # deconvnet, guided backprop: not in image units
            continue
        array = arrays.get(registry.panel(name).export_name)
        if array is None or array.shape != result.image.shape:
            continue
        score = scores.get(name)
        if score is None:
            score = ReconstructionScore.from_quality(reconstruction_metrics(result.image, array))
        quality[name] = _quality(score)
    return {
        "shapes": {name: list(array.shape) for name, array in arrays.items()},
        "equations": result.geometry.n_equations,
        "unknowns": result.geometry.n_unknowns,
        "solver": report,
        "timings_s": {name: float(seconds) for name, seconds in result.timings.items()},
        "quality": quality,
        "preimage": None if preimage is None else preimage.to_dict(),
    }


def describe_image_source(
    result: Result, image_source: LoadedImage | str | None = None
) -> dict[str, Any]:
    """Where the image came from, with a SHA-256 that identifies it.

    For an existing file the hash is of the file's bytes (``sha256_of: "file"``); for a
    sample or an in-memory array it is of the pixel bytes as used (``"pixels"``: the
    C-ordered array in its dtype, after resizing). ``pixels_sha256`` is always given.
    """
    note = ""
    if isinstance(image_source, LoadedImage):
        note = image_source.note
        source = image_source.source
    else:
        source = result.params.image_source if image_source is None else str(image_source)
    pixels = np.ascontiguousarray(result.image)
    pixels_sha = hashlib.sha256(pixels.tobytes()).hexdigest()
    out: dict[str, Any] = {"source": source}
    if source in SAMPLES:
        out.update(kind="sample", sha256=pixels_sha, sha256_of="pixels")
    elif source and Path(source).is_file():
        out.update(kind="file", sha256=sha256_of(source), sha256_of="file")
    else:
        out.update(kind="array", sha256=pixels_sha, sha256_of="pixels")
    out.update(
        pixels_sha256=pixels_sha,
        shape=list(pixels.shape),
        dtype=str(pixels.dtype),
        note=note,
    )
    return out


def export_metadata(
    result: Result,
    image_source: LoadedImage | str | None = None,
    files: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``params.json`` document: params, image source, version, metrics, file list."""
    return {
        "schema": EXPORT_SCHEMA,
        "version": 1,
        "package": {"name": "deconv_gui", "version": __version__},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "params": params_to_dict(result.params),
        "geometry": {
            "input_shape": list(result.geometry.input_shape),
            "filter_shape": list(result.geometry.filter_shape),
            "output_shape": list(result.geometry.output_shape),
        },
        "image": describe_image_source(result, image_source),
        "metrics": result_metrics(result),
        "files": sorted(files),
        "extra": dict(extra or {}),
    }


def planned_files(
    result: Result,
    folder: str | Path,
    *,
    panels: Iterable[str] | None = None,
    formats: Iterable[str] = EXPORT_FORMATS,
    figures: Mapping[str, bytes] | None = None,
    matrix: bool = False,
) -> list[Path]:
    """Every path :func:`export_result` would write, so a GUI can ask before overwriting.

    Raises
    ------
    ValueError
        On an unknown panel or format, or a panel the result does not have.
    """
    folder = Path(folder)
    available = panel_arrays(result)
    chosen = list(available) if panels is None else list(panels)
    for name in chosen:
        if name not in PANELS:
            raise ValueError(f"panels must be among {', '.join(PANELS)}; unknown: {name!r}")
        if name not in available:
            raise ValueError(f"panel {name!r} was not computed in this result")
    formats = list(formats)
    for fmt in formats:
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"formats must be among {', '.join(EXPORT_FORMATS)}; got {fmt!r}")
    names = [f"{panel}.{fmt}" for panel in chosen for fmt in formats]
    for name in figures or {}:
        if Path(name).name != name or name in names or name in (SIDECAR_NAME, MATRIX_NAME):
            raise ValueError(f"figure names must be plain, unused file names, got {name!r}")
        names.append(name)
    if matrix:
        names.append(MATRIX_NAME)
    names.append(SIDECAR_NAME)
    return [folder / name for name in names]


def _tif_bytes(array: np.ndarray) -> bytes:
    import tifffile

    data = np.ascontiguousarray(array, dtype=np.float32)
    buffer = io.BytesIO()
    contig = "contig" if data.ndim == 3 and data.shape[2] > 1 else None
    tifffile.imwrite(buffer, data, photometric="minisblack", planarconfig=contig, metadata=None)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def _png_bytes(
    panel: str, array: np.ndarray, displayed: Mapping[str, Any] | None, result: Result
) -> bytes:
    if displayed is not None and panel in displayed:
        pixels = np.asarray(displayed[panel])
        if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
            raise ValueError(
                f"displayed[{panel!r}] must be a uint8 (H, W) or (H, W, 3|4) image, "
                f"got dtype {pixels.dtype} and shape {pixels.shape}"
            )
        return encode_png(pixels)
    kind = registry.panel_for_export_name(panel).display
    signed = filter_is_signed(result.params.weights)
    return encode_png(render_panel(array, kind, result.image, signed_filter=signed))


def export_result(
    result: Result,
    folder: str | Path,
    *,
    overwrite: bool = False,
    displayed: Mapping[str, Any] | None = None,
    image_source: LoadedImage | str | None = None,
    panels: Iterable[str] | None = None,
    formats: Iterable[str] = EXPORT_FORMATS,
    figures: Mapping[str, bytes] | None = None,
    extra: Mapping[str, Any] | None = None,
    make_folder: bool = False,
    matrix: bool = False,
) -> list[Path]:
    """Write the result's panels and a ``params.json`` sidecar into ``folder``, all or nothing.

    Parameters
    ----------
    result : Result
        What :func:`~deconv_gui.core.run_pipeline` returned.
    folder : str or Path
        A writable folder; it must exist unless ``make_folder``.
    overwrite : bool
        Replace existing files. Without it, any existing target is an error and
        nothing is written.
    displayed : mapping of str to uint8 array, optional
        Panel name → the pixels exactly as displayed (``(H, W, 3)`` uint8, levels and
        colormap applied). Panels not in it are rendered as the window first draws
        them, by :func:`~deconv_gui.io.render.render_panel`.
    image_source : LoadedImage or str, optional
        Where the image came from (default ``result.params.image_source``); a
        :class:`LoadedImage` also contributes its conversion note.
    panels : iterable of str, optional
        Subset of :data:`PANELS` (default: every panel the result has).
    formats : iterable of str
        Subset of :data:`EXPORT_FORMATS`.
    figures : mapping of str to bytes, optional
        Extra files (e.g. ``{"figure.png": ..., "figure.svg": ...}`` from pyqtgraph's
        exporters), written with the same checks.
    extra : mapping, optional
        JSON-serialisable data recorded under ``"extra"`` in ``params.json``
        (levels, colormaps...).
    make_folder : bool
        Create ``folder`` (and its missing parents) first; the folders created are
        removed again when the export fails.
    matrix : bool
        Also write the matrix ``A`` as ``A.npz`` (``scipy.sparse.load_npz``; see
        :mod:`deconv_gui.io.matrix`), refused with a ``ValueError`` when too large.

    Returns
    -------
    list of Path
        The files written, the sidecar last.

    Raises
    ------
    ValueError
        When ``folder`` is missing (without ``make_folder``), not a folder or not
        writable; when targets exist and ``overwrite`` is False (an
        :class:`ExistingFilesError` naming them); on a bad argument. In every case no
        target file was created or changed and no temp file is left.
    """
    if not isinstance(result, Result):
        raise ValueError(f"result must be a Result, got {type(result).__name__}")
    folder = Path(folder)
    targets = planned_files(
        result, folder, panels=panels, formats=formats, figures=figures, matrix=matrix
    )
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"export folder is not a folder: {folder}")
    if matrix:
        check_matrix_size(result.geometry)  # before any panel is rendered
    if not overwrite:
        existing = [path for path in targets if path.exists()]
        if existing:
            raise ExistingFilesError(existing)
    blobs = _render_all(result, targets, displayed, image_source, figures, extra)
    if not make_folder and not folder.is_dir():
        raise ValueError(f"export folder does not exist: {folder}")
    write_into_folder(folder, blobs, make_folder=make_folder)
    return targets


def _render_all(result, targets, displayed, image_source, figures, extra) -> dict[str, bytes]:
    arrays = panel_arrays(result)
    blobs: dict[str, bytes] = {}
    for path in targets[:-1]:
        name = path.name
        if figures and name in figures:
            blobs[name] = bytes(figures[name])
            continue
        if name == MATRIX_NAME:
            blobs[name] = matrix_npz_bytes(result.geometry, result.params.weights)
            continue
        panel, fmt = name.rsplit(".", 1)
        if fmt == "npy":
            blobs[name] = _npy_bytes(arrays[panel])
        elif fmt == "tif":
            blobs[name] = _tif_bytes(arrays[panel])
        else:
            blobs[name] = _png_bytes(panel, arrays[panel], displayed, result)
    document = export_metadata(result, image_source, files=[*blobs, SIDECAR_NAME], extra=extra)
    blobs[SIDECAR_NAME] = dumps_json(document).encode("utf-8")
    return blobs
