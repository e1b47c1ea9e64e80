"""matching_input_sizes against brute force, and its link to PyTorch's output_padding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from deconv_gui.core import ConvGeometry, conv2d_transpose, matching_input_sizes
from deconv_gui.io.snippets import torch_output_padding


def _out(n, f, s, p, d):
    return (n + 2 * p - d * (f - 1) - 1) // s + 1  # PyTorch's formula, written out


@pytest.mark.parametrize(
    ("f", "s", "p", "d"),
    list(itertools.product((1, 2, 3, 5), (1, 2, 3, 4), (0, 1, 2, 5), (1, 2, 3))),
)
def test_matches_brute_force_over_sizes_1_to_64(f, s, p, d):
    by_output: dict[int, list[int]] = {}
    for n in range(1, 65):
        by_output.setdefault(_out(n, f, s, p, d), []).append(n)
    for n_out, sizes in by_output.items():
        if n_out < 1:
            continue
        got = matching_input_sizes(n_out, f, s, p, d)
        # brute force stops at 64: compare the part of the answer inside 1..64
        assert [n for n in got if n <= 64] == sizes
        assert got == sorted(got) and len(got) <= s
        assert all(_out(n, f, s, p, d) == n_out for n in got)
    # an output size that no input in 1..64 reaches has no answer in 1..64 either
    for n_out in range(1, 20):
        if n_out not in by_output:
            assert [n for n in matching_input_sizes(n_out, f, s, p, d) if n <= 64] == []


def test_the_question_example():
    assert matching_input_sizes(3, 3, stride=2) == [7, 8]
    assert matching_input_sizes(1, 3, stride=1, padding=5) == []  # padding alone gives more


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"output_size": 0}, "output_size"),
        ({"output_size": 2.0}, "output_size"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"stride": 0}, "stride"),
        ({"stride": True}, "stride"),
        ({"padding": -1}, "padding"),
        ({"dilation": 0}, "dilation"),
        ({"dilation": "2"}, "dilation"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    args = {"output_size": 3, "kernel_size": 3, "stride": 2, "padding": 0, "dilation": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        matching_input_sizes(**args)


def test_torch_output_padding_is_the_position_in_the_run():
    for n, f, s, p, d in itertools.product(range(1, 20), (1, 3), (1, 2, 3), (0, 1, 4), (1, 2)):
        if _out(n, f, s, p, d) < 1:
            continue
        geometry = ConvGeometry((n, n, 1), (f, f, 1), s, p, d)
        sizes = matching_input_sizes(_out(n, f, s, p, d), f, s, p, d)
        assert n in sizes
        pad = torch_output_padding(geometry)[0]
        assert 0 <= pad < s
        assert n == (_out(n, f, s, p, d) - 1) * s - 2 * p + d * (f - 1) + 1 + pad


def test_every_matching_size_is_a_valid_transpose_target():
    rng = np.random.default_rng(0)
    w = rng.random((3, 3, 2, 1))
    y = rng.random((3, 3, 1))
    for n in matching_input_sizes(3, 3, stride=3, padding=1):
        assert conv2d_transpose(y, w, input_shape=(n, n, 2), stride=3, padding=1).shape == (n, n, 2)


def test_conv_transpose_with_output_padding_agrees_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 3, 2, 2))
    for n in matching_input_sizes(4, 3, stride=3, padding=1, dilation=2):
        y = rng.standard_normal((4, 4, 2))
        geometry = ConvGeometry((n, n, 2), w.shape, 3, 1, 2)
        ours = conv2d_transpose(y, w, input_shape=(n, n, 2), stride=3, padding=1, dilation=2)
        theirs = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(y).permute(2, 0, 1)[None],
            torch.from_numpy(w).permute(3, 2, 0, 1),
            stride=3,
            padding=1,
            dilation=2,
            output_padding=torch_output_padding(geometry),
        )
        np.testing.assert_allclose(ours, theirs[0].permute(1, 2, 0).numpy(), atol=1e-12)
