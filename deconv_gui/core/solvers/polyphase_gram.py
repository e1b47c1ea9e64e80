"""The Gram matrices ``G(ω)`` of a periodic layer's blocks without the blocks (internal).

``M(ω) = Σ_p e^{-iω_h u_p} W_p(ω_w)`` (:class:`~deconv_gui.core.solvers.periodic.BlockRows`:
``u_p`` the output rows an impulse reaches, ``W_p`` the responses transformed along the
columns), so the Gram matrix of a wide block, ``G = M M^*``, is

.. math:: G(ω) = \\sum_d e^{-iω_h d}\\, R_d(ω_w), \\qquad
          R_d = \\sum_{u_p - u_q = d} W_p W_q^*,

a short sum over the lags ``d`` between the rows reached (``-2 … 2`` for a 3 × 3 filter
at stride 2), and ``M^* M`` of a tall block likewise with ``W_p^* W_q`` and ``e^{+iω_h d}``.
The ``R_d`` are made once per column frequency; each frequency row then costs one product
of ``k²`` numbers by a few phases, instead of the ``k² n`` products of ``M M^*`` (a batched
product of small matrices: a loop of BLAS calls, one per frequency). The entries are those
of ``M M^*`` to rounding: ``ε`` times the sizes ``|W_p| |W_q|`` that the product sums,
the same as for ``M`` formed first.
"""

from __future__ import annotations

import numpy as np

from .periodic import BlockRows

__all__ = ["LagGram"]


class LagGram:
    """``G(ω)`` of ``blocks`` (``by_phase`` rows) a few frequency rows at a time.

    ``self(start, stop)`` is ``G`` of the frequency rows ``start:stop`` laid out
    ``(k, k, f)``, the ``f`` frequencies (row by row) last and contiguous: ``M M^*`` when
    the blocks are wide (``C_out ≤ s_h s_w C_in``), else ``M^* M``; its diagonal and lower
    triangle only (``G`` is Hermitian: what is above is not written).

    Examples
    --------
    >>> import numpy as np
    >>> from deconv_gui.core import ConvOperator
    >>> w = np.random.default_rng(0).standard_normal((3, 3, 2, 3))
    >>> op = ConvOperator.from_weights(w, input_shape=(8, 6, 2), stride=2, padding=1,
    ...                                padding_mode="circular")
    >>> blocks = BlockRows(op, by_phase=True)
    >>> m = blocks(0, 4).transpose(0, 3, 1, 2, 4, 5).reshape(-1, 3, 8)  # (f, C_out, n)
    >>> expected = (m @ np.conjugate(m).swapaxes(1, 2)).transpose(1, 2, 0)
    >>> lower = np.tril(np.ones((3, 3), bool))
    >>> bool(np.allclose(LagGram(blocks)(0, 4)[lower], expected[lower]))
    True
    """

    def __init__(self, blocks: BlockRows):
        c_out, sh, n_w, sw, c_in = blocks.shape
        n, lh = sh * sw * c_in, blocks.along_w.shape[0]
        # W_p (n_w, C_out, n) of the rows p an impulse reaches
        along_w = blocks.along_w.reshape(lh, c_out, sh, n_w, sw, c_in)
        along_w = along_w.transpose(0, 3, 1, 2, 4, 5).reshape(lh, n_w, c_out, n)
        reached = [p for p in range(lh) if np.any(along_w[p])]
        offsets = np.where(np.arange(lh) <= lh // 2, np.arange(lh), np.arange(lh) - lh)
        wide = c_out <= n
        k = c_out if wide else n
        lags: dict[int, np.ndarray] = {}
        for p in reached:
            for q in reached:
                if wide:
                    term = along_w[p] @ np.conjugate(along_w[q]).swapaxes(1, 2)
                else:
                    term = np.conjugate(along_w[p]).swapaxes(1, 2) @ along_w[q]
                lag = int(offsets[p] - offsets[q]) * (1 if wide else -1)
                lags[lag] = lags[lag] + term if lag in lags else term
        order = sorted(lags)
        # (k, k, d, n_w): each entry's lags by column frequency, for one product per row
        stacked = np.stack([lags[d] for d in order]) if order else np.zeros((1, n_w, k, k))
        self.lags = np.ascontiguousarray(stacked.transpose(2, 3, 0, 1))
        h_out = blocks.along_h.shape[0]
        turns = (np.arange(h_out)[:, None] * np.array(order or [0])[None, :]) % h_out
        self.phases = np.exp(-2j * np.pi * turns / h_out)  # (H', d)
        self.k, self.n_w = k, n_w

    def __call__(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """``G`` of the frequency rows ``start:stop`` (into ``out``, a contiguous complex
        ``(k, k, f)`` array, when given)."""
        phases = self.phases[start:stop]
        shape = (self.k, self.k, len(phases), self.n_w)
        gram = np.empty(shape, complex) if out is None else out.reshape(shape)
        for i in range(self.k):  # row i up to the diagonal: one product
            np.matmul(phases, self.lags[i, : i + 1], out=gram[i, : i + 1])
        return gram.reshape(self.k, self.k, -1)
