"""Time listing the conv layers of ~100 MB model files, and a deep layer's activation.

Targets: a 100 MB model lists its layers in ≤ 2 s (listing reads shapes only); a
ResNet-sized activation at 224² is computed in ≤ 1 s. Each row prints ours and a
reference and their ratio (minimum of ``--repeat`` runs):

- ONNX listing vs ``onnx.load`` of the whole file (which parses every weight);
- PyTorch listing (no torch) vs ``torch.load(weights_only=True)``;
- safetensors listing vs ``safetensors.numpy.load_file``;
- the input and output of a deep conv of a ResNet-18-like net at 224² vs one plain
  onnxruntime run of the whole net (session creation included in both).

Usage::

    python benchmarks/bench_models.py [--megabytes 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _row(name: str, ours: float, ref: float, target: str = "") -> None:
    print(
        f"{name:<42} ours {ours * 1e3:8.1f} ms  reference {ref * 1e3:8.1f} ms  "
        f"ratio {ours / ref:5.2f}  {target}"
    )


def _weights(megabytes: int) -> dict[str, np.ndarray]:
    """512→512 3×3 convs (9.4 MB each in float32) until the size is reached."""
    rng = np.random.default_rng(0)
    count = max(1, round(megabytes * 2**20 / (512 * 512 * 9 * 4)))
    return {
        f"layer{i}.weight": rng.standard_normal((512, 512, 3, 3), np.float32) for i in range(count)
    }


def _onnx_chain(weights: dict[str, np.ndarray], path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], "x"
    for i, (name, w) in enumerate(weights.items()):
        inits.append(numpy_helper.from_array(w, name))
        nodes.append(
            helper.make_node("Conv", [prev, name], [f"y{i}"], name=f"conv{i}", pads=[1, 1, 1, 1])
        )
        prev = f"y{i}"
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 512, 14, 14])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)],
        inits,
    )
    onnx.save(helper.make_model(graph), str(path))


def _resnet_like(path: Path) -> str:
    """A ResNet-18-shaped net exported by torch; the name of a conv of its third stage."""
    import torch
    from torch import nn

    def block(c_in, c_out, stride):
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
        )

    net = nn.Sequential(
        nn.Conv2d(3, 64, 7, 2, 3),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        block(64, 64, 1),
        block(64, 64, 1),
        block(64, 128, 2),
        block(128, 128, 1),
        block(128, 256, 2),
        block(256, 256, 1),
        block(256, 512, 2),
        block(512, 512, 1),
    ).eval()
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), str(path), dynamo=False)
    from deconv_gui.io.models import read_model

    return read_model(path).layers[9].name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from deconv_gui.io.models import read_model

    weights = _weights(args.megabytes)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        onnx_path = tmp / "chain.onnx"
        _onnx_chain(weights, onnx_path)
        size = onnx_path.stat().st_size / 2**20
        import onnx

        ours = _best(lambda: read_model(onnx_path), args.repeat)
        ref = _best(lambda: onnx.load(str(onnx_path)), args.repeat)
        _row(f"ONNX list ({size:.0f} MB, {len(weights)} convs)", ours, ref, "target ≤ 2 s")
        try:
            import torch

            pt = tmp / "chain.pt"
            torch.save({k: torch.from_numpy(v) for k, v in weights.items()}, pt)
            ours = _best(lambda: read_model(pt), args.repeat)
            ref = _best(lambda: torch.load(pt, weights_only=True), args.repeat)
            _row(f"PyTorch list ({pt.stat().st_size / 2**20:.0f} MB)", ours, ref, "target ≤ 2 s")
        except ImportError:
            print("PyTorch rows skipped (torch is not installed)")
        try:
            from safetensors.numpy import load_file, save_file

            st = tmp / "chain.safetensors"
            save_file(weights, st)
            ours = _best(lambda: read_model(st), args.repeat)
            ref = _best(lambda: load_file(st), args.repeat)
            _row(
                f"safetensors list ({st.stat().st_size / 2**20:.0f} MB)", ours, ref, "target ≤ 2 s"
            )
        except ImportError:
            print("safetensors row skipped")
        try:
            _activation_row(tmp, args.repeat)
        except ImportError:
            print("activation row skipped (torch is not installed)")


def _activation_row(tmp: Path, repeat: int) -> None:
    import onnxruntime as ort

    from deconv_gui.io.models import read_model
    from deconv_gui.io.models.activations import layer_activation

    path = tmp / "resnet.onnx"
    name = _resnet_like(path)
    model = read_model(path)
    layer = model.layer(name)
    image = np.random.default_rng(1).random((224, 224, 3))
    from deconv_gui.io.models import activations

    def fresh() -> None:
        activations._SESSIONS.clear()
        layer_activation(model, layer, image, "imagenet")

    ours = _best(fresh, repeat)
    x = np.random.default_rng(1).random((1, 3, 224, 224)).astype(np.float32)

    def plain() -> None:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        session.run(None, {session.get_inputs()[0].name: x})

    ref = _best(plain, repeat)
    label = f"{name}, {layer.in_channels}→{layer.out_channels}"
    _row(f"activation at 224² ({label})", ours, ref, "target ≤ 1 s")
    other = model.layers[5]
    layer_activation(model, layer, image, "imagenet")  # the session is now cached
    ours = _best(lambda: layer_activation(model, other, image, "imagenet"), repeat)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ref = _best(lambda: session.run(None, {session.get_inputs()[0].name: x}), repeat)
    _row("  another layer, session reused", ours, ref, "(reference: run only)")


if __name__ == "__main__":
    main()
