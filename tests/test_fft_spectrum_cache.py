"""Large filters' products (the FFT kernels, which keep a filter's spectrum between calls)
and a ResNet stem's (the plane kernels): the literal loops' answers, call after call, and
after the filter's values change in place."""

from __future__ import annotations

import numpy as np
import pytest
from reference import conv2d_loop, conv2d_transpose_loop

from deconv_gui.core import ConvOperator


@pytest.mark.parametrize(
    ("k", "c_in", "c_out", "stride"),
    [(15, 1, 1, 1), (15, 3, 4, 2), (7, 3, 16, 2)],  # two on the FFT, the stem on the planes
)
def test_products_equal_the_literal_loops_call_after_call(k, c_in, c_out, stride):
    rng = np.random.default_rng(k + c_out)
    w = rng.standard_normal((k, k, c_in, c_out))
    x = rng.standard_normal((30, 26, c_in))
    for _ in range(2):  # the second time from the cached spectrum
        op = ConvOperator.from_weights(w, input_shape=x.shape, stride=stride, padding=k // 2)
        y = rng.standard_normal(op.geometry.output_shape)
        want = conv2d_loop(x, w, stride=stride, padding=k // 2)
        np.testing.assert_allclose(op.apply(x), want, atol=1e-9 * np.abs(want).max())
        want = conv2d_transpose_loop(y, w, x.shape, stride=stride, padding=k // 2)
        np.testing.assert_allclose(op.apply_adjoint(y), want, atol=1e-9 * np.abs(want).max())
        w[k // 2, k // 2] += 1.0  # the same array, new values: not the old spectrum
