"""``deconv-gui layers``: the conv layers of a model file (ONNX, PyTorch, safetensors, Keras)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .model_problem import MODEL_FILE
from .options import UsageError

__all__ = ["add_parser", "command", "layer_table"]


def add_parser(commands: Any) -> None:
    """Add ``layers`` and its options to the subcommands ``commands``."""
    layers = commands.add_parser(
        "layers",
        help=f"list the conv layers of {MODEL_FILE}",
        description=(
            "List every 2-D conv and transposed-conv layer of a model file in graph order, "
            "with its geometry; a field the file does not store is shown as '?' (null in "
            "JSON). Pickles are never executed: a .pt file that needs code is refused."
        ),
    )
    layers.add_argument("model", metavar="MODEL", help="the model file")
    layers.add_argument("--json", action="store_true", help="print one JSON object")
    layers.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def layer_table(model) -> list[str]:
    """The lines ``deconv-gui layers`` prints: one header, one line per layer, the notes."""
    from ..io.models.table import LAYER_COLUMNS, layer_notes, layer_row

    rows = [LAYER_COLUMNS, *(layer_row(layer) for layer in model.layers)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(LAYER_COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return lines + [f"note: {n}" for n in layer_notes(model)]


def command(args: argparse.Namespace) -> int:
    from ..io.models import read_model

    path = Path(args.model)
    if not path.is_file():
        raise UsageError(f"model file not found: {args.model}")
    model = read_model(path)
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(path),
                    "format": model.format,
                    "input_shape": None if model.input_shape is None else list(model.input_shape),
                    "layers": [layer.to_json() for layer in model.layers],
                    "notes": list(model.notes),
                }
            )
        )
        return 0
    print(f"{path} ({model.format}, {len(model.layers)} conv layers)")
    for line in layer_table(model):
        print(line)
    return 0
