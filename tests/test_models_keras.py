"""Keras 3 (torch backend) models saved as .keras and legacy .h5: each conv layer's
geometry equals the Keras layer's, and the record run by torch on the activation our
executor computes gives Keras's own output of that layer."""

import os

import numpy as np
import pytest
from model_reference import torch_forward

from deconv_gui.io.models import model_format, read_model
from deconv_gui.io.models.activations import layer_activation

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")
layers = keras.layers


def _model(shape=(33, 30, 3)):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input(shape),
            layers.Conv2D(6, 3, strides=2, padding="same", name="c1"),
            layers.BatchNormalization(name="bn"),
            layers.ReLU(),
            layers.DepthwiseConv2D((3, 2), depth_multiplier=2, padding="same", name="dw"),
            layers.LeakyReLU(negative_slope=0.1),
            layers.MaxPooling2D(2, padding="same"),
            layers.Conv2D(
                8, (3, 5), dilation_rate=2, groups=2, padding="same", name="c2", activation="relu"
            ),
            layers.ZeroPadding2D(((1, 0), (2, 1))),
            layers.AveragePooling2D(2),
            layers.Conv2DTranspose(5, 4, strides=2, padding="same", use_bias=False, name="t1"),
            layers.Conv2D(4, 2, strides=(2, 1), padding="valid", name="c3"),
        ]
    )


def _randomise_bn(model):
    bn = model.get_layer("bn")
    rng = np.random.default_rng(1)
    bn.set_weights(
        [
            rng.uniform(0.5, 2, 6),
            rng.uniform(-1, 1, 6),
            rng.uniform(-1, 1, 6),
            rng.uniform(0.5, 2, 6),
        ]
    )


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras")
    model = _model()
    _randomise_bn(model)
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    return model, folder


def _expected_same(size, k, s, d=1):
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_geometry_equals_the_keras_layers(saved, name):
    keras_model, folder = saved
    model = read_model(folder / name)
    assert model.format == model_format(folder / name) == "keras"
    assert model.input_shape == (3, 33, 30)
    assert [layer.name for layer in model.layers] == ["c1", "dw", "c2", "t1", "c3"]
    for layer in model.layers:
        k = keras_model.get_layer(layer.name)
        assert layer.kernel == tuple(k.kernel_size)
        assert layer.stride == tuple(k.strides) and layer.dilation == tuple(k.dilation_rate)
        assert layer.weight_shape == tuple(k.kernel.shape)
        size = tuple(k.input.shape[1:3])
        assert layer.input_size == size
        if k.padding == "same" and layer.kind == "conv":
            assert layer.padding == tuple(
                _expected_same(size[i], layer.kernel[i], layer.stride[i], layer.dilation[i])
                for i in (0, 1)
            )
    c1, dw, c2, t1, c3 = model.layers
    assert c1.padding == ((1, 1), (0, 1))  # stride 2 on 33×30: the odd pixel at the end
    assert (dw.groups, dw.in_channels, dw.out_channels) == (6, 6, 12)
    assert (c2.groups, c2.in_channels, c2.out_channels, c2.activation) == (2, 12, 8, "relu")
    assert t1.kind == "conv_transpose" and (t1.in_channels, t1.out_channels) == (8, 5)
    assert t1.load().bias is None and c3.padding == ((0, 0), (0, 0))


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_executor_feeds_each_layer_what_keras_does(saved, name):
    keras_model, folder = saved
    model = read_model(folder / name)
    image = np.random.default_rng(2).random((33, 30, 3))
    for layer in model.layers:
        k = keras_model.get_layer(layer.name)
        probe = keras.Model(keras_model.inputs, [k.input, k.output])
        fed, out = (
            np.asarray(a)[0] for a in probe.predict(image[None].astype(np.float32), verbose=0)
        )
        act = layer_activation(model, layer, image)
        assert act.runner == "keras executor"
        np.testing.assert_allclose(act.input, fed, rtol=1e-4, atol=1e-4)
        before = act.output if layer.activation is None else np.maximum(act.output, 0)
        np.testing.assert_allclose(before, out, rtol=1e-4, atol=1e-4)
        ours = torch_forward(layer, layer.load(), act.input.transpose(2, 0, 1)[None])[0]
        np.testing.assert_allclose(ours.transpose(1, 2, 0), act.output, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kernel", [3, 4])
def test_same_transpose_crops_as_keras(tmp_path, kernel):
    """'same' at stride 2: k=3 crops (0, 1) (asymmetric), k=4 crops (1, 1)."""
    keras.utils.set_random_seed(3)
    m = keras.Sequential(
        [
            keras.Input((7, 6, 2)),
            layers.Conv2DTranspose(3, kernel, strides=2, padding="same", name="t"),
        ]
    )
    m.save(tmp_path / "t.h5")
    m.save(tmp_path / "t.keras")
    x = np.random.default_rng(4).random((1, 7, 6, 2)).astype(np.float32)
    want = np.asarray(m.predict(x, verbose=0))[0]
    for name in ("t.h5", "t.keras"):
        (layer,) = read_model(tmp_path / name).layers
        crop = (0, 1) if kernel == 3 else (1, 1)
        assert (layer.padding, layer.output_padding) == ((crop, crop), (0, 0))
        ours = torch_forward(layer, layer.load(), x.transpose(0, 3, 1, 2))[0].transpose(1, 2, 0)
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)


def test_functional_model_and_unknown_layers(tmp_path):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    y = layers.Conv2D(4, 1, name="b")(x)
    z = layers.Add()([x, y])
    out = layers.Conv2D(2, 3, name="c")(z)
    normed = layers.LayerNormalization(name="norm")(out)
    m = keras.Model(inputs, [out, layers.Conv2D(2, 3, name="d")(normed)])
    m.save(tmp_path / "f.keras")
    model = read_model(tmp_path / "f.keras")
    assert [layer.name for layer in model.layers] == ["a", "b", "c", "d"]
    assert model.layers[1].input == "a"
    image = np.random.default_rng(6).random((16, 16, 3))
    probe = keras.Model(m.inputs, [m.get_layer("b").input, m.get_layer("b").output])
    fed, got = (np.asarray(a)[0] for a in probe.predict(image[None], verbose=0))
    act = layer_activation(model, model.layers[1], image)
    np.testing.assert_allclose(act.input, fed, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(act.output, got, rtol=1e-4, atol=1e-4)
    # after the Add of two branches: what Keras feeds c
    act = layer_activation(model, model.layers[2], image)
    probe = keras.Model(m.inputs, [m.get_layer("c").input, m.get_layer("c").output])
    fed, got = (np.asarray(a)[0] for a in probe.predict(image[None], verbose=0))
    np.testing.assert_allclose(act.input, fed, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(act.output, got, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"LayerNormalization.*not one the Keras executor runs"):
        layer_activation(model, model.layers[3], image)


def test_keras2_style_h5(tmp_path):
    """A Keras 2 file (written here with h5py as Keras 2 wrote it): batch_input_shape in the
    first layer, weights named ``kernel:0``/``depthwise_kernel:0``, no build_config."""
    import json

    import h5py

    rng = np.random.default_rng(8)
    kernel = rng.standard_normal((3, 3, 3, 4))
    depthwise = rng.standard_normal((3, 3, 4, 1))
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "layers": [
                {
                    "class_name": "Conv2D",
                    "config": {
                        "name": "conv",
                        "batch_input_shape": [None, 9, 9, 3],
                        "filters": 4,
                        "kernel_size": [3, 3],
                        "strides": [2, 2],
                        "padding": "same",
                        "dilation_rate": [1, 1],
                        "use_bias": True,
                        "activation": "relu",
                    },
                },
                {
                    "class_name": "DepthwiseConv2D",
                    "config": {
                        "name": "dw",
                        "kernel_size": [3, 3],
                        "strides": [1, 1],
                        "padding": "valid",
                        "depth_multiplier": 1,
                        "use_bias": False,
                    },
                },
            ],
        },
    }
    with h5py.File(tmp_path / "k2.h5", "w") as h5:
        h5.attrs["model_config"] = json.dumps(config)
        weights = h5.create_group("model_weights")
        conv = weights.create_group("conv")
        conv.attrs["weight_names"] = [b"conv/kernel:0", b"conv/bias:0"]
        conv["conv/kernel:0"] = kernel
        conv["conv/bias:0"] = np.arange(4.0)
        dw = weights.create_group("dw")
        dw.attrs["weight_names"] = [b"dw/depthwise_kernel:0"]
        dw["dw/depthwise_kernel:0"] = depthwise
    model = read_model(tmp_path / "k2.h5")
    conv_layer, dw_layer = model.layers
    assert model.input_shape == (3, 9, 9) and conv_layer.activation == "relu"
    assert conv_layer.padding == ((1, 1), (1, 1)) and conv_layer.input_size == (9, 9)
    assert dw_layer.input_size == (5, 5) and dw_layer.groups == 4
    np.testing.assert_array_equal(conv_layer.load().weights, kernel)
    np.testing.assert_array_equal(conv_layer.load().bias, np.arange(4.0))
    assert dw_layer.load().weights.shape == (3, 3, 1, 4) and dw_layer.load().bias is None


@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_a_model_without_a_fixed_input_size_feeds_each_layer_what_keras_does(tmp_path, name):
    """Input (None, None, 3): a strided 'same' conv's padding depends on the size of the
    image, known only when it runs; the executor resolves it there (33 × 30: odd rows)."""
    keras_model = _model(shape=(None, None, 3))
    _randomise_bn(keras_model)
    keras_model.save(tmp_path / name)
    model = read_model(tmp_path / name)
    assert model.layers[0].padding is None and model.layers[0].padding_rule == "same"
    image = np.random.default_rng(5).random((33, 30, 3))
    for layer in model.layers:
        k = keras_model.get_layer(layer.name)
        probe = keras.Model(keras_model.inputs, [k.input, k.output])
        fed, out = (
            np.asarray(a)[0] for a in probe.predict(image[None].astype(np.float32), verbose=0)
        )
        act = layer_activation(model, layer, image)
        np.testing.assert_allclose(act.input, fed, rtol=1e-4, atol=1e-4)
        before = act.output if layer.activation is None else np.maximum(act.output, 0)
        np.testing.assert_allclose(before, out, rtol=1e-4, atol=1e-4)
