"""A residual block in a core network: its receptive field against the support of the
dense J's rows, the block-Jacobi preconditioner's blocks against the dense J Jᵀ, the
ReLUs' share of passed units, and the refusal of branches that cannot be added."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import (
    Affine,
    Conv,
    LeakyReLU,
    Network,
    Pad,
    ReLU,
    Residual,
    receptive_field,
    run_prefix,
)
from deconv_gui.core.network.block_jacobi import BlockJacobi, probe_spacing


def _conv(rng, shape, c_out, k=3, stride=1, padding=1):
    w = rng.standard_normal((k, k, shape[2], c_out))
    op = ConvOperator.from_weights(w, input_shape=shape, stride=stride, padding=padding)
    return Conv(op, rng.standard_normal(c_out))


def _net(rng, size=12, act=ReLU):
    """conv → ReLU → [conv → ReLU → conv + id] → ReLU → [conv s2 → ReLU → conv + 1×1 s2, BN]."""
    a = (size, size, 2)
    b = (size // 2, size // 2, 3)
    first = Residual([_conv(rng, a, 2), act(), _conv(rng, a, 2)], name="block1")
    second = Residual(
        [_conv(rng, a, 3, stride=2), act(), _conv(rng, b, 3)],
        [_conv(rng, a, 3, k=1, stride=2, padding=0), Affine(rng.random(3) + 0.5, np.zeros(3))],
        name="block2",
    )
    return Network([_conv(rng, (size, size, 1), 2), act(), first, act(), second])


def test_the_receptive_field_spans_both_branches_as_the_dense_j_does():
    rng = np.random.default_rng(0)
    net = _net(rng, size=16, act=lambda: LeakyReLU(0.5))  # no unit cut off: the field is reached
    lin = net.linearize(rng.standard_normal(net.input_shape))
    dense = np.abs(lin.to_dense()).reshape(*lin.output_shape, *net.input_shape[:2])
    field = receptive_field(net)[-1]
    assert field.jump == (2, 2)
    row, col = 3, 4  # an inner unit: its field lies inside the image
    reach = dense[row, col].max(axis=0)
    support = np.argwhere(reach > 1e-12 * reach.max())  # past the products' rounding
    (top, left), (bottom, right) = support.min(axis=0), support.max(axis=0) + 1
    centre = (field.start[0] + row * field.jump[0], field.start[1] + col * field.jump[1])
    assert (bottom - top, right - left) == field.size == (13, 13)
    assert ((top + bottom) / 2, (left + right) / 2) == centre


def test_block_jacobi_blocks_are_the_dense_diagonal_blocks():
    rng = np.random.default_rng(1)
    net = _net(rng)
    lin = net.linearize(rng.standard_normal(net.input_shape))
    assert probe_spacing(lin) is not None
    dense = lin.to_dense()
    normal = dense @ dense.T
    h, w, c = lin.output_shape
    blocks = np.array(
        [[normal[(i * w + j) * c :, (i * w + j) * c :][:c, :c] for j in range(w)] for i in range(h)]
    )
    values, vectors = np.linalg.eigh(blocks)
    floor = 1e-8 * values.max()
    want = np.matmul(
        vectors / np.maximum(values, floor)[..., None, :], np.swapaxes(vectors, -1, -2)
    )
    assert np.allclose(BlockJacobi(lin).inverse, want, rtol=1e-8, atol=1e-10 / floor)


def test_active_fraction_counts_the_relus_inside_the_blocks():
    rng = np.random.default_rng(2)
    net = _net(rng, size=8)
    x0 = rng.standard_normal(net.input_shape)
    result = run_prefix(net, x0, ("transposed",))
    masks = []
    x = x0
    for layer in net.layers:  # by hand: each ReLU's input through the blocks
        if isinstance(layer, Residual):
            inner = x
            for part in layer.body:
                if isinstance(part, ReLU):
                    masks.append(inner > 0)
                inner = part.forward(inner)[0]
        elif isinstance(layer, ReLU):
            masks.append(x > 0)
        x = layer.forward(x)[0]
    assert len(masks) == 4
    want = sum(m.sum() for m in masks) / sum(m.size for m in masks)
    assert result.metrics["active_fraction"] == pytest.approx(want)


def test_branches_of_different_shapes_are_refused_naming_the_block():
    rng = np.random.default_rng(3)
    block = Residual([_conv(rng, (6, 6, 2), 3)], name="/layer1/Add")
    with pytest.raises(ValueError, match=r"residual block '/layer1/Add': its body gives 6×6×3"):
        Network([block], input_shape=(6, 6, 2))


def test_zero_padding_is_its_adjoints_transpose_and_shifts_the_field():
    rng = np.random.default_rng(4)
    pad = Pad(((1, 2), (0, 3)))
    v = rng.standard_normal((2, 5, 4, 3))
    u = rng.standard_normal((2, *pad.output_shape((5, 4, 3))))
    assert u.shape == (2, 8, 7, 3)
    assert np.vdot(pad.jvp(v, None), u) == pytest.approx(np.vdot(v, pad.vjp(u, None)))
    net = Network([pad, _conv(rng, (8, 7, 3), 2, padding=0)], input_shape=(5, 4, 3))
    assert receptive_field(net)[-1].start == (0.5 - 1 + 1, 0.5 + 1)  # 3×3 from pixel -1
    with pytest.raises(ValueError, match="pads must be"):
        Pad(((1, -1), (0, 0)))
