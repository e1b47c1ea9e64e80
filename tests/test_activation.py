"""One layer with its activation: forward, J = D A, the backward rules and the ReLU preimage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deconv_gui.core import Params, run_pipeline
from deconv_gui.core.registry import PRIORS
from deconv_gui.io.session import load_session, save_session

RNG = np.random.default_rng(24)
X = RNG.random((9, 8, 3))
W = RNG.standard_normal((3, 3, 3, 4))
BIAS = (0.3, -0.2, -1.0, 0.5)


def _params(**changes) -> Params:
    base = {"bias": BIAS, "stride": 2, "padding": 1, "activation": "relu"}
    return Params(W, **{**base, **changes})


def _dense_a(params: Params, shape) -> np.ndarray:
    return params.operator(shape).to_dense().astype(np.float64)


def _act(z: np.ndarray, activation: str, slope: float) -> np.ndarray:
    if activation == "none":
        return z
    return np.where(z > 0, z, (0.0 if activation == "relu" else slope) * z)


def _loop_forward(x, w, b, stride, pad, activation, slope):
    """The layer by its definition: a literal loop of cross-correlation, bias, activation."""
    fh, fw, _, c_out = w.shape
    padded = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    h_out = (padded.shape[0] - fh) // stride + 1
    w_out = (padded.shape[1] - fw) // stride + 1
    out = np.zeros((h_out, w_out, c_out))
    for i in range(h_out):
        for j in range(w_out):
            for c in range(c_out):
                patch = padded[i * stride : i * stride + fh, j * stride : j * stride + fw]
                z = float(np.sum(patch * w[:, :, :, c])) + b[c]
                out[i, j, c] = (
                    z
                    if z > 0 or activation == "none"
                    else (0.0 if activation == "relu" else slope * z)
                )
    return out


@pytest.mark.parametrize(("activation", "slope"), [("relu", 0.01), ("leaky_relu", 0.2)])
def test_forward_is_the_activation_of_the_conv_as_torch_and_a_loop(activation, slope):
    torch = pytest.importorskip("torch")
    f = torch.nn.functional
    params = _params(activation=activation, leaky_slope=slope)
    result = run_pipeline(X, params)
    xt = torch.tensor(X.transpose(2, 0, 1)[None])
    wt = torch.tensor(W.transpose(3, 2, 0, 1))
    z = f.conv2d(xt, wt, torch.tensor(BIAS, dtype=torch.float64), stride=2, padding=1)
    ref = f.relu(z) if activation == "relu" else f.leaky_relu(z, slope)
    ref = ref[0].numpy().transpose(1, 2, 0)
    assert np.allclose(result.forward_output, ref, atol=1e-12)
    loop = _loop_forward(X, W, BIAS, 2, 1, activation, slope)
    assert np.allclose(result.forward_output, loop, atol=1e-12)
    assert (result.forward_output == 0).any() or activation == "leaky_relu"


def _custom_rule(torch, rule: str, slope: float):
    """An activation whose backward is backprop, deconvnet or guided backprop."""

    class Act(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return torch.where(z > 0, z, slope * z)

        @staticmethod
        def backward(ctx, grad):
            (z,) = ctx.saved_tensors
            forward_gain = torch.where(z > 0, 1.0, slope).to(grad.dtype)
            signal_gain = torch.where(grad > 0, 1.0, slope).to(grad.dtype)
            if rule == "backprop":
                return grad * forward_gain
            if rule == "deconvnet":
                return grad * signal_gain
            return grad * signal_gain * forward_gain

    return Act.apply


def _torch_projection(torch, rule, slope, signal):
    """``rule`` of ``signal`` through conv → activation, by autograd with a custom backward."""
    f = torch.nn.functional
    xt = torch.tensor(X.transpose(2, 0, 1)[None], requires_grad=True)
    wt = torch.tensor(W.transpose(3, 2, 0, 1))
    z = f.conv2d(xt, wt, torch.tensor(BIAS, dtype=torch.float64), stride=2, padding=1)
    out = _custom_rule(torch, rule, slope)(z)
    out.backward(torch.tensor(signal.transpose(2, 0, 1)[None]))
    return xt.grad[0].numpy().transpose(1, 2, 0)


@pytest.mark.parametrize(
    ("activation", "slope", "noise", "channel"),
    [("relu", 0.0, 0.0, None), ("leaky_relu", 0.1, 0.0, None), ("relu", 0.0, 0.3, None),
     ("leaky_relu", 0.1, 0.2, 2), ("relu", 0.0, 0.0, 1)],
)  # fmt: skip
def test_deconvnet_and_guided_backprop_against_torch_autograd(activation, slope, noise, channel):
    torch = pytest.importorskip("torch")
    params = _params(
        activation=activation,
        leaky_slope=slope if slope > 0 else 0.01,
        noise_sigma=noise,
        channel=channel,
        methods=("transposed", "deconvnet", "guided_backprop"),
    )
    result = run_pipeline(X, params)
    signal = np.array(result.forward_output)  # f(x₀) as measured (with the noise)
    if channel is not None:
        signal[..., [c for c in range(4) if c != channel]] = 0
    pictures = {}
    for rule in ("deconvnet", "guided_backprop"):
        ref = _torch_projection(torch, rule, slope, signal)
        assert np.allclose(result.panel(rule), ref, atol=1e-10), rule
        pictures[rule] = ref
    backprop = _torch_projection(torch, "backprop", slope, signal)
    if activation == "relu" and noise == 0:
        # one conv + ReLU: f(x₀) ≥ 0 is already 0 where the ReLU was off, so the three agree
        assert np.allclose(pictures["deconvnet"], backprop, atol=1e-10)
        assert np.allclose(pictures["guided_backprop"], backprop, atol=1e-10)
    else:
        assert not np.allclose(pictures["deconvnet"], pictures["guided_backprop"], atol=1e-6)


def test_without_activation_the_rules_are_the_transpose_of_y():
    params = _params(activation="none", methods=("deconvnet", "guided_backprop"))
    result = run_pipeline(X, params)
    a = _dense_a(params, X.shape)
    expected = (a.T @ result.forward_output.ravel()).reshape(X.shape)
    assert np.allclose(result.deconvnet, expected, atol=1e-12)
    assert np.allclose(result.guided_backprop, expected, atol=1e-12)


@pytest.mark.parametrize(("activation", "slope"), [("relu", 0.01), ("leaky_relu", 0.3)])
def test_linear_methods_use_the_dense_local_map(activation, slope):
    methods = ("transposed", "normalized_transposed", "pinv", "coverage", "nullspace")
    params = _params(activation=activation, leaky_slope=slope, methods=methods, rtol=1e-12)
    params = params.replace(max_iter=2000)
    result = run_pipeline(X, params)
    a = _dense_a(params, X.shape)
    z = a @ X.ravel() + np.broadcast_to(BIAS, result.forward_output.shape).ravel()
    gain = np.where(z > 0, 1.0, 0.0 if activation == "relu" else slope)
    j = gain[:, None] * a
    c = gain * np.broadcast_to(BIAS, result.forward_output.shape).ravel()
    y = result.forward_output.ravel()
    assert np.allclose(y, j @ X.ravel() + c, atol=1e-12)
    assert np.allclose(result.transposed.ravel(), j.T @ (y - c), atol=1e-10)
    assert np.allclose(result.transposed.ravel(), j.T @ j @ X.ravel(), atol=1e-10)
    cover = j.T @ np.ones(j.shape[0])
    assert np.allclose(result.coverage.ravel(), cover, atol=1e-12)
    normalised = np.divide(j.T @ (y - c), cover, out=np.zeros_like(cover), where=cover != 0)
    assert np.allclose(result.normalized_transposed.ravel(), normalised, atol=1e-9)
    j_pinv = np.linalg.pinv(j)
    scale = np.abs(X).max()
    assert np.allclose(result.pinv.ravel(), j_pinv @ (y - c), atol=1e-6 * scale)
    recoverable = j_pinv @ j @ X.ravel()
    assert np.allclose(result.recoverable.ravel(), recoverable, atol=1e-6 * scale)
    assert np.allclose(result.nullspace.ravel(), X.ravel() - recoverable, atol=1e-6 * scale)
    assert result.solver is not None and result.solver.converged
    assert result.metrics.reconstructions["pinv"].relative_residual < 1e-8


def test_activation_none_is_the_layer_as_before():
    methods = ("transposed", "pinv", "coverage", "nullspace")
    plain = run_pipeline(X, Params(W, bias=BIAS, stride=2, methods=methods))
    again = run_pipeline(X, Params(W, bias=BIAS, stride=2, methods=methods, activation="none"))
    for name in ("forward", "transposed", "pinv", "coverage", "recoverable", "nullspace"):
        assert plain.panel(name).tobytes() == again.panel(name).tobytes(), name


@pytest.mark.parametrize("prior", PRIORS)
def test_the_priors_refuse_an_activation_in_one_line(prior):
    with pytest.raises(ValueError, match=f"methods: {prior} needs activation none"):
        run_pipeline(X, _params(methods=(prior,)))


@pytest.mark.parametrize(("shape", "c_out", "shift"), [((7, 7, 3), 1, 0.3), ((6, 8, 2), 2, 0.1)])
def test_relu_preimage_through_the_pipeline_equals_the_convex_solver(shape, c_out, shift):
    cp = pytest.importorskip("cvxpy")
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal((3, 3, shape[2], c_out))
    b = tuple(rng.standard_normal(c_out) * 0.2 - shift)
    params = Params(w, bias=b, stride=2, padding=0, activation="relu", methods=("relu_preimage",))
    x0 = rng.standard_normal(shape)
    result = run_pipeline(x0, params)
    y = result.forward_output.ravel()
    a = _dense_a(params, shape)
    bb = np.broadcast_to(b, result.forward_output.shape).ravel()
    eq = y > 0
    x = cp.Variable(a.shape[1])
    constraints = [a[eq] @ x == y[eq] - bb[eq]]
    if (~eq).any():
        constraints.append(a[~eq] @ x <= -bb[~eq])
    cp.Problem(cp.Minimize(cp.sum_squares(x)), constraints).solve(solver=cp.CLARABEL)
    scale = max(np.abs(x.value).max(), 1)
    assert np.allclose(result.relu_preimage.ravel(), x.value, atol=1e-6 * scale)
    score = result.metrics.preimage
    assert score is not None and score.rank_computed
    assert (score.n_equalities, score.n_inequalities) == (eq.sum(), (~eq).sum())
    assert score.free_directions == a.shape[1] - np.linalg.matrix_rank(a[eq])
    assert result.prior_reports["relu_preimage"].converged
    assert "free directions" in result.prior_reports["relu_preimage"].message
    assert result.metrics.reconstructions["relu_preimage"].relative_residual < 1e-7


def test_relu_preimage_of_an_invertible_activation_is_a_pseudo_inverse():
    params = _params(activation="leaky_relu", leaky_slope=0.2, methods=("relu_preimage",))
    result = run_pipeline(X, params)
    y = result.forward_output.ravel()
    z = np.where(y < 0, y / 0.2, y) - np.broadcast_to(BIAS, result.forward_output.shape).ravel()
    expected = np.linalg.pinv(_dense_a(params, X.shape)) @ z
    assert np.allclose(result.relu_preimage.ravel(), expected, atol=1e-8)
    assert result.metrics.preimage is not None
    assert result.metrics.preimage.n_inequalities == 0
    none = run_pipeline(X, _params(activation="none", methods=("pinv", "relu_preimage")))
    assert np.allclose(none.relu_preimage, none.pinv, atol=1e-12)


def test_channel_must_be_an_output_channel():
    with pytest.raises(ValueError, match="channel must be an output channel from 0 to 3"):
        _params(channel=4)


def test_cli_writes_the_methods_and_refuses_bad_values_naming_the_flag(tmp_path, capsys):
    from deconv_gui.cli import main

    out = tmp_path / "out"
    methods = "deconvnet,guided_backprop,relu_preimage"
    argv = ["run", "--image", "seed_toy", "--filter", "random", "--bias", "-0.2"]
    code = main([*argv, "--activation", "relu", "--methods", methods, "--out", str(out)])
    assert code == 0
    for name in methods.split(","):
        array = np.load(out / f"{name}.npy")
        assert array.shape == np.load(out / "input.npy").shape
    sidecar = json.loads((out / "params.json").read_text())
    assert sidecar["params"]["activation"] == "relu"
    assert sidecar["metrics"]["preimage"]["n_equalities"] > 0
    capsys.readouterr()
    for flag, value in [
        ("--activation", "sigmoid"),
        ("--leaky-slope", "0"),
        ("--channel", "-1"),
        ("--channel", "5"),
    ]:
        code = main([*argv, flag, value, "--methods", "deconvnet", "--out", str(tmp_path / "x")])
        assert code == 2, (flag, value)
        assert flag.lstrip("-").replace("-", "_") in capsys.readouterr().err.replace("-", "_")
    assert not (tmp_path / "x").exists()


def test_methods_all_leaves_out_what_does_not_apply(tmp_path, capsys):
    from deconv_gui.cli import main

    argv = ["run", "--image", "seed_toy", "--filter", "gaussian", "--methods", "all"]
    assert main([*argv, "--activation", "relu", "--out", str(tmp_path / "a")]) == 0
    err = capsys.readouterr().err
    for prior in PRIORS:
        assert f"{prior} left out: the priors need --activation none" in err
    assert (tmp_path / "a" / "relu_preimage.npy").exists()
    assert not (tmp_path / "a" / "tv.npy").exists()
    # without an activation they are Aᵀy and pinv again: not part of "all", quietly
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert not any(f"{name} left out" in err for name in ("deconvnet", "relu_preimage"))
    for name in ("deconvnet", "guided_backprop", "relu_preimage"):
        assert not (tmp_path / "b" / f"{name}.npy").exists()
    assert (tmp_path / "b" / "tv.npy").exists()
    # named, they are computed all the same
    named = ["--methods", "deconvnet,relu_preimage", "--out", str(tmp_path / "c")]
    assert main([*argv[:-2], *named]) == 0
    assert (tmp_path / "c" / "relu_preimage.npy").exists()


def test_session_round_trip_and_an_old_session_without_the_fields(tmp_path):
    params = _params(activation="leaky_relu", leaky_slope=0.3, channel=2)
    session = load_session(save_session(tmp_path / "act", params))
    assert session.params == params and session.params.activation == "leaky_relu"
    path = save_session(tmp_path / "plain", Params(W))
    data = json.loads(path.read_text())
    stored = json.dumps(data)
    for name in ("activation", "leaky_slope", "channel"):
        assert f'"{name}"' in stored
    _drop(data, ("activation", "leaky_slope", "channel"))
    assert '"activation"' not in json.dumps(data)
    path.write_text(json.dumps(data))
    old = load_session(path)
    assert old.params.activation == "none" and old.params.channel is None
    assert old.params == Params(W)


def _drop(data, names) -> None:
    """Remove ``names`` wherever they are keys (a session written before they existed)."""
    if isinstance(data, dict):
        for name in names:
            data.pop(name, None)
        for value in data.values():
            _drop(value, names)
    elif isinstance(data, list):
        for value in data:
            _drop(value, names)


def test_the_code_command_writes_the_activation(capsys):
    from deconv_gui.cli import main

    argv = ["code", "--image", "seed_toy", "--filter", "gaussian", "--activation", "relu"]
    assert main([*argv, "--lang", "torch"]) == 0
    code = capsys.readouterr().out
    assert "F.relu(v)" in code and "def adjoint(r, w=weights):" in code
    compile(code, "<snippet>", "exec")
    # --methods all leaves the priors out as run does, with a note; named, they are refused
    assert main([*argv, "--methods", "all"]) == 0
    out, err = capsys.readouterr()
    assert "F.relu" not in out and "np.maximum(v, 0)" in out and "x_tv" not in out
    assert "note: --methods all: tv left out: the priors need --activation none" in err
    assert main([*argv, "--methods", "pinv,tv"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "methods: tv: the priors need activation none" in err[-1]


def test_relu_loss_on_the_questions_layer_against_the_dense_ranks():
    from deconv_gui.core import make_filter
    from deconv_gui.core.analysis import relu_loss

    w = make_filter("seed_question")
    op = Params(w, stride=2, padding=0).operator((7, 7, 3))
    x = np.random.default_rng(1).random((7, 7, 3))
    a = op.to_dense().astype(np.float64)
    for bias in (0.0, -float(np.median(a @ x.ravel())), -1e9):
        loss = relu_loss(op, x, bias)
        positive = a @ x.ravel() + bias > 0
        assert loss.lost == 147 - np.linalg.matrix_rank(a) == 138
        assert loss.zeros == (~positive).sum()
        rank_e = np.linalg.matrix_rank(a[positive]) if positive.any() else 0
        assert loss.free == 147 - rank_e and loss.added == loss.free - 138


def test_relu_preimage_reports_progress_and_cancels():
    import threading

    from deconv_gui.core.solvers import SolveCancelled

    params = _params(methods=("relu_preimage",), bias=(-0.1, 0.1, -0.3, 0.2))
    seen: list[tuple[str, int, float]] = []
    running = [""]
    run_pipeline(
        X,
        params,
        progress=lambda it, change: seen.append((running[0], it, change)),
        on_method=lambda name: running.__setitem__(0, name),
    )
    assert seen and all(name == "relu_preimage" for name, _, _ in seen)
    assert [it for _, it, _ in seen] == list(range(1, len(seen) + 1))
    assert all(np.isfinite(change) and change >= 0 for _, _, change in seen)
    stop = threading.Event()
    with pytest.raises(SolveCancelled):
        run_pipeline(X, params, progress=lambda it, change: stop.set(), cancel=stop)


def test_info_names_the_activation(capsys):
    from deconv_gui.cli import main

    argv = ["info", "--image", "seed_toy", "--filter", "seed_question", "--stride", "2"]
    assert main([*argv, "--padding", "0", "--activation", "leaky_relu", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["activation"] == "leaky_relu" and report["leaky_slope"] == 0.01
    assert main([*argv, "--padding", "0", "--activation", "relu"]) == 0
    out = capsys.readouterr().out
    assert "nullity    138" in out and "activation relu after the layer" in out


@pytest.mark.parametrize(("activation", "slope"), [("relu", 0.01), ("leaky_relu", 0.3)])
def test_pinv_of_a_noisy_measurement_is_the_dense_least_squares_of_j(activation, slope):
    params = _params(activation=activation, leaky_slope=slope, noise_sigma=0.05, rtol=1e-12)
    params = params.replace(max_iter=3000, methods=("pinv",))
    result = run_pipeline(X, params)
    a = _dense_a(params, X.shape)
    z = a @ X.ravel() + np.broadcast_to(BIAS, result.forward_output.shape).ravel()
    gain = np.where(z > 0, 1.0, 0.0 if activation == "relu" else slope)
    j = gain[:, None] * a
    c = gain * np.broadcast_to(BIAS, result.forward_output.shape).ravel()
    expected = np.linalg.pinv(j) @ (result.forward_output.ravel() - c)
    assert np.allclose(result.pinv.ravel(), expected, atol=1e-6 * np.abs(expected).max())
