"""Deep models' graphs: seconds to build the network up to the head, list it, bound it.

Run: ``PYTHONPATH=. python benchmarks/bench_network_graph.py [--dense 24 48 96]
[--blocks 16 50] [--plain 60 200] [--size 16]``

Each model is exported by torch to ONNX (TorchScript exporter) in a temporary folder: a
DenseNet block of ``n`` layers (each 1×1 conv reads the stack of every map before it, so
the ONNX graph has about ``n²/2`` edges and every stack is a branch of each later one), a
ResNet-like stack of ``n`` basic blocks, a plain chain of ``n`` conv/ReLU pairs. For the
network up to the head at ``size²`` it prints the seconds of what ``info --through`` and
the window's network table compute besides the products with ``J``: building the network
(:func:`~deconv_gui.io.models.network.model_network`), the table's rows
(:func:`~deconv_gui.gui.network.listing.network_rows`), the linearisation (one forward
pass), the per-layer bounds (:func:`~deconv_gui.core.network.prefix_bounds`: shapes,
receptive fields, ReLU counts) and the block-Jacobi probe spacing; and, as a reference,
torch's forward pass of the model. Each is the best of ``--repeat``. Build and rows grow
with the graph's edges when each block's shapes and graph are made once; they grew as
``n³``–``n⁴`` on the DenseNet block when every nested stack re-walked its own.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _models(torch: Any) -> dict[str, Any]:
    nn = torch.nn

    class Dense(nn.Module):
        def __init__(self, n: int, growth: int = 2) -> None:
            super().__init__()
            self.c0 = nn.Conv2d(3, growth, 3, padding=1)
            self.convs = nn.ModuleList(nn.Conv2d(growth * (i + 1), growth, 1) for i in range(n))
            self.head = nn.Conv2d(growth * (n + 1), 2, 3)

        def forward(self, x: Any) -> Any:
            maps = [torch.relu(self.c0(x))]
            for conv in self.convs:
                maps.append(torch.relu(conv(torch.cat(maps, dim=1))))
            return self.head(torch.cat(maps, dim=1))

    class Basic(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x: Any) -> Any:
            body = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(body + x)

    def blocks(n: int, c: int = 4) -> Any:
        stem = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*stem, *(Basic(c) for _ in range(n)), nn.Conv2d(c, 2, 1))

    def plain(n: int, c: int = 4) -> Any:
        layers: list[Any] = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
        for _ in range(n - 1):
            layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*layers, nn.Conv2d(c, 2, 3, padding=1))

    return {"dense": Dense, "blocks": blocks, "plain": plain}


def _seconds(fn: Any, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return float(best)


def _row(path: Path, net: Any, torch: Any, size: int, repeat: int) -> dict[str, float]:
    from deconv_gui.core.network import prefix_bounds
    from deconv_gui.core.network.block_jacobi import probe_spacing
    from deconv_gui.gui.network.listing import network_rows
    from deconv_gui.io.models import read_model
    from deconv_gui.io.models.network import model_network

    model = read_model(path)
    head = model.layers[-1].name
    x0 = np.random.default_rng(0).random((size, size, 3))
    network = model_network(model, head, x0.shape)
    lin = network.linearize(x0)
    xt = torch.from_numpy(np.ascontiguousarray(x0.transpose(2, 0, 1)[None], np.float32))
    with torch.no_grad():
        reference = _seconds(lambda: net(xt), repeat)
    return {
        "build": _seconds(lambda: model_network(model, head, x0.shape), repeat),
        "rows": _seconds(lambda: network_rows(model_network(model, head, x0.shape)), repeat),
        "linearize": _seconds(lambda: network.linearize(x0), repeat),
        "bounds": _seconds(lambda: prefix_bounds(lin), repeat),
        "spacing": _seconds(lambda: probe_spacing(lin), repeat),
        "torch": reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense", type=int, nargs="*", default=[24, 48, 96])
    parser.add_argument("--blocks", type=int, nargs="*", default=[16, 50])
    parser.add_argument("--plain", type=int, nargs="*", default=[60, 200])
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import torch

    from deconv_gui.core.threads import limit_blas_threads

    limit_blas_threads(1)
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    makers = _models(torch)
    print(f"load {os.getloadavg()[0]:.2f} (1 min); {args.size}² input; best of {args.repeat} s")
    print(f"{'model':<12}" + "".join(f"{k:>11}" for k in ("build", "rows", "linearize")), end="")
    print("".join(f"{k:>11}" for k in ("bounds", "spacing", "torch")))
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("dense", "blocks", "plain"):
            for n in getattr(args, kind):
                torch.manual_seed(0)
                net = makers[kind](n).eval()
                path = Path(folder) / f"{kind}{n}.onnx"
                x = torch.randn(1, 3, args.size, args.size)
                torch.onnx.export(net, x, str(path), dynamo=False)
                row = _row(path, net, torch, args.size, args.repeat)
                print(f"{kind + str(n):<12}" + "".join(f"{v:>11.4f}" for v in row.values()))


if __name__ == "__main__":
    main()
