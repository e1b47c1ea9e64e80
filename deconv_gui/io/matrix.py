"""The matrix ``A`` of a result as a ``scipy.sparse`` ``.npz`` file, for study elsewhere.

``A`` maps the image flattened in C order ``(H, W, C_in)`` to the forward output
flattened the same way ``(H_out, W_out, C_out)``, without the bias:
``y.ravel() = A @ x.ravel() + b`` repeated per output pixel. It is built by
:meth:`~deconv_gui.core.ConvOperator.to_sparse` (no dense intermediate) and written
with ``scipy.sparse.save_npz``; ``scipy.sparse.load_npz`` reads it back.
"""

from __future__ import annotations

import io

import numpy as np

from ..core import ConvGeometry, ConvOperator

__all__ = [
    "MATRIX_NAME",
    "MATRIX_NONZERO_LIMIT",
    "check_matrix_size",
    "matrix_npz_bytes",
    "nonzeros_bound",
]

#: The file name of ``A`` in an export folder.
MATRIX_NAME = "A.npz"

#: The most non-zeros an export writes (about 32 MB in memory, a second or two to build
#: and compress); larger matrices are refused with the numbers, before anything is built.
MATRIX_NONZERO_LIMIT = 2_000_000


def nonzeros_bound(geometry: ConvGeometry) -> int:
    """At most this many non-zeros: one per output value and tap reading its group.

    Exact away from the borders (zero padding and non-zero weights); a border row of a
    zero-padded convolution reads fewer pixels.
    """
    fh, fw, c_group, _ = geometry.filter_shape
    return geometry.n_equations * fh * fw * c_group


def check_matrix_size(geometry: ConvGeometry, limit: int = MATRIX_NONZERO_LIMIT) -> None:
    """Refuse (``ValueError``, with the numbers) a matrix with more than ``limit`` non-zeros."""
    bound = nonzeros_bound(geometry)
    if bound > limit:
        megabytes = bound * 16 / 1e6  # a float64 value and an int64 column index each
        raise ValueError(
            f"the matrix A would have up to {bound:,} non-zeros (~{megabytes:,.0f} MB), "
            f"more than the {limit:,} an export writes; shrink the work size, or use "
            "'deconv-gui info --save-matrix A.npz'"
        )


def matrix_npz_bytes(
    geometry: ConvGeometry, weights: np.ndarray, *, limit: int = MATRIX_NONZERO_LIMIT
) -> bytes:
    """The ``.npz`` bytes of ``A`` (float64 CSR, compressed) for ``geometry`` and ``weights``.

    Raises
    ------
    ValueError
        Saying how many non-zeros ``A`` would have and the limit, when above ``limit``.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from scipy import sparse
    >>> from deconv_gui.core import ConvGeometry
    >>> geometry = ConvGeometry((7, 7, 3), (3, 3, 3), stride=2)
    >>> a = sparse.load_npz(io.BytesIO(matrix_npz_bytes(geometry, np.ones((3, 3, 3)))))
    >>> a.shape, a.nnz
    ((9, 147), 243)
    """
    from scipy import sparse

    check_matrix_size(geometry, limit)
    matrix = ConvOperator(geometry, weights, dtype=np.float64).to_sparse()
    buffer = io.BytesIO()
    sparse.save_npz(buffer, matrix, compressed=True)
    return buffer.getvalue()
