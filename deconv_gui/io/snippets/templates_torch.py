"""The blocks of the PyTorch snippet, as they are printed (see :mod:`.templates`).

The priors are the NumPy snippet's, on ``(N, C, H, W)`` tensors: the same FISTA and TV
prox (one text each, :data:`.templates.FISTA` and :data:`.templates.TV_PROX`) and the
same Richardson–Lucy iteration (its start :data:`.templates.RL_START`).
"""

from __future__ import annotations

from .templates import FISTA, RL_START, for_module, tv_block

__all__ = ["TORCH_CGLS", "TORCH_FISTA", "TORCH_RL", "TORCH_TV"]

TORCH_CGLS = '''
def pinv_cgls(data, reg, rtol, max_iter, a=forward, a_t=adjoint):
    """The least-norm argmin |A x - data|^2 + reg |x|^2 by CGLS (conjugate gradients on
    (A^T A + reg I) x = A^T data, in float64). Started at 0, the iterates stay in the row
    space of A, so with reg = 0 it converges to the pseudo-inverse A+ data. A is a and
    a_t, the layer's forward and adjoint unless given."""
    w = weights.double()
    x_k = torch.zeros(x.shape, dtype=torch.float64)
    r = data.double().clone()
    s = a_t(r, w)
    p = s.clone()
    gamma = gamma_0 = torch.sum(s * s)
    k = 0
    while k < max_iter and gamma > rtol**2 * gamma_0:
        k += 1
        q = a(p, w)
        alpha = gamma / (torch.sum(q * q) + reg * torch.sum(p * p))
        x_k += alpha * p
        r -= alpha * q
        s = a_t(r, w) - reg * x_k
        gamma_new = torch.sum(s * s)
        p = s + (gamma_new / gamma) * p
        gamma = gamma_new
    return x_k.to(x.dtype), k
'''

TORCH_FISTA = for_module(FISTA, "torch")

TORCH_RL = (
    for_module(RL_START, "torch")
    + """\
    x_k = seen.to(data.dtype) * (float(data.sum()) / float(cover[seen].sum()))
    for _ in range(n_iter):
        prediction = forward(x_k)
        ratio = torch.where(prediction > 0, data / prediction, torch.zeros_like(data))
        x_k = x_k * torch.where(seen, adjoint(ratio) / cover, torch.zeros_like(cover))
    return x_k
"""
)

TORCH_TV = tv_block(
    '''
def grad2d(u):
    """Forward differences (2, N, C, H, W), zero past the last row and column."""
    g = torch.zeros((2, *u.shape), dtype=u.dtype)
    g[0, ..., :-1, :] = u[..., 1:, :] - u[..., :-1, :]
    g[1, ..., :-1] = u[..., 1:] - u[..., :-1]
    return g


def grad2d_adjoint(p):
    """The adjoint of grad2d (minus the divergence)."""
    d = torch.zeros(p.shape[1:], dtype=p.dtype)
    d[..., :-1, :] -= p[0, ..., :-1, :]
    d[..., 1:, :] += p[0, ..., :-1, :]
    d[..., :-1] -= p[1, ..., :-1]
    d[..., 1:] += p[1, ..., :-1]
    return d
''',
    "torch",
)
