"""``info --through`` on models with blocks (ResNet's basic blocks, an Inception-like
concatenation, a DenseNet block whose maps every later stack holds): each block's row
counts the units its ReLUs pass at the image, as a plain ReLU's row does, against the
counts torch's forward hooks on the same ReLU modules record on the same input (the
model in float64, so no unit near 0 flips)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main
from deconv_gui.cli.problem import load_spec
from deconv_gui.io.models import read_model
from deconv_gui.io.models.activations import model_input

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
nn = torch.nn


def _bn(c):
    bn = nn.BatchNorm2d(c)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
        bn.weight.normal_()
        bn.bias.normal_()
    return bn


class _Basic(nn.Module):
    """torchvision's BasicBlock, its two ReLUs modules of their own (the inner one is in
    the block's body, the outer one after the sum is a row of its own)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), _bn(c_out)
        self.conv2, self.bn2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), _bn(c_out)
        self.inner, self.outer = nn.ReLU(), nn.ReLU()
        self.down = None
        if stride != 1 or c_in != c_out:
            self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), _bn(c_out))

    def forward(self, x):
        body = self.bn2(self.conv2(self.inner(self.bn1(self.conv1(x)))))
        return self.outer(body + (x if self.down is None else self.down(x)))


class _Inception(nn.Module):
    """Three branches stacked along the channels: two with ReLUs, one without."""

    def __init__(self, c):
        super().__init__()
        self.a, self.a_relu = nn.Conv2d(c, 2, 1), nn.ReLU()
        self.b1, self.b1_relu = nn.Conv2d(c, 3, 3, padding=1), nn.ReLU()
        self.b2, self.b2_relu = nn.Conv2d(3, 2, 3, padding=1), nn.ReLU()
        self.c = nn.Conv2d(c, 2, 1)

    def forward(self, x):
        a = self.a_relu(self.a(x))
        b = self.b2_relu(self.b2(self.b1_relu(self.b1(x))))
        return torch.cat([a, b, self.c(x)], dim=1)


class _Linear(nn.Module):
    """``x + bn(conv(x))``: a block without a ReLU."""

    def __init__(self, c):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(c, c, 3, padding=1, bias=False), _bn(c)

    def forward(self, x):
        return x + self.bn(self.conv(x))


class _Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_relu = nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()
        self.layer1, self.layer2 = _Basic(4, 4, 1), _Basic(4, 6, 2)
        self.mix, self.linear = _Inception(6), _Linear(6)
        self.head = nn.Conv2d(6, 2, 3, padding=1)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem_relu(self.stem(x))))
        return self.head(self.linear(self.mix(x)))

    def passing(self):
        """Each row's ReLU modules, in the order of the rows that have any."""
        return [
            [self.stem_relu],
            [self.layer1.inner],
            [self.layer1.outer],
            [self.layer2.inner],
            [self.layer2.outer],
            [self.mix.a_relu, self.mix.b1_relu, self.mix.b2_relu],
        ]


class _Dense(nn.Module):
    """A DenseNet block: each conv reads the stack of every map before it."""

    def __init__(self, n=4, growth=2):
        super().__init__()
        self.c0, self.c0_relu = nn.Conv2d(3, growth, 3, padding=1), nn.ReLU()
        self.convs = nn.ModuleList(nn.Conv2d(growth * (i + 1), growth, 1) for i in range(n))
        self.relus = nn.ModuleList(nn.ReLU() for _ in range(n))
        self.head = nn.Conv2d(growth * (n + 1), 2, 3)

    def forward(self, x):
        maps = [self.c0_relu(self.c0(x))]
        for conv, relu in zip(self.convs, self.relus, strict=True):
            maps.append(relu(conv(torch.cat(maps, dim=1))))
        return self.head(torch.cat(maps, dim=1))

    def passing(self):
        return [[self.c0_relu], list(self.relus)]


def _passed_by_hooks(net, x0, groups):
    """The units each group of ReLU modules passes on ``x0`` (HWC), by forward hooks."""
    counts = {}

    def hook(module, _inputs, output):
        counts[module] = counts.get(module, 0) + int((output > 0).sum())

    handles = [m.register_forward_hook(hook) for group in groups for m in group]
    try:
        with torch.no_grad():
            net(torch.from_numpy(np.ascontiguousarray(x0.transpose(2, 0, 1)[None], np.float64)))
    finally:
        for handle in handles:
            handle.remove()
    return [sum(counts[m] for m in group) for group in groups]


def _info(tmp_path, net, capsys, size=16):
    torch.manual_seed(0)
    path = tmp_path / "net.onnx"
    torch.onnx.export(net.eval(), torch.randn(1, 3, size, size), str(path), dynamo=False)
    model = read_model(path)
    head = next(r.name for r in model.layers if "head" in r.name)
    args = ["info", "--model", str(path), "--layer", head, "--through", "--image", "chelsea"]
    args += ["--work-size", "64"]
    assert cli_main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    x0 = model_input(load_spec("chelsea", 64).pixels, model, "unit")
    assert cli_main(args) == 0
    return report, x0, capsys.readouterr().out


def test_block_rows_count_the_units_their_relus_pass_as_torch_hooks(tmp_path, capsys):
    torch.manual_seed(1)
    net = _Blocks()
    report, x0, text = _info(tmp_path, net, capsys)
    rows = report["layers"]
    assert [r["kind"] for r in rows] == [
        "conv", "relu", "residual", "relu", "residual", "relu", "concat", "residual", "conv",
    ]  # fmt: skip
    counted = [r["active"] for r in rows if r["active"] is not None]
    assert counted == _passed_by_hooks(net.double(), x0, net.passing())
    assert all(0 < c < r["units"] for c, r in zip(counted, rows[1:], strict=False))
    assert rows[7]["active"] is None and rows[0]["active"] is None  # no ReLU: no count
    line = next(row for row in text.splitlines() if row.startswith(rows[2]["name"]))
    assert f" {rows[2]['active']:,} " in line  # the block's row prints its count


def test_a_dense_blocks_row_counts_each_shared_relu_once_as_torch_hooks(tmp_path, capsys):
    """Every later stack holds each map (its ReLU a node of each stack's graph): the
    block's row counts each ReLU once, as torch runs each once."""
    torch.manual_seed(2)
    net = _Dense()
    report, x0, _ = _info(tmp_path, net, capsys, size=8)
    assert [r["kind"] for r in report["layers"]] == ["conv", "relu", "concat", "conv"]
    counted = [r["active"] for r in report["layers"][1:3]]
    assert counted == _passed_by_hooks(net.double(), x0, net.passing())
