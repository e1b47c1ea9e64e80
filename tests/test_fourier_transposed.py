"""A ConvTranspose2d layer's own sub-kernels (PixelShuffle form) against PyTorch.

Interleaving the ``s_h s_w`` stride-1 convolutions of :func:`transposed_subkernels`
(read at :func:`transposed_phase_offsets`) must give ``F.conv_transpose2d`` itself, for
strides, dilations, crops, groups and flip; the Fourier view of such a layer shows them.
"""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import Params
from deconv_gui.core.analysis.fourier import (
    fourier_summary,
    transposed_overlaps,
    transposed_phase_offsets,
    transposed_subkernels,
)

torch = pytest.importorskip("torch")


def _interleaved(x, weights, out_hw, groups, **geometry):
    """The layer's output, phase by phase, from its sub-kernels (literal loops)."""
    sub = transposed_subkernels(weights, groups=groups, **geometry)
    t_rows, t_cols, (step_h, step_w) = transposed_phase_offsets(
        weights.shape[:2], groups=groups, **geometry
    )
    (sh, sw) = geometry["stride"]
    h_in, w_in, c_in = x.shape
    per_out, per_in = weights.shape[2], c_in // groups
    out = np.zeros((*out_hw, per_out * groups))
    for a in range(sh):
        for b in range(sw):
            part = sub[a][b]
            if t_rows[a] is None or t_cols[b] is None:
                continue
            for m in range(-(-(out_hw[0] - a) // sh)):
                for n in range(-(-(out_hw[1] - b) // sw)):
                    for k in range(part.shape[0]):
                        for q in range(part.shape[1]):
                            j, jj = m - t_rows[a] - k * step_h, n - t_cols[b] - q * step_w
                            if not (0 <= j < h_in and 0 <= jj < w_in):
                                continue
                            for g in range(groups):
                                ins = x[j, jj, g * per_in : (g + 1) * per_in]
                                out[a + sh * m, b + sw * n, g * per_out : (g + 1) * per_out] += (
                                    part[k, q, :, g * per_in : (g + 1) * per_in] @ ins
                                )
    return out


def _torch_layer(x, weights, stride, padding, dilation, groups, flip, output_padding=(0, 0)):
    w = weights[::-1, ::-1] if flip else weights
    w_t = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))  # (C_in, C_out/g, k, k)
    y = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x.transpose(2, 0, 1)[None].copy()),
        w_t,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )
    return y[0].numpy().transpose(1, 2, 0)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "groups", "flip"),
    [
        ((3, 3), (2, 2), (1, 1), (1, 1), 1, False),
        ((4, 4), (2, 2), (1, 1), (1, 1), 1, True),
        ((3, 5), (2, 3), (0, 2), (1, 1), 2, False),
        ((3, 3), (2, 2), (2, 1), (2, 3), 1, True),
        ((5, 2), (3, 2), (1, 0), (2, 1), 2, True),
    ],
)
def test_interleaved_subkernels_are_pytorchs_conv_transpose2d(
    kernel, stride, padding, dilation, groups, flip
):
    rng = np.random.default_rng(sum(kernel) + 7 * groups)
    c_in, per_out = 2 * groups, 2
    weights = rng.standard_normal((*kernel, per_out, c_in))
    x = rng.standard_normal((5, 4, c_in))
    reference = _torch_layer(x, weights, stride, padding, dilation, groups, flip)
    geometry = {"stride": stride, "padding": padding, "dilation": dilation, "flip": flip}
    got = _interleaved(x, weights, reference.shape[:2], groups, **geometry)
    assert np.allclose(got, reference, atol=1e-12)
    # every tap lands in exactly one phase, and the counts are the overlaps
    sub = transposed_subkernels(weights, groups=groups, **geometry)
    counts = transposed_overlaps(kernel, groups=groups, **geometry)
    assert sum(part.size for row in sub for part in row) == weights.size
    assert [[part.shape[0] * part.shape[1] for part in row] for row in sub] == counts.tolist()


def test_an_asymmetric_crop_moves_the_phases_by_its_top_and_left_sides():
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((3, 3, 1, 1))
    x = rng.standard_normal((4, 4, 1))
    full = _torch_layer(x, weights, (2, 2), (0, 0), (1, 1), 1, False)
    crop = ((1, 0), (0, 1))  # top 1, bottom 0, left 0, right 1
    reference = full[1:, :-1]
    geometry = {"stride": (2, 2), "padding": crop, "dilation": (1, 1), "flip": False}
    assert np.allclose(_interleaved(x, weights, reference.shape[:2], 1, **geometry), reference)


def test_names_that_need_sizes_and_bad_keywords_are_refused():
    with pytest.raises(ValueError, match="padding"):
        transposed_overlaps(3, stride=2, padding="same")
    with pytest.raises(ValueError, match="groups"):
        transposed_subkernels(np.ones((3, 3, 1)), stride=2, groups=0)
    with pytest.raises(TypeError, match="strides"):
        transposed_overlaps(3, strides=2)


def test_the_fourier_view_of_a_conv_transpose_layer_shows_its_own_taps():
    rng = np.random.default_rng(5)
    weights = rng.standard_normal((3, 3, 1, 2))  # B: 2 channels → 1, as W_t.permute(2, 3, 1, 0)
    params = Params(weights, stride=2, padding=1, layer_kind="conv_transpose", flip=True)
    op = params.operator((16, 16, 2))
    summary = fourier_summary(op)
    assert summary.transposed
    sub = transposed_subkernels(weights, stride=2, padding=1, flip=True)
    for a in range(2):
        for b in range(2):
            taps = sub[a][b].sum(axis=(2, 3))
            shown = summary.subkernels[a, b]
            assert np.allclose(shown[: taps.shape[0], : taps.shape[1]], taps)
            assert np.isnan(shown[taps.shape[0] :]).all()
    assert np.array_equal(summary.overlaps, transposed_overlaps(3, stride=2, padding=1))
    # the coverage is B applied to ones (on the analysed crop), summed over channels
    ones = op.apply(np.ones(op.geometry.input_shape)).sum(axis=-1)
    inner = summary.coverage[3:-3, 3:-3]
    assert np.allclose(inner, ones[3 : 3 + inner.shape[0], 3 : 3 + inner.shape[1]])
