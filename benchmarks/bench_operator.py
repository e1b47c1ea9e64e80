"""Time conv2d and conv2d_transpose against PyTorch's CPU kernels.

Run ``python benchmarks/bench_operator.py [--repeats N] [--tables ...]``. Tables: a
1024×1024×3 image (``size``), its padding modes (``modes``), a depthwise layer
(``depthwise``), and layers with 32-256 channels as real networks have them
(``channels``: target ≤ 2× PyTorch forward and adjoint, float32 and float64, with
every padding mode and with groups). PyTorch is optional (never a
dependency of the package): without it the baseline is a plain
``sliding_window_view`` + ``einsum`` implementation. Each time is the minimum (default)
or the median (``--median``) of ``--repeats`` interleaved runs after one warm-up; PyTorch
runs on 2 threads to match the targets. On a shared, loaded machine the minimum is the
run least disturbed by other processes, and ratios are only compared within one run.

Ratio columns are our time divided by the baseline's, next to the issue's target
(``fwd ≤ 0.3×`` means the forward pass must take at most 0.3 times PyTorch's time).

``OMP_WAIT_POLICY`` defaults to ``PASSIVE`` here (set before torch loads): with the
default active policy PyTorch's OpenMP workers keep spinning after each call, and since
the runs are interleaved on 2 cores that spinning steals a core from the next numpy call
(measured: our stride-2 forward 5.7 ms instead of 3.7 ms, PyTorch's times unchanged).
``OPENBLAS_THREAD_TIMEOUT`` defaults to 4 for the same reason (set before numpy loads
OpenBLAS): OpenBLAS's worker threads otherwise spin for about 2²⁸ cycles after each
product; on a loaded 2-core machine that made our many-channel rows 2-30× slower from
one run to the next, in CPU time as much as in wall time.

``--blas-threads 1`` measures the configuration the window runs in: BLAS on one thread,
the kernel threads sharing the blocks of a layer (numpy's ``matmul`` in each). With BLAS
threads of their own (the default, as many as ``--threads``) the threads of each product
wait for each other in a busy loop (OpenBLAS's ``YIELDING`` is a run of ``nop`` on
x86-64), so on a loaded machine a thread that loses its core stalls its partner: the
many-channel rows then vary several-fold from run to run (medians up to 50× the minima
were seen at a load of 9 on 2 CPUs), the one-thread-BLAS rows much less.
"""

from __future__ import annotations

import os

# Before numpy loads OpenBLAS (see the module docstring).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import argparse
import time
from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from deconv_gui.core import conv2d, conv2d_transpose
from deconv_gui.core.groups import dense_filter
from deconv_gui.core.threads import limit_blas_threads, set_num_threads

__all__ = ["CHANNEL_ROWS", "ROWS", "main"]

# (dtype, filter shape, stride, padding, dilation, forward target, adjoint target)
ROWS = [
    (np.float32, (3, 3, 3, 1), 1, 1, 1, 0.3, 0.3),
    (np.float32, (3, 3, 3, 1), 2, 1, 1, 0.6, 1.5),
    (np.float64, (3, 3, 3, 1), 1, 1, 1, 1.5, 1.5),
    (np.float64, (3, 3, 3, 1), 2, 1, 1, 1.5, 1.5),
    (np.float32, (3, 3, 3, 8), 1, 1, 1, 1.5, 1.5),
    (np.float32, (3, 3, 3, 8), 2, 1, 1, 1.5, 1.5),
    (np.float32, (3, 3, 3, 1), 1, 2, 2, 1.5, 1.5),
    (np.float64, (3, 3, 3, 8), 2, 2, 2, 1.5, 1.5),
]


#: How the repeated times of one function are summarised (``main`` may set the median).
SUMMARY: list[Callable[[list[float]], float]] = [min]
#: The clock: wall time, or with ``--clock cpu`` this process's CPU time (all its threads),
#: which other processes on a loaded machine disturb much less.
CLOCK: list[Callable[[], float]] = [time.perf_counter]
#: Threads for both sides (``--threads``).
THREADS = [2]


def median_ms(funcs: list[Callable[[], object]], repeats: int) -> list[float]:
    """Summarised (minimum by default) wall time of each ``func()`` in milliseconds, after
    one warm-up call each.

    The functions run interleaved (``f0, f1, f2, f0, f1, …``) so that background load on
    the machine hits all of them alike: the ratios are fairer than the absolute times.
    """
    for func in funcs:
        func()
    times: list[list[float]] = [[] for _ in funcs]
    for _ in range(repeats):
        for func, bucket in zip(funcs, times, strict=True):
            start = CLOCK[0]()
            func()
            bucket.append(CLOCK[0]() - start)
    return [1e3 * float(SUMMARY[0](bucket)) for bucket in times]


def torch_baseline(x, w, y, stride, padding, dilation):
    """Closures running PyTorch's conv2d / conv_transpose2d on the same data (NCHW)."""
    import torch

    torch.set_num_threads(THREADS[0])
    functional = torch.nn.functional
    x_t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis]))
    w_t = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    y_t = torch.from_numpy(np.ascontiguousarray(y.transpose(2, 0, 1)[np.newaxis]))
    fh, fw = w.shape[:2]
    out_pad = tuple(
        x.shape[a] - ((y.shape[a] - 1) * stride - 2 * padding + dilation * (f - 1) + 1)
        for a, f in ((0, fh), (1, fw))
    )
    kw = {"stride": stride, "padding": padding, "dilation": dilation}
    return (
        lambda: functional.conv2d(x_t, w_t, **kw),
        lambda: functional.conv_transpose2d(y_t, w_t, output_padding=out_pad, **kw),
    )


def einsum_baseline(x, w, y, stride, padding, dilation):
    """A plain numpy baseline: a strided window view contracted with einsum (forward only).

    The adjoint baseline is the same forward (the adjoint costs about as much).
    """
    xp = np.pad(x, ((padding, padding), (padding, padding), (0, 0)))
    fh, fw = w.shape[:2]
    span = (dilation * (fh - 1) + 1, dilation * (fw - 1) + 1)

    def forward():
        win = sliding_window_view(xp, span, axis=(0, 1))[::stride, ::stride]
        win = win[..., ::dilation, ::dilation]  # (H_out, W_out, C_in, f_h, f_w)
        return np.einsum("hwcij,ijco->hwo", win, w, optimize=True)

    return forward, forward


def main(argv: list[str] | None = None) -> int:
    """Print the benchmark table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--median", action="store_true", help="median instead of minimum")
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=("size", "modes", "depthwise", "channels"),
        default=["size", "modes", "depthwise", "channels"],
        help="which tables to print",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for us (kernels and BLAS) and PyTorch"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="BLAS threads (default: --threads; 1 is how the window runs, the kernel threads "
        "then share the products)",
    )
    parser.add_argument(
        "--clock", choices=("wall", "cpu"), default="wall", help="wall time or process CPU time"
    )
    args = parser.parse_args(argv)
    if args.median:
        SUMMARY[0] = np.median
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    THREADS[0] = args.threads
    blas_threads = args.threads if args.blas_threads is None else args.blas_threads
    set_num_threads(args.threads, blas=False)
    limit_blas_threads(blas_threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{args.clock} time, {'median' if args.median else 'minimum'} of {args.repeats} "
        "interleaved runs; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs at the start; {args.threads} threads "
        f"({blas_threads} for BLAS)"
    )
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see the module docstring
    try:
        import torch  # noqa: F401

        baseline, name = torch_baseline, "torch"
    except ImportError:
        baseline, name = einsum_baseline, "einsum"
    rng = np.random.default_rng(0)
    if "size" in args.tables:
        size_table(args.repeats, args.size, rng, baseline, name)
    if "modes" in args.tables:
        padding_modes(args.repeats, args.size, rng, with_torch=name == "torch")
    if "depthwise" in args.tables:
        depthwise(args.repeats, args.size, rng, with_torch=name == "torch")
    if "channels" in args.tables and name == "torch":
        channels(args.repeats, rng)
    return 0


def size_table(repeats: int, size: int, rng, baseline, name: str) -> None:
    """The 1024² RGB rows (``ROWS``) against the baseline, with their targets."""
    header = (
        f"{'dtype':8} {'filter':9} {'s':>2} {'p':>2} {'d':>2} | {'fwd ms':>7} {'adj ms':>7} | "
        f"{name + ' fwd':>10} {name + ' adj':>10} | {'fwd ratio (target)':>19} "
        f"{'adj ratio (target)':>19}"
    )
    print(header)
    print("-" * len(header))
    for dtype, fshape, stride, padding, dilation, fwd_target, adj_target in ROWS:
        x = rng.standard_normal((size, size, 3)).astype(dtype)
        w = rng.standard_normal(fshape).astype(dtype)
        kw = {"stride": stride, "padding": padding, "dilation": dilation}
        y = conv2d(x, w, **kw)
        base_fwd, base_adj = baseline(x, w, y, stride, padding, dilation)
        t_fwd, t_adj, b_fwd, b_adj = median_ms(
            [
                lambda x=x, w=w, kw=kw: conv2d(x, w, **kw),
                lambda y=y, w=w, kw=kw, s=x.shape: conv2d_transpose(y, w, input_shape=s, **kw),
                base_fwd,
                base_adj,
            ],
            repeats,
        )
        r_fwd, r_adj = t_fwd / b_fwd, t_adj / b_adj
        ok_fwd = "ok" if r_fwd <= fwd_target else "MISS"
        ok_adj = "ok" if r_adj <= adj_target else "MISS"
        print(
            f"{np.dtype(dtype).name:8} {'×'.join(map(str, fshape)):9} {stride:>2} {padding:>2} "
            f"{dilation:>2} | {t_fwd:7.2f} {t_adj:7.2f} | {b_fwd:10.2f} {b_adj:10.2f} | "
            f"{r_fwd:6.2f} (≤{fwd_target:.1f}) {ok_fwd:>4}  {r_adj:6.2f} (≤{adj_target:.1f}) "
            f"{ok_adj:>4}"
        )


#: (stride, padding mode) rows of the padding-mode table: float32, 3×3×3×1, padding 1.
MODE_ROWS = [(s, m) for s in (1, 2) for m in ("reflect", "circular", "replicate")]


def padding_modes(repeats: int, size: int, rng, *, with_torch: bool) -> None:
    """Our reflect/circular/replicate time over our zero-padding time (target ≤ 1.2×),
    next to PyTorch's same ratio (``F.pad`` then an unpadded conv; adjoint by autograd)."""
    print()
    header = (
        f"{'s':>2} {'mode':9} | {'fwd ms':>7} {'zeros':>7} {'ratio':>6} | {'adj ms':>7} "
        f"{'zeros':>7} {'ratio':>6} | {'torch fwd ratio':>15} {'torch adj ratio':>15}"
    )
    print(header)
    print("-" * len(header))
    x = rng.standard_normal((size, size, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 1)).astype(np.float32)
    for stride, mode in MODE_ROWS:
        kw = {"stride": stride, "padding": 1}
        mk = {**kw, "padding_mode": mode}
        y = conv2d(x, w, **kw)
        funcs = [
            lambda mk=mk: conv2d(x, w, **mk),
            lambda kw=kw: conv2d(x, w, **kw),
            lambda mk=mk, y=y: conv2d_transpose(y, w, input_shape=x.shape, **mk),
            lambda kw=kw, y=y: conv2d_transpose(y, w, input_shape=x.shape, **kw),
        ]
        if with_torch:
            funcs += _torch_modes(x, w, y, stride, mode)
        times = median_ms(funcs, repeats)
        line = (
            f"{stride:>2} {mode:9} | {times[0]:7.2f} {times[1]:7.2f} {times[0] / times[1]:6.2f} | "
            f"{times[2]:7.2f} {times[3]:7.2f} {times[2] / times[3]:6.2f} |"
        )
        if with_torch:
            line += f" {times[4] / times[5]:15.2f} {times[6] / times[7]:15.2f}"
        print(line)


def _torch_modes(x, w, y, stride, mode):
    """PyTorch's padded forward and adjoint, and its zero-padding ones, as closures."""
    import torch

    functional = torch.nn.functional
    x_t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis]))
    w_t = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    y_t = torch.from_numpy(np.ascontiguousarray(y.transpose(2, 0, 1)[np.newaxis]))

    def padded(x_in):
        return functional.conv2d(functional.pad(x_in, (1, 1, 1, 1), mode=mode), w_t, stride=stride)

    def padded_adjoint():
        x_req = x_t.clone().requires_grad_(True)
        return torch.autograd.grad(padded(x_req), x_req, grad_outputs=y_t)[0]

    def zeros_adjoint():
        x_req = x_t.clone().requires_grad_(True)
        out = functional.conv2d(x_req, w_t, stride=stride, padding=1)
        return torch.autograd.grad(out, x_req, grad_outputs=y_t)[0]

    return [
        lambda: padded(x_t),
        lambda: functional.conv2d(x_t, w_t, stride=stride, padding=1),
        padded_adjoint,
        zeros_adjoint,
    ]


def depthwise(repeats: int, size: int, rng, *, with_torch: bool) -> None:
    """Depthwise ``groups=3`` (3×3×1×3, padding 1) against PyTorch's same layer.

    Target: our time over PyTorch's within the float32 3×3×3×1 zero-padding rows' targets
    of the same stride (``ROWS``). Also shown: PyTorch's 3→1 time, the depthwise layer over
    our own 3→1 layer (three output channels instead of one) and over the same layer run
    as one dense block-diagonal 3×3×3×3 filter (what the kernels did before).
    """
    print()
    header = (
        f"{'s':>2} {'dir':3} | {'dw ms':>7} {'3→1 ms':>7} {'dense ms':>8} | "
        f"{'torch dw':>8} {'torch 3→1':>9} | {'dw/torch (target)':>18} | "
        f"{'dw/3→1':>6} {'dw/dense':>8}"
    )
    print(header)
    print("-" * len(header))
    x = rng.standard_normal((size, size, 3)).astype(np.float32)
    w_dw = rng.standard_normal((3, 3, 1, 3)).astype(np.float32)
    w_one = rng.standard_normal((3, 3, 3, 1)).astype(np.float32)
    w_dense = dense_filter(w_dw, 3, False)
    targets = {
        row[2]: row[5:7]
        for row in ROWS
        if row[0] == np.float32 and row[1] == (3, 3, 3, 1) and row[3:5] == (1, 1)
    }
    for stride in (1, 2):
        kw = {"stride": stride, "padding": 1}
        y_dw, y_one = conv2d(x, w_dw, groups=3, **kw), conv2d(x, w_one, **kw)
        funcs = [
            lambda kw=kw: conv2d(x, w_dw, groups=3, **kw),
            lambda kw=kw: conv2d(x, w_one, **kw),
            lambda kw=kw: conv2d(x, w_dense, **kw),
            lambda kw=kw, y=y_dw: conv2d_transpose(y, w_dw, input_shape=x.shape, groups=3, **kw),
            lambda kw=kw, y=y_one: conv2d_transpose(y, w_one, input_shape=x.shape, **kw),
            lambda kw=kw, y=y_dw: conv2d_transpose(y, w_dense, input_shape=x.shape, **kw),
        ]
        if with_torch:
            funcs += _torch_depthwise(x, w_dw, w_one, y_dw, y_one, stride)
        times = median_ms(funcs, repeats)
        for k, direction in enumerate(("fwd", "adj")):
            ours, one, dense = times[3 * k : 3 * k + 3]
            line = f"{stride:>2} {direction:3} | {ours:7.2f} {one:7.2f} {dense:8.2f} | "
            if with_torch:
                t_dw, t_one = times[6 + 2 * k : 8 + 2 * k]
                ratio, target = ours / t_dw, targets[stride][k]
                ok = "ok" if ratio <= target else "MISS"
                line += f"{t_dw:8.2f} {t_one:9.2f} | {ratio:6.2f} (≤{target:.1f}) {ok:>4} | "
            else:
                line += f"{'':8} {'':9} | {'':18} | "
            print(line + f"{ours / one:6.2f} {ours / dense:8.2f}")


def _torch_depthwise(x, w_dw, w_one, y_dw, y_one, stride):
    """PyTorch's depthwise and 3→1 forward and transposed passes, as closures."""
    import torch

    functional = torch.nn.functional

    def nchw(a):
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)[np.newaxis]))

    def oihw(w):
        return torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))

    x_t, y_dw_t, y_one_t = nchw(x), nchw(y_dw), nchw(y_one)
    w_dw_t, w_one_t = oihw(w_dw), oihw(w_one)
    kw = {"stride": stride, "padding": 1}
    pad = x.shape[0] - ((y_dw.shape[0] - 1) * stride - 2 + 3)
    return [
        lambda: functional.conv2d(x_t, w_dw_t, groups=3, **kw),
        lambda: functional.conv2d(x_t, w_one_t, **kw),
        lambda: functional.conv_transpose2d(y_dw_t, w_dw_t, groups=3, output_padding=pad, **kw),
        lambda: functional.conv_transpose2d(y_one_t, w_one_t, output_padding=pad, **kw),
    ]


#: (input (H, W, C_in), filter (f_h, f_w, C_in/groups, C_out), stride, padding, mode,
#: groups) of the many-channel table: ResNet-like layers, then padding modes and groups.
CHANNEL_ROWS = [
    ((56, 56, 64), (3, 3, 64, 64), 1, 1, "zeros", 1),
    ((56, 56, 64), (3, 3, 64, 128), 2, 1, "zeros", 1),
    ((112, 112, 32), (3, 3, 32, 64), 2, 1, "zeros", 1),
    ((28, 28, 128), (3, 3, 128, 256), 2, 1, "zeros", 1),
    ((224, 224, 3), (7, 7, 3, 64), 2, 3, "zeros", 1),
    ((56, 56, 64), (3, 3, 64, 64), 1, 1, "reflect", 1),
    ((56, 56, 64), (3, 3, 64, 128), 2, 1, "replicate", 1),
    ((56, 56, 64), (3, 3, 64, 64), 1, 1, "circular", 1),
    ((56, 56, 64), (3, 3, 32, 64), 1, 1, "zeros", 2),
    ((56, 56, 128), (3, 3, 32, 128), 2, 1, "zeros", 4),
]
#: Target of the many-channel table: our time at most this many times PyTorch's.
CHANNEL_TARGET = 2.0


def channels(repeats: int, rng) -> None:
    """Layers with many channels, float32 and float64: our time over PyTorch's (forward:
    ``F.pad`` then ``conv2d``; adjoint: ``conv_transpose2d`` for zeros, else autograd)."""
    print()
    header = (
        f"{'dtype':8} {'input':12} {'filter':12} {'s':>1} {'mode':9} {'g':>2} | "
        f"{'fwd ms':>7} {'torch':>7} {'ratio':>6} | {'adj ms':>7} {'torch':>7} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for dtype in (np.float32, np.float64):
        for shape, fshape, stride, padding, mode, groups in CHANNEL_ROWS:
            x = rng.standard_normal(shape).astype(dtype)
            w = rng.standard_normal(fshape).astype(dtype)
            kw = {"stride": stride, "padding": padding, "padding_mode": mode, "groups": groups}
            y = conv2d(x, w, **kw)
            funcs = [
                lambda x=x, w=w, kw=kw: conv2d(x, w, **kw),
                lambda y=y, w=w, kw=kw, s=x.shape: conv2d_transpose(y, w, input_shape=s, **kw),
                *_torch_layer(x, w, y, kw),
            ]
            ours_f, ours_a, torch_f, torch_a = median_ms(funcs, repeats)
            r_f, r_a = ours_f / torch_f, ours_a / torch_a
            marks = ["ok" if r <= CHANNEL_TARGET else "MISS" for r in (r_f, r_a)]
            print(
                f"{np.dtype(dtype).name:8} {'×'.join(map(str, shape)):12} "
                f"{'×'.join(map(str, fshape)):12} {stride:>1} {mode:9} {groups:>2} | "
                f"{ours_f:7.2f} {torch_f:7.2f} {r_f:6.2f} {marks[0]:>4} | "
                f"{ours_a:7.2f} {torch_a:7.2f} {r_a:6.2f} {marks[1]:>4}"
            )


def _torch_layer(x, w, y, kw):
    """PyTorch's forward and adjoint of one layer (NCHW), as closures."""
    import torch

    torch.set_num_threads(THREADS[0])
    functional = torch.nn.functional
    x_t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis]))
    w_t = torch.from_numpy(np.ascontiguousarray(w.transpose(3, 2, 0, 1)))
    y_t = torch.from_numpy(np.ascontiguousarray(y.transpose(2, 0, 1)[np.newaxis]))
    stride, p, mode, groups = kw["stride"], kw["padding"], kw["padding_mode"], kw["groups"]
    if mode == "zeros":
        out_pad = tuple(
            x.shape[a] - ((y.shape[a] - 1) * stride - 2 * p + (w.shape[a] - 1) + 1) for a in (0, 1)
        )
        conv = {"stride": stride, "padding": p, "groups": groups}
        return (
            lambda: functional.conv2d(x_t, w_t, **conv),
            lambda: functional.conv_transpose2d(y_t, w_t, output_padding=out_pad, **conv),
        )

    def forward(x_in):
        padded = functional.pad(x_in, (p, p, p, p), mode=mode)
        return functional.conv2d(padded, w_t, stride=stride, groups=groups)

    def adjoint():
        x_req = x_t.clone().requires_grad_(True)
        return torch.autograd.grad(forward(x_req), x_req, grad_outputs=y_t)[0]

    return (lambda: forward(x_t), adjoint)


if __name__ == "__main__":
    raise SystemExit(main())
