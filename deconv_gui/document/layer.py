"""One layer of the document's chain: a convolution with its Params, an activation or a pooling.

The document's ``layers`` are a network applied in order to the image (a single
convolution by default). A convolution carries its :class:`~deconv_gui.core.Params` and
how its filter was made; a ReLU, a leaky ReLU (its slope), a max-pool or an average pool
(its square window and stride), a sigmoid, tanh, SiLU, GELU… (nothing) carry only what
they need: the fields a kind does not use
are reset to their defaults (so two layers that act alike are equal) and never written.

Examples
--------
>>> from deconv_gui.document import Layer
>>> Layer(kind="maxpool", kernel=3, stride=2).to_dict()
{'kind': 'maxpool', 'name': 'layer 1', 'kernel': 3, 'stride': 2}
>>> Layer.from_dict({"kind": "relu"}).kind
'relu'
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from ..core import Params
from ..core.choices import check_choice
from ..core.network import SMOOTH_KINDS
from ..core.rules import GEOMETRY_MAX
from .arrays import decode_weights, encode_weights, is_encoded
from .records import (
    DEFAULT_PRESET,
    ModelSource,
    _check_type,
    _is_int,
    _names,
    _nested,
    _object,
    default_params,
)

__all__ = ["ACTIVATION_KINDS", "CHAIN_KINDS", "POOL_KINDS", "Layer"]

#: The element-wise activations besides the (leaky) ReLU, with PyTorch's defaults
#: (:mod:`deconv_gui.core.network.smooth`): nothing to set. Erf is left out: a GELU's
#: part as ONNX writes it, not a layer one adds.
ACTIVATION_KINDS: tuple[str, ...] = tuple(kind for kind in SMOOTH_KINDS if kind != "erf")
#: What a layer of the chain can be: a convolution (or transposed convolution, as its
#: Params say), a ReLU, a leaky ReLU, a max-pool, an average pool or another activation.
CHAIN_KINDS: tuple[str, ...] = (
    "conv",
    "relu",
    "leaky_relu",
    "maxpool",
    "avgpool",
    *ACTIVATION_KINDS,
)
#: The pooling kinds (a window and a stride).
POOL_KINDS: tuple[str, ...] = ("maxpool", "avgpool")
#: The keys a layer of each kind writes besides ``kind`` and ``name``.
_OWN_KEYS = {
    "conv": ("params", "preset", "filter_seed", "same_in_all", "model"),
    "relu": (),
    "leaky_relu": ("slope",),
    "maxpool": ("kernel", "stride"),
    "avgpool": ("kernel", "stride"),
    **{kind: () for kind in ACTIVATION_KINDS},
}

#: The default Params, shared by every layer that is not a convolution.
_DEFAULT_PARAMS = default_params()


def _default(name: str) -> Any:
    if name == "params":
        return _DEFAULT_PARAMS
    return next(f.default for f in fields(Layer) if f.name == name)


@dataclass(frozen=True)
class Layer:
    """One layer of the chain (see the module).

    Parameters
    ----------
    params : Params
        A convolution's filter, geometry, methods and their options (the one schema).
    name : str
        Shown where layers are listed.
    preset : str
        The filter preset the weights came from (``"custom"`` after a hand edit).
    filter_seed : int
        The seed of the random filter presets (not the noise seed: that is
        ``params.noise_seed``).
    same_in_all : bool
        Whether edits of the filter are mirrored to every input channel.
    model : ModelSource or None
        The model file the layer was read from (its input is the image run through the
        model up to it), or None.
    kind : str
        One of :data:`CHAIN_KINDS`.
    kernel, stride : int
        A pooling layer's square window and its stride (>= 1).
    slope : float
        A leaky ReLU's negative slope, in ``(0, 1]``.
    """

    params: Params = field(default_factory=default_params)
    name: str = "layer 1"
    preset: str = DEFAULT_PRESET
    filter_seed: int = 0
    same_in_all: bool = True
    model: ModelSource | None = None
    kind: str = "conv"
    kernel: int = 2
    stride: int = 2
    slope: float = 0.01

    def __post_init__(self) -> None:
        if self.model is not None and not isinstance(self.model, ModelSource):
            raise ValueError(f"layer.model must be a ModelSource, got {type(self.model).__name__}")
        if not isinstance(self.params, Params):
            raise ValueError(f"layer.params must be a Params, got {type(self.params).__name__}")
        _check_type("layer.name", self.name, str, "a string")
        _check_type("layer.preset", self.preset, str, "a string")
        _check_type("layer.filter_seed", self.filter_seed, int, "an int >= 0")
        if self.filter_seed < 0:
            raise ValueError(f"layer.filter_seed must be an int >= 0, got {self.filter_seed!r}")
        _check_type("layer.same_in_all", self.same_in_all, bool, "true or false")
        check_choice("layer.kind", self.kind, CHAIN_KINDS)
        if self.model is not None and self.kind != "conv":
            raise ValueError(f"layer.model: a {self.kind} layer is not read from a model file")
        for name in ("kernel", "stride"):
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= GEOMETRY_MAX:
                raise ValueError(
                    f"layer.{name} must be an int from 1 to {GEOMETRY_MAX}, got {value!r}"
                )
        slope = self.slope
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0 < slope <= 1:
            raise ValueError(f"layer.slope must be a number in (0, 1], got {slope!r}")
        object.__setattr__(self, "slope", float(slope))
        self._reset_unused()

    def _reset_unused(self) -> None:
        """The fields this kind does not use back to their defaults."""
        used = {"kind", "name", *_OWN_KEYS[self.kind]}
        for f in fields(self):
            if f.name not in used:
                object.__setattr__(self, f.name, _default(f.name))

    @property
    def is_conv(self) -> bool:
        """True for a convolution (or transposed convolution): a layer with Params."""
        return self.kind == "conv"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values: ``kind``, ``name`` and what the kind uses (a convolution's
        ``params`` as :meth:`Params.to_dict`, its weights as an ``.npy`` file in base64:
        :func:`~deconv_gui.document.arrays.encode_weights`)."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name}
        for key in _OWN_KEYS[self.kind]:
            out[key] = getattr(self, key)
        if self.is_conv:
            params = self.params.to_dict()  # weights_shape stays: a reader's check
            params["weights"] = encode_weights(self.params.weights)
            out["params"] = params
            out["model"] = None if self.model is None else self.model.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Layer:
        """Rebuild from :meth:`to_dict` output; a convolution's ``params`` is required
        (``kind`` defaults to ``"conv"``, as every layer of version 3 and before was)."""
        values = dict(_object("layer", data, _names(cls)))
        kind = values.get("kind", "conv")
        if "params" in values:
            params = values["params"]
            if isinstance(params, dict) and is_encoded(params.get("weights")):
                weights = decode_weights(params["weights"], "params.weights")
                params = {**params, "weights": weights}
            values["params"] = Params.from_dict(params)
        elif kind == "conv":
            raise ValueError("layer.params is missing")
        if values.get("model") is not None:
            values["model"] = _nested("layer", ModelSource.from_dict, values["model"])
        return cls(**values)
