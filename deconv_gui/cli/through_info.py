"""``info --model M --layer L --through``: the prefix up to the layer, layer by layer.

For the image run through the model's chain up to ``L``: each layer's output shape,
units, the units its ReLU passes at the image (a block's row: the units its branches'
ReLUs pass, each once), its theoretical receptive field, and
the bound of the rank (and nullity) of the prefix up to it; the prefix's exact rank
when its dense ``J`` is small (:mod:`deconv_gui.core.network.bounds`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .options import UsageError

__all__ = ["through_info"]


def _load(args: argparse.Namespace):
    """The image (LoadedImage) and the prefix's linearization at it."""
    from .problem import check_filter, resolve_images
    from .through import check_activation, load_prefix

    if args.model is None:
        raise UsageError("--through needs --model MODEL --layer NAME")
    (spec,), _ = resolve_images([args.image])
    check_filter(args)
    check_activation(args)
    loaded, _model, network, x0 = load_prefix(spec, args)
    return loaded, network.linearize(x0)


def through_info(args: argparse.Namespace) -> int:
    """Print the prefix's layers and bounds (``--json``: one object)."""
    from ..core.network import exact_rank, linearity_words, prefix_bounds

    loaded, lin = _load(args)
    bounds = prefix_bounds(lin)
    rank = exact_rank(lin)
    unknowns = int(lin.x0.size)
    report: dict[str, Any] = {
        "image": loaded.source,
        "model": args.model,
        "layer": args.layer,
        "input_shape": list(lin.input_shape),
        "unknowns": unknowns,
        "equations": int(lin.output.size),
        "linearisation": linearity_words(lin.network.layers),
        "layers": [
            {
                "name": b.name,
                "kind": b.kind,
                "output_shape": list(b.output_shape),
                "units": b.units,
                "active": b.active,
                "receptive_field": list(b.receptive_field),
                "rank_at_most": b.rank_at_most,
                "nullity_at_least": b.nullity_at_least,
            }
            for b in bounds
        ],
    }
    if rank is not None:
        report.update(exact=True, rank=rank, nullity=unknowns - rank)
    else:
        report.update(exact=False)
    if args.json:
        print(json.dumps(report))
        return 0
    print("\n".join(_lines(report)))
    return 0


def _lines(report: dict[str, Any]) -> list[str]:
    def shape(values) -> str:
        return "×".join(map(str, values))

    # the whole name: ONNX names such as /features/features.0/Conv tell layers apart only
    # at their end, so a cut name would hide which layer a row is
    width = max([24, *(len(b["name"]) for b in report["layers"])])
    lines = [
        f"image      {report['image']} → {shape(report['input_shape'])} "
        f"({report['unknowns']:,} unknowns)",
        f"prefix     up to {report['layer']}: J at the image ({report['linearisation']}), "
        f"{report['equations']:,} equations",
        f"{'layer':<{width}} {'kind':<14} {'output':<12} {'units':>9} {'passed':>9} "
        f"{'field':>7} {'rank ≤':>9} {'nullity ≥':>10}",
    ]
    for b in report["layers"]:
        active = "" if b["active"] is None else f"{b['active']:,}"
        lines.append(
            f"{b['name']:<{width}} {b['kind']:<14} {shape(b['output_shape']):<12} "
            f"{b['units']:>9,} {active:>9} {shape(b['receptive_field']):>7} "
            f"{b['rank_at_most']:>9,} {b['nullity_at_least']:>10,}"
        )
    if report["exact"]:
        lines.append(
            f"rank       {report['rank']:,} (exact: numpy.linalg.matrix_rank of the dense J), "
            f"nullity {report['nullity']:,}"
        )
    else:
        last = report["layers"][-1]
        lines.append(
            f"rank       ≤ {last['rank_at_most']:,}, nullity ≥ {last['nullity_at_least']:,} "
            "(bounds: each layer keeps at most its outputs, each ReLU the units it passes)"
        )
    return lines
