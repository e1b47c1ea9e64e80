"""J⁺ of ResNet-like (or squeeze-excitation) network prefixes: iterations, seconds and
why each solve stopped.

Run: ``PYTHONPATH=. python benchmarks/bench_network_pinv.py [--model resnet|se]
[--sizes 64 128] [--rtol 1e-6] [--max-iter 3000] [--time-limit 60] [--blas-threads 1]
[--prefix NAME ...]`` (needs torch and onnx, the ``refs`` extra).

The model, seeded and untrained but with batch norms of random statistics (as
``tests/test_models_residual.py`` draws them): a ResNet stem (conv 7×7 stride 2, 3 → 16,
batch norm, ReLU, max-pool 3×3 stride 2), a basic block 16 → 16 and a strided one 16 → 32
(with its 1×1 projection), exported to ONNX by torch and opened through
:mod:`deconv_gui.io.models` as the window opens a file. For each prefix (the stem conv;
the stem with its ReLU; the first block's convs; the second block's, past the first
block's Add and ReLU) at the astronaut resized to each size, it prints the iterations, the
seconds, the relative residual of the normal equations ``‖Jᵀ(J x − y)‖ / ‖Jᵀy‖`` (recomputed
here, not the solver's), how the solve ended, what one iteration costs in products with
``J`` then ``Jᵀ`` (one pair), and whether the solve went on from the symbol to the blocks
or the whole ``J Jᵀ`` (:mod:`deconv_gui.core.network.solve`), from which iteration, and
what their set-up cost in pairs.
``y = J x₀``, the window's ``J⁺ (f(x₀) − c)``, solved with the window's defaults.

``--model se``: smooth gates instead (EfficientNet-like, seeded, untrained): a stem conv
3×3 stride 2, 3 → 16, batch norm, SiLU; conv 16 → 32, batch norm, SiLU and a
squeeze-excitation (global mean, 1×1 conv 32 → 8, SiLU, 1×1 conv 8 → 32, sigmoid, a
product with the map); a strided conv 32 → 32, batch norm, GELU and another; a last conv
32 → 64. ONNX writes SiLU as ``x · sigmoid(x)`` and GELU with erf: products and smooth
activations throughout, ``J`` the Jacobian at ``x₀``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage import data, transform

from deconv_gui.core.network import Network, ReLU
from deconv_gui.core.network.block_jacobi import probe_count, probe_patch
from deconv_gui.core.network.dense_gram import dense_pays
from deconv_gui.core.threads import limit_blas_threads

#: The prefixes, by the ONNX conv's name (the stem's with ``+relu``: its activation too).
PREFIXES = (
    "/stem/stem.0/Conv",
    "/stem/stem.0/Conv+relu",
    "/layer1/conv1/Conv",
    "/layer1/conv2/Conv",
    "/layer2/conv1/Conv",
    "/layer2/conv2/Conv",
)
#: The squeeze-excitation model's prefixes.
SE_PREFIXES = ("/stem/stem.0/Conv", "/conv1/Conv", "/conv2/Conv", "/conv3/Conv")


def _torch_model():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.down = None
            if stride != 1 or c_in != c_out:
                self.down = nn.Sequential(
                    nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
                )

        def forward(self, x):
            body = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(body + (x if self.down is None else self.down(x)))

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 16, 7, 2, 3, bias=False), nn.BatchNorm2d(16), nn.ReLU()
            )
            self.pool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = Block(16, 16, 1)
            self.layer2 = Block(16, 32, 2)

        def forward(self, x):
            return self.layer2(self.layer1(self.pool(self.stem(x))))

    return ResNet()


def _se_model():
    import torch
    from torch import nn
    from torch.nn import functional

    class Excite(nn.Module):
        def __init__(self, channels: int, reduced: int) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Conv2d(channels, reduced, 1), nn.Conv2d(reduced, channels, 1)

        def forward(self, x):
            squeezed = functional.adaptive_avg_pool2d(x, 1)
            return x * torch.sigmoid(self.fc2(functional.silu(self.fc1(squeezed))))

    class Gated(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.SiLU()
            )
            self.conv1, self.bn1 = nn.Conv2d(16, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32)
            self.se1 = Excite(32, 8)
            self.conv2, self.bn2 = nn.Conv2d(32, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32)
            self.se2 = Excite(32, 8)
            self.conv3 = nn.Conv2d(32, 64, 3, 1, 1, bias=False)

        def forward(self, x):
            x = self.se1(functional.silu(self.bn1(self.conv1(self.stem(x)))))
            return self.conv3(self.se2(functional.gelu(self.bn2(self.conv2(x)))))

    return Gated()


def _export(path: Path, kind: str) -> Path:
    import torch
    from torch import nn

    axes = {"image": {2: "height", 3: "width"}}
    torch.manual_seed(0)  # the weights, then the batch norms' statistics
    net = _torch_model() if kind == "resnet" else _se_model()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
    net = net.eval()
    x = torch.zeros(1, 3, 64, 64)
    torch.onnx.export(net, x, str(path), dynamo=False, input_names=["image"], dynamic_axes=axes)
    return path


def _prefix(model, name: str, shape) -> Network:
    from deconv_gui.io.models.network import model_network

    conv, _, act = name.partition("+")
    net = model_network(model, conv, shape)
    return Network([*net.layers, ReLU()], net.input_shape) if act else net


def _solve(net: Network, x0: np.ndarray, args) -> str:
    lin = net.linearize(x0)
    y = lin.apply(x0)
    start = time.perf_counter()
    x, report = lin.pinv(
        y, rtol=args.rtol, max_iter=args.max_iter, time_limit=args.time_limit, consistent=True
    )
    seconds = time.perf_counter() - start
    normal = np.linalg.norm(lin.apply_adjoint(lin.apply(x) - y)) / np.linalg.norm(
        lin.apply_adjoint(y)
    )
    if report.converged:
        ended = "converged"
    elif "time limit" in report.message:
        ended = "time limit"
    else:
        ended = "iteration limit"
    switch = re.search(r"then (.+) from iteration (\d+)", report.message)
    blocks = probe_count(lin, probe_patch(lin))
    cost = math.prod(lin.output_shape) if dense_pays(lin, blocks) else blocks
    stage = f"then {switch[1]} at it {switch[2]} (+{cost} pairs)" if switch else "symbol only"
    return (
        f"{report.iterations:5d} it {seconds:7.2f} s  normal {normal:.1e}  "
        f"residual {report.relative_residual:.1e}  {ended:15s} 1 pair/it, {stage}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--blas-threads", type=int, default=1)
    parser.add_argument("--model", choices=("resnet", "se"), default="resnet")
    parser.add_argument("--prefix", nargs="+", choices=(*PREFIXES, *SE_PREFIXES))
    args = parser.parse_args()
    prefixes = args.prefix or (PREFIXES if args.model == "resnet" else SE_PREFIXES)
    limit_blas_threads(args.blas_threads)
    from deconv_gui.io.models import read_model
    from deconv_gui.io.models.activations import model_input

    print(f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}, rtol {args.rtol:g}")
    with tempfile.TemporaryDirectory() as folder:  # the network is read from the file
        model = read_model(_export(Path(folder) / f"{args.model}.onnx", args.model))
        for size in args.sizes:
            image = transform.resize(data.astronaut(), (size, size), anti_aliasing=True)
            x0 = model_input(image, model, "unit")
            for name in prefixes:
                net = _prefix(model, name, x0.shape)
                line = _solve(net, x0, args)
                print(f"{size}² {name:24s} → {net.shapes[-1]}: {line}", flush=True)


if __name__ == "__main__":
    main()
