"""PyTorch references for model-file layers: a layer record run by torch."""

import numpy as np


def ours_to_torch(weights: np.ndarray) -> np.ndarray:
    """Our (f_h, f_w, ·, ·) layout back to PyTorch/ONNX's (·, ·, k_h, k_w)."""
    return np.ascontiguousarray(np.transpose(weights, (3, 2, 0, 1)))


def torch_forward(layer, loaded, x_nchw: np.ndarray) -> np.ndarray:
    """The layer's output as torch computes it from the record's geometry and weights.

    conv: F.pad with the record's four sides and mode, then conv2d without padding;
    conv_transpose: the full conv_transpose2d, output_padding zero rows at the
    bottom/right, then the record's padding cropped away, then the bias.
    """
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.asarray(x_nchw, np.float64))
    w = torch.from_numpy(ours_to_torch(loaded.weights))
    b = None if loaded.bias is None else torch.from_numpy(loaded.bias)
    (top, bottom), (left, right) = layer.padding
    if layer.kind == "conv":
        mode = {
            "zeros": "constant",
            "reflect": "reflect",
            "replicate": "replicate",
            "circular": "circular",
        }[layer.padding_mode]
        x = F.pad(x, (left, right, top, bottom), mode=mode)
        y = F.conv2d(x, w, b, stride=layer.stride, dilation=layer.dilation, groups=layer.groups)
        return y.numpy()
    full = F.conv_transpose2d(
        x, w, None, stride=layer.stride, dilation=layer.dilation, groups=layer.groups
    )
    oh, ow = layer.output_padding
    full = F.pad(full, (0, ow, 0, oh))
    y = full[:, :, top : full.shape[2] - bottom, left : full.shape[3] - right]
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y.numpy()
