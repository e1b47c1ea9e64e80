"""A learned decoder on disk: ``.npz`` with its weights, bias and geometry, no pickle.

Written all or nothing (a temp file renamed into place); read with ``allow_pickle=False``
and every field checked (shapes, integer geometry, finite values) before use, since the
file may come from anyone.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core.applicable import inapplicable_methods
from ..core.decoder import Decoder
from .files import write_into_folder

__all__ = [
    "MAX_DECODER_BYTES",
    "applicable_run",
    "decoder_for",
    "read_decoder",
    "write_decoder",
]

#: A decoder file larger than this is refused before it is read.
MAX_DECODER_BYTES = 512 * 2**20

_PAIRS = ("stride", "padding", "output_padding")


def write_decoder(path: Path, decoder: Decoder, metadata: dict[str, Any] | None = None) -> None:
    """Save ``decoder`` (and a JSON ``metadata`` dict) to ``path`` atomically."""
    path = Path(path)
    buffer = io.BytesIO()
    arrays: dict[str, np.ndarray] = {"weights": decoder.weights, "bias": decoder.bias}
    for name in _PAIRS:
        arrays[name] = np.asarray(getattr(decoder, name), dtype=np.int64)
    arrays["metadata"] = np.asarray(json.dumps(metadata or {}, allow_nan=False))
    np.savez(buffer, allow_pickle=False, **arrays)
    write_into_folder(path.parent, {path.name: buffer.getvalue()})


def _read_fields(path: Path, where: str) -> dict[str, np.ndarray]:
    """The arrays of a decoder file, each refusal one line naming ``where`` once."""
    names = ("weights", "bias", *_PAIRS, "metadata")
    try:
        if path.stat().st_size > MAX_DECODER_BYTES:
            raise ValueError(f"{where}: larger than {MAX_DECODER_BYTES // 2**20} MiB")
        _check_members(path, where)
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in names if name not in data.files]
            if missing:
                raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
            return {name: data[name] for name in names}
    except OSError as exc:  # the reason alone: str(exc) repeats the path
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{where}: cannot be read ({reason})") from None
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ValueError(f"{where}: cannot be read ({exc})") from None
    except ValueError as exc:
        if str(exc).startswith(f"{where}: "):  # said here already: not prefixed twice
            raise
        raise ValueError(f"{where}: not a decoder file ({exc})") from None


def _check_members(path: Path, where: str) -> None:
    """Refuse members whose ``.npy`` header claims more data than the member holds.

    ``np.load`` would allocate what a header claims before finding the data missing: a
    few bytes could ask for gigabytes.
    """
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.file_size > MAX_DECODER_BYTES:
                raise ValueError(f"{where}: member {info.filename} is too large")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            claimed = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if claimed > info.file_size:
                raise ValueError(
                    f"{where}: member {info.filename} claims {claimed:,} bytes but holds "
                    f"{info.file_size:,} (truncated or forged)"
                )


def read_decoder(path: Path) -> tuple[Decoder, dict[str, Any]]:
    """Load a decoder written by :func:`write_decoder`.

    Raises
    ------
    ValueError
        ``"decoder PATH: REASON"`` for a missing, oversized, corrupt or inconsistent file.
    """
    path = Path(path)
    where = f"decoder {path.name}"
    fields = _read_fields(path, where)
    weights, bias = fields["weights"], fields["bias"]
    if weights.ndim != 4 or weights.dtype.kind != "f" or not np.isfinite(weights).all():
        raise ValueError(f"{where}: weights must be finite floats (K_h, K_w, C_x, C_y)")
    if bias.shape != (weights.shape[2],) or not np.isfinite(bias).all():
        raise ValueError(f"{where}: bias must be {weights.shape[2]} finite values")
    pairs = {}
    for name in _PAIRS:
        value = fields[name]
        if value.shape != (2,) or value.dtype.kind not in "iu" or (value < 0).any():
            raise ValueError(f"{where}: {name} must be two non-negative integers")
        pairs[name] = (int(value[0]), int(value[1]))
    if min(pairs["stride"]) < 1 or any(
        o >= s for o, s in zip(pairs["output_padding"], pairs["stride"], strict=True)
    ):
        raise ValueError(f"{where}: stride must be >= 1 and output_padding below it")
    try:
        metadata = json.loads(str(fields["metadata"]))
    except ValueError:
        raise ValueError(f"{where}: its metadata is not JSON") from None
    decoder = Decoder(weights.astype(np.float64), bias.astype(np.float64), **pairs)
    return decoder, metadata if isinstance(metadata, dict) else {}


#: The last decoders read, by (resolved path, size, modification time): the window's
#: live updates run the pipeline often and must not read the file each time.
_CACHE: dict[tuple[str, int, int], Decoder] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4


def decoder_for(params: Any) -> Decoder | None:
    """The decoder that ``params.decoder_path`` names, when ``params.methods`` needs one.

    What the window and the command line hand to
    :func:`~deconv_gui.core.run_pipeline`: None when method ``"decoder"`` is not asked
    for. Read again when the file changed (size or modification time).

    Raises
    ------
    ValueError
        ``"decoder …"`` in one line: no file named, or a missing, unreadable or
        inconsistent one (:func:`read_decoder`).
    """
    if "decoder" not in params.methods:
        return None
    if not params.decoder_path:
        raise ValueError(
            "decoder: method decoder needs a decoder file "
            "(File → Load decoder…, or --decoder FILE.npz)"
        )
    path = Path(params.decoder_path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise ValueError(
            f"decoder {path.name}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    decoder, _ = read_decoder(path)
    with _CACHE_LOCK:
        while len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = decoder
    return decoder


def applicable_run(params: Any, input_shape: tuple[int, ...]) -> tuple[Any, Decoder | None, dict]:
    """``params`` without the methods that do not apply to the layer, for a live update.

    What the window computes where the command line refuses: a decoder that is ticked
    with no file named, that cannot be read, or that no longer fits the layer (another
    stride, channel count or size after an edit) is left out, and so is anything else
    :func:`~deconv_gui.core.applicable.inapplicable_methods` names; the rest is computed.

    Returns
    -------
    tuple
        ``(params to run, the decoder or None, {method: reason} of those left out)``;
        ``params`` itself when everything applies.
    """
    left_out: dict[str, str] = {}
    try:
        decoder = decoder_for(params) if params.decoder_path else None  # none: see below
    except ValueError as exc:  # a file gone or unreadable: say so, go on
        decoder, left_out["decoder"] = None, str(exc).removeprefix("decoder: ")
    try:
        geometry = params.geometry(input_shape)
    except ValueError:  # the pipeline says what is wrong with the geometry itself
        geometry = None
    left_out.update(
        inapplicable_methods(
            [m for m in params.methods if m not in left_out],
            params.weights,
            activation=params.activation,
            decoder_path=params.decoder_path,
            decoder=decoder,
            geometry=geometry,
        )
    )
    if not left_out:
        return params, decoder, left_out
    kept = tuple(m for m in params.methods if m not in left_out)
    return params.replace(methods=kept), None if "decoder" in left_out else decoder, left_out
