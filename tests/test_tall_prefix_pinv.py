"""``J⁺`` of a network prefix that is tall by its channels (a first conv, 3 → 32 or 64,
and its ReLU): ``J Jᵀ`` is singular there, as for the conv alone, but the prefix's own
solve (CG on ``J Jᵀ`` with the symbol, then block-Jacobi, preconditioner) must still give
``numpy.linalg.pinv`` of the dense Jacobian, in the range and outside it.

The conv alone runs CGLS on the input grid (``test_tall_pinv``); the prefix does not need
to: with the symbol preconditioner the 3 → 64 conv and ReLU takes as few iterations on
the output grid as CGLS on the input grid, and where the 7×7 stride-2 stem's ReLU masks
make ``J`` ill-conditioned (``κ(J)`` ≈ 260 against ``κ(A)`` ≈ 6 at 24²) both take over a
thousand: the cost is ``κ(J)``'s, not the singular ``J Jᵀ``'s."""

from __future__ import annotations

import numpy as np
import pytest

from deconv_gui.core import ConvOperator
from deconv_gui.core.network import Conv, Network, ReLU

CASES = [
    # image, filter (k, k, C_in, C_out), stride, padding
    ((10, 10, 3), (3, 3, 3, 64), 1, 1),
    ((12, 12, 3), (7, 7, 3, 32), 2, 3),
]


def _tall_prefix(shape, filt, stride, padding):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(filt) * np.sqrt(2 / np.prod(filt[:3]))  # He initialisation
    op = ConvOperator.from_weights(w, input_shape=shape, stride=stride, padding=padding)
    bias = 0.1 * rng.standard_normal(filt[3])
    lin = Network([Conv(op, bias), ReLU()]).linearize(rng.random(shape))
    return lin, rng


@pytest.mark.parametrize(("shape", "filt", "stride", "padding"), CASES)
@pytest.mark.parametrize("noise", [0.0, 1e-2])
def test_tall_prefix_pinv_is_numpys(shape, filt, stride, padding, noise):
    lin, rng = _tall_prefix(shape, filt, stride, padding)
    jacobian = lin.to_dense()
    assert jacobian.shape[0] > jacobian.shape[1]  # more outputs than inputs
    signal = lin.apply(lin.x0)
    mask = signal != 0  # noise only where the ReLU passes: J's zero rows stay zero
    signal = signal + noise * rng.standard_normal(signal.shape) * mask
    reference = np.linalg.pinv(jacobian) @ signal.ravel()
    x, report = lin.pinv(signal, rtol=1e-12, max_iter=5000, consistent=noise == 0)
    assert report.converged, report.message
    error = np.linalg.norm(x.ravel() - reference) / np.linalg.norm(reference)
    assert error <= 1e-7


def test_channel_expanding_prefix_takes_few_iterations():
    lin, _ = _tall_prefix(*CASES[0])
    _, report = lin.pinv(lin.apply(lin.x0), consistent=True)
    assert report.converged and report.iterations < 60, report.message
