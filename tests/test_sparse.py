"""ConvOperator.to_sparse against to_dense and apply, and the CLI's --save-matrix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from deconv_gui.cli import main
from deconv_gui.core import ConvGeometry, ConvOperator, make_filter


def _random_operator(rng, dtype=np.float64):
    while True:
        fh, fw = rng.integers(1, 5, 2)
        c_in, c_out = rng.integers(1, 4, 2)
        h, w = rng.integers(1, 12, 2)
        stride, padding, dilation = (
            rng.integers(1, 4, 2),
            rng.integers(0, 4, 2),
            rng.integers(1, 3, 2),
        )
        try:
            geometry = ConvGeometry(
                (int(h), int(w), int(c_in)),
                (int(fh), int(fw), int(c_in), int(c_out)),
                tuple(map(int, stride)),
                tuple(map(int, padding)),
                tuple(map(int, dilation)),
            )
        except ValueError:
            continue  # an empty output: draw again
        weights = rng.standard_normal(geometry.filter_shape).astype(dtype)
        weights[rng.random(weights.shape) < 0.2] = 0  # zero taps are not stored
        return ConvOperator(geometry, weights)


@pytest.mark.parametrize("seed", range(40))
def test_to_sparse_equals_to_dense(seed):
    rng = np.random.default_rng(seed)
    dtype = (np.float64, np.float32)[seed % 2]
    op = _random_operator(rng, dtype)
    a = op.to_sparse()
    assert isinstance(a, sparse.csr_array) and a.dtype == dtype and a.shape == op.shape
    np.testing.assert_array_equal(a.toarray(), op.to_dense())
    assert a.nnz == np.count_nonzero(op.to_dense())
    # a batch of images as columns: the same as apply on the batch
    batch = rng.standard_normal((3, *op.geometry.input_shape)).astype(dtype)
    via_sparse = (a @ batch.reshape(3, -1).T).T.reshape(3, *op.geometry.output_shape)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(via_sparse, op.apply(batch), rtol=tol, atol=tol)
    np.testing.assert_array_equal(op.to_sparse(np.float64).toarray(), op.to_dense(np.float64))


def test_to_sparse_has_no_size_limit_of_to_dense():
    op = ConvOperator.from_weights(np.ones((3, 3, 3)), input_shape=(128, 128, 3), stride=2)
    a = op.to_sparse()
    assert a.shape == (63 * 63, 128 * 128 * 3)
    x = np.random.default_rng(0).random((128, 128, 3))
    np.testing.assert_allclose(a @ x.ravel(), op.apply(x).ravel(), rtol=1e-12)


def test_to_sparse_refuses_a_bad_dtype():
    op = ConvOperator.from_weights(np.ones((3, 3, 1)), input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="dtype"):
        op.to_sparse(np.int32)


def test_cli_info_saves_the_matrix(tmp_path, capsys):
    path = tmp_path / "A"
    argv = ["info", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    assert main([*argv, "--padding", "0", "--save-matrix", str(path)]) == 0
    assert "A.npz" in capsys.readouterr().out
    a = sparse.load_npz(tmp_path / "A.npz")
    weights = make_filter("seed_question", size=3, in_channels=3)
    op = ConvOperator.from_weights(weights, input_shape=(7, 7, 3), stride=2)
    np.testing.assert_allclose(a.toarray(), op.to_dense())
    # a missing folder is made; a folder that cannot be (a file in the way) is refused
    assert main([*argv, "--save-matrix", str(tmp_path / "missing" / "A.npz")]) == 0
    assert (tmp_path / "missing" / "A.npz").is_file()
    capsys.readouterr()
    (tmp_path / "blocker").write_bytes(b"kept")
    assert main([*argv, "--save-matrix", str(tmp_path / "blocker" / "A.npz")]) == 1
    assert "--save-matrix" in capsys.readouterr().err
    assert (tmp_path / "blocker").read_bytes() == b"kept"
