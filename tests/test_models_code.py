"""``deconv-gui code --model M --layer L``: the layer's weights written beside the script
(never inlined), which loads them; the script run in a subprocess reproduces ``run``."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deconv_gui.cli import main as cli_main

torch = pytest.importorskip("torch")
nn = torch.nn
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def model(tmp_path):
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    iio.imwrite(tmp_path / "img.png", (rng.random((12, 10, 3)) * 255).astype(np.uint8))
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
    ).eval()
    path = tmp_path / "dec.onnx"
    torch.onnx.export(net, torch.randn(1, 3, 12, 10), str(path), dynamo=False)
    return path


@pytest.mark.parametrize(
    ("lang", "layer"),
    [("numpy", "/2/ConvTranspose"), ("torch", "/2/ConvTranspose"), ("api", "/0/Conv")],
)
def test_code_for_a_model_layer_loads_its_weights(
    tmp_path, model, capsys, monkeypatch, lang, layer
):
    monkeypatch.chdir(tmp_path)
    base = ["--model", str(model), "--layer", layer, "--image", str(tmp_path / "img.png")]
    assert cli_main(["run", *base, "--out", str(tmp_path / "run"), "--methods", "transposed"]) == 0
    capsys.readouterr()
    args = ["code", *base, "--lang", lang, "--write-input", str(tmp_path / "x.npy")]
    assert cli_main([*args, "--save", str(tmp_path / "out.npz")]) == 0
    code = capsys.readouterr().out
    stored = tmp_path / ("2_ConvTranspose.npz" if "Transpose" in layer else "0_Conv.npz")
    assert f"WEIGHTS_PATH = {str(stored)!r}" in code
    assert "np.array([[[[" not in code  # no weights inlined
    script = tmp_path / "snippet.py"
    script.write_text(code)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(tmp_path / "out.npz") as saved:
        got = saved["forward_output"]
    want = np.load(tmp_path / "run" / "forward_output.npy")
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_an_unwritable_weights_folder_is_one_line_and_prints_nothing(tmp_path, model, capsys):
    blocker = tmp_path / "no"  # a file where the folder would go: no folder can be made
    blocker.write_bytes(b"kept")
    args = ["code", "--model", str(model), "--layer", "/0/Conv", "--image"]
    args += [str(tmp_path / "img.png"), "--weights", str(blocker / "w.npz")]
    assert cli_main(args) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "--weights" in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert blocker.read_bytes() == b"kept"
