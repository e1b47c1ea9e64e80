"""The blocks of code the NumPy snippets are assembled from, as they are printed.

Kept as literal text (not generated) so that they read like code written by hand (the
one exception, :data:`NUMPY_DENSE_FILTER`, is a plain NumPy function of the app printed
from its source); ``numpy_code`` picks the blocks a problem needs and fills in the
numbers around them.
Each block is tested by running whole snippets in a subprocess (``tests/test_snippets*.py``).
"""

from __future__ import annotations

import inspect

from ...core.groups import dense_groups

__all__ = [
    "FISTA",
    "NUMPY_CONV",
    "NUMPY_DENSE_FILTER",
    "NUMPY_FISTA",
    "NUMPY_LAYER",
    "NUMPY_PINV",
    "NUMPY_RL",
    "NUMPY_TV",
    "RL_START",
    "TV_PROX",
    "for_module",
    "tv_block",
]

NUMPY_CONV = '''
def sides(padding):
    """((top, bottom), (left, right)) of an (h, w) pair or of the four sides."""
    return np.broadcast_to(np.reshape(padding, (2, -1)), (2, 2)).tolist()


def conv2d(x, w, b, stride, padding, dilation, mode="constant"):
    """y[h, w, o] = b[o] + sum_ijc w[i, j, c, o] x_pad[s h + d i, s w + d j, c] (no flip)."""
    (sh, sw), (dh, dw) = stride, dilation
    fh, fw, _, c_out = w.shape
    xp = np.pad(x, (*sides(padding), (0, 0)), mode=mode)  # numpy.pad's mode
    h_out = (xp.shape[0] - dh * (fh - 1) - 1) // sh + 1
    w_out = (xp.shape[1] - dw * (fw - 1) - 1) // sw + 1
    y = np.zeros((h_out, w_out, c_out), dtype=x.dtype)
    for i in range(fh):
        for j in range(fw):
            rows = slice(i * dh, i * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (w_out - 1) + 1, sw)
            y += xp[rows, cols, :] @ w[i, j]
    return y + b


def conv2d_transpose(y, w, input_shape, stride, padding, dilation, mode="constant"):
    """The exact adjoint A^T of conv2d's linear part: scatter each tap back."""
    (sh, sw), ((pt, pb), (pl, pr)), (dh, dw) = stride, sides(padding), dilation
    fh, fw, _, _ = w.shape
    h, wd, c_in = input_shape
    h_out, w_out, _ = y.shape
    xp = np.zeros((h + pt + pb, wd + pl + pr, c_in), dtype=y.dtype)
    for i in range(fh):
        for j in range(fw):
            rows = slice(i * dh, i * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (w_out - 1) + 1, sw)
            xp[rows, cols, :] += y @ w[i, j].T
    if mode == "constant":
        return xp[pt : pt + h, pl : pl + wd, :]
    # the padded border copied image pixels: add its share back onto them
    x = np.zeros(input_shape, dtype=y.dtype)
    rows = np.pad(np.arange(h), (pt, pb), mode=mode)
    cols = np.pad(np.arange(wd), (pl, pr), mode=mode)
    np.add.at(x, (rows[:, None], cols[None, :]), xp)
    return x
'''

#: The app's own :func:`~deconv_gui.core.groups.dense_groups` (plain NumPy), printed from
#: its source: the script spreads the groups exactly as the app does.
NUMPY_DENSE_FILTER = "\n" + inspect.getsource(dense_groups)

NUMPY_LAYER = '''
def forward(v, w=weights):
    """A v: the layer's linear part (no bias)."""
    return conv2d(v, w, 0, stride, padding, dilation, padding_mode)


def adjoint(r, w=weights):
    """A^T r: the transposed convolution (the adjoint, not an inverse)."""
    return conv2d_transpose(r, w, x.shape, stride, padding, dilation, padding_mode)
'''

NUMPY_PINV = '''
def pinv(data, reg=0.0, a=forward, a_t=adjoint):
    """A+ data: the smallest image that the layer maps to data (Tikhonov when reg > 0).

    A is a scipy LinearOperator over a and a_t, the layer's forward and adjoint unless
    given (no matrix is ever formed).
    LSQR started at 0 stays in the row space of A, so it converges to the minimum-norm
    least-squares solution; damp**2 = reg gives argmin |A x - data|^2 + reg |x|^2.
    It runs in float64 (LSQR's tolerance needs the precision), the result in x's dtype.
    """
    A = LinearOperator(
        (y.size, x.size),
        matvec=lambda v: a(v.reshape(x.shape)).ravel(),
        rmatvec=lambda r: a_t(r.reshape(y.shape)).ravel(),
        dtype=np.float64,
    )
    found = lsqr(
        A,
        data.astype(np.float64).ravel(),
        damp=np.sqrt(reg),
        atol=rtol,
        btol=rtol,
        iter_lim=max_iter,
    )
    if found[1] not in (1, 2):
        print(f"LSQR did NOT converge in {found[2]} iterations: raise max_iter")
    return found[0].reshape(x.shape).astype(x.dtype)
'''

#: ``norm_bound`` and ``fista`` of both snippets: one text for NumPy arrays and torch
#: tensors (``abs``, ``ones_like``, ``sum`` and ``linalg.norm`` are both libraries') but
#: for the array module, written ``xp`` here and named by :func:`for_module`.
FISTA = '''
def norm_bound():
    """An upper bound of |A|^2 (Schur's test: max row sum times max column sum of |A|)."""
    w_abs = abs(weights)
    rows = forward(xp.ones_like(x), w_abs).max()
    cols = adjoint(xp.ones_like(y), w_abs).max()
    return float(rows * cols)


def fista(prox, x0, lipschitz, n_iter, tol, reg=0.0):
    """Accelerated proximal gradient on 1/2 |A x - (y - b)|^2 + reg/2 |x|^2 + g(x).

    prox(v, step) is the proximal map of step * g; the momentum restarts whenever it
    points uphill (O'Donoghue and Candes). Stops when |x_k - x_k-1| <= tol |x_k|.
    """
    data = y - bias
    step = 1.0 / (lipschitz + reg)
    x_k, z, t = x0, x0, 1.0  # never changed in place: every step makes new arrays
    for k in range(1, n_iter + 1):
        grad = adjoint(forward(z) - data) + reg * z
        x_new = prox(z - step * grad, step)
        if float(xp.sum((z - x_new) * (x_new - x_k))) > 0:
            t = 1.0  # restart
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = x_new + ((t - 1) / t_new) * (x_new - x_k)
        change = float(xp.linalg.norm(x_new - x_k))
        change /= max(float(xp.linalg.norm(x_new)), 1e-300)
        x_k, t = x_new, t_new
        if change <= tol:
            break
    return x_k, k
'''

#: The start of both snippets' ``richardson_lucy`` (written ``xp`` as :data:`FISTA`): each
#: adds its start image and loop, where NumPy and torch mask differently.
RL_START = '''
def richardson_lucy(data, n_iter):
    """n_iter steps of x <- x * A^T(data / A x) / A^T 1, from the flat image of data's flux.

    Needs a non-negative filter and data; pixels that no output sees stay 0.
    """
    lowest = float(weights.min())
    if lowest < 0:  # the app refuses it too: EM needs a filter without negative weights
        raise SystemExit(f"weights: Richardson-Lucy needs them >= 0, got {lowest:g}")
    cover = adjoint(xp.ones_like(data))
    seen = cover > 1e-12 * cover.max()
'''

#: ``total_variation`` and ``tv_prox`` of both snippets: the same text for NumPy arrays
#: and torch tensors (``clip(min=...)`` is both libraries' method) but for the array
#: module, written ``xp`` here and named by :func:`for_module` (in :func:`tv_block`).
TV_PROX = '''
def total_variation(u):
    """Isotropic in space, summed over channels."""
    g = grad2d(u)
    return float(xp.sqrt(g[0] ** 2 + g[1] ** 2).sum())


def tv_prox(lam, nonneg, n_inner=20):
    """The prox of step * lam * TV (and of x >= 0): Beck and Teboulle's dual projected
    gradient on the field q (|q| <= 1 per pixel and channel), warm-started at every call."""
    q = xp.zeros((2, *x.shape), dtype=x.dtype)

    def prox(v, step):
        nonlocal q
        mu = step * lam
        for _ in range(n_inner):
            u = v - mu * grad2d_adjoint(q)
            if nonneg:
                u = u.clip(min=0)
            q = q + grad2d(u) / (8 * mu)  # 8 >= |grad2d|^2
            q = q / xp.sqrt(q[0] ** 2 + q[1] ** 2).clip(min=1)
        u = v - mu * grad2d_adjoint(q)
        return u.clip(min=0) if nonneg else u

    return prox
'''


def for_module(text: str, module: str) -> str:
    """A block written for either array library (:data:`FISTA`, :data:`TV_PROX`), its
    ``xp.`` calls made the snippet's module's (``"np"`` or ``"torch"``)."""
    return text.replace("xp.", f"{module}.")


def tv_block(grad2d: str, module: str) -> str:
    """The TV block of a snippet: its ``grad2d`` and ``grad2d_adjoint``, then
    :data:`TV_PROX` on the array module ``module`` (``"np"`` or ``"torch"``)."""
    return grad2d.rstrip("\n") + "\n\n" + for_module(TV_PROX, module)


NUMPY_FISTA = for_module(FISTA, "np")

NUMPY_RL = (
    for_module(RL_START, "np")
    + """\
    x_k = np.where(seen, float(data.sum()) / float(cover[seen].sum()), 0.0).astype(data.dtype)
    for _ in range(n_iter):
        prediction = forward(x_k)
        ratio = np.divide(data, prediction, out=np.zeros_like(data), where=prediction > 0)
        x_k = x_k * np.divide(adjoint(ratio), cover, out=np.zeros_like(x_k), where=seen)
    return x_k
"""
)


NUMPY_TV = tv_block(
    '''
def grad2d(u):
    """Forward differences (2, H, W, C), zero past the last row and column."""
    g = np.zeros((2, *u.shape), dtype=u.dtype)
    g[0, :-1] = u[1:] - u[:-1]
    g[1, :, :-1] = u[:, 1:] - u[:, :-1]
    return g


def grad2d_adjoint(p):
    """The adjoint of grad2d (minus the divergence)."""
    d = np.zeros(p.shape[1:], dtype=p.dtype)
    d[:-1] -= p[0, :-1]
    d[1:] += p[0, :-1]
    d[:, :-1] -= p[1, :, :-1]
    d[:, 1:] += p[1, :, :-1]
    return d
''',
    "np",
)
