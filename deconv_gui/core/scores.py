"""Typed metrics of a :class:`~deconv_gui.core.Result`: frozen dataclasses, not string keys.

:attr:`Result.metrics` is a :class:`Metrics`; the window's table, the export's
``params.json``, the command line's summary and :func:`~deconv_gui.core.complete_metrics`
read its attributes, so a misspelt name is an ``AttributeError`` at once instead of a
silently missing number. :meth:`Metrics.to_dict` gives the JSON-ready form.

Examples
--------
>>> from deconv_gui.core.scores import ReconstructionScore
>>> score = ReconstructionScore.from_quality(
...     {"psnr": 31.5, "ssim": 0.9, "data_range": 1.0, "ssim_win_size": 7, "notes": ()},
...     relative_residual=1e-9,
... )
>>> score.psnr, score.to_dict()["relative_residual"]
(31.5, 1e-09)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = ["Metrics", "PreimageScore", "ReconstructionScore", "SplitScore"]


@dataclass(frozen=True)
class ReconstructionScore:
    """How good one reconstruction is, against the input and against ``y``.

    Attributes
    ----------
    psnr : float or None
        dB against the input (``inf`` for a perfect match; None when undefined).
    ssim : float or None
        Structural similarity against the input (None when undefined or skipped).
    data_range : float
        ``max − min`` of the input, the scale of PSNR and SSIM.
    ssim_win_size : int or None
        The SSIM window used (None without SSIM).
    notes : tuple of str
        Why a number is missing or computed differently.
    relative_residual : float or None
        ``‖A x̂ − (y − b)‖ / ‖y − b‖``.
    iterations : int or None
        The solve's iterations: the pseudo-inverse's or the prior's (None for direct
        methods).
    seconds : float or None
        Time spent computing the reconstruction.
    ssim_skipped : bool
        SSIM was skipped (large image or a live update) and can be filled in later.
    converged : bool or None
        Whether that solve met its stopping rule (None for direct methods; always True
        for Richardson–Lucy, which runs a fixed number of iterations).
    """

    psnr: float | None
    ssim: float | None
    data_range: float
    ssim_win_size: int | None = None
    notes: tuple[str, ...] = ()
    relative_residual: float | None = None
    iterations: int | None = None
    seconds: float | None = None
    ssim_skipped: bool = False
    converged: bool | None = None

    @classmethod
    def from_quality(cls, quality: Mapping[str, Any], **more: Any) -> ReconstructionScore:
        """From :func:`~deconv_gui.core.reconstruction_metrics`'s dict, plus ``more`` fields."""
        return cls(
            psnr=quality.get("psnr"),
            ssim=quality.get("ssim"),
            data_range=float(quality["data_range"]),
            ssim_win_size=quality.get("ssim_win_size"),
            notes=tuple(quality.get("notes", ())),
            **more,
        )

    def with_quality(self, quality: Mapping[str, Any]) -> ReconstructionScore:
        """A copy with SSIM (and its window and notes) from a full quality dict."""
        return replace(
            self,
            ssim=quality.get("ssim"),
            ssim_win_size=quality.get("ssim_win_size"),
            notes=tuple(quality.get("notes", ())),
            ssim_skipped=False,
        )

    def to_dict(self) -> dict[str, Any]:
        """Every attribute by name (``notes`` as a list)."""
        out = asdict(self)
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class SplitScore:
    """The split ``x = A⁺Ax + (x − A⁺Ax)`` of method ``"nullspace"``.

    Attributes
    ----------
    recoverable_fraction, lost_fraction : float
        ``‖A⁺Ax‖ / ‖x‖`` and ``‖x − A⁺Ax‖ / ‖x‖``.
    iterations : int
        Iterations of the solve that gave ``A⁺Ax``.
    converged : bool
        Whether that solve converged.
    reused_pinv : bool
        ``A⁺Ax`` was the pseudo-inverse panel (exact data, ``reg = 0``): no extra solve.
    invented_by : str or None
        The prior whose image ``x̂`` was split too (``"tv"``, else ``"nonneg"``, else
        ``"richardson_lucy"``; None without a prior).
    invented_fraction : float or None
        ``‖x̂ − A⁺Ax̂‖ / ‖x̂‖``: how much of the prior's image ``y`` does not determine.
    """

    recoverable_fraction: float
    lost_fraction: float
    iterations: int
    converged: bool
    reused_pinv: bool
    invented_by: str | None = None
    invented_fraction: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every attribute by name."""
        return asdict(self)


@dataclass(frozen=True)
class PreimageScore:
    """What method ``"relu_preimage"`` found about the layer's activation.

    Attributes
    ----------
    activation : str
        ``"relu"``, ``"leaky_relu"`` or ``"none"`` (the last two are invertible: the
        preimage is then ``A⁺(act⁻¹(y) − b)``, and every output is an equation).
    n_equalities : int
        Outputs that are equations ``A_i x + b_i = act⁻¹(y_i)`` (for a ReLU, ``y_i > 0``).
    n_inequalities : int
        Zero outputs of a ReLU: only ``A_i x + b_i ≤ 0`` (0 without a ReLU).
    n_tight : int
        Inequalities that hold with equality at the preimage (active units of the QP).
    free_directions : int or None
        ``n − rank(A_E)``: directions of the image that no equation fixes (None when
        not computed: an invertible activation adds none to the layer's own).
    rank_computed : bool
        ``free_directions`` is exact (the rank of ``A_E`` was computed; small layers),
        else the lower bound ``n − n_equalities``.
    equality_residual : float
        ``‖A_E x + b_E − y_E‖ / ‖y_E‖`` of the preimage.
    max_violation : float
        ``max(A_I x + b_I, 0)`` relative to ``max |y|`` (0 when every bound holds).
    """

    activation: str
    n_equalities: int
    n_inequalities: int = 0
    n_tight: int = 0
    free_directions: int | None = None
    rank_computed: bool = False
    equality_residual: float = 0.0
    max_violation: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Every attribute by name."""
        return asdict(self)

    def summary(self) -> str:
        """One line: ``"5 of 9 outputs are zero (bounds, 2 tight); 143 free directions"``."""
        total = self.n_equalities + self.n_inequalities
        if self.activation != "relu":
            return (
                f"{self.activation}: invertible, every one of the {total:,} outputs is an equation"
            )
        free = "?" if self.free_directions is None else f"{self.free_directions:,}"
        bound = "" if self.rank_computed else "at least "  # n − n_E ≤ n − rank(A_E)
        return (
            f"{self.n_inequalities:,} of {total:,} outputs are zero (bounds, "
            f"{self.n_tight:,} tight); {bound}{free} free directions"
        )


@dataclass(frozen=True)
class Metrics:
    """Every quality number of a result.

    Attributes
    ----------
    reconstructions : Mapping[str, ReconstructionScore]
        Read-only; one entry per reconstruction computed with the input's shape, in
        the registry's order.
    adjoint_dot_test : float or None
        Relative mismatch of ``⟨Ax, y⟩`` and ``⟨x, Aᵀy⟩`` (float64; None: not run).
    split : SplitScore or None
        None without method ``"nullspace"``.
    preimage : PreimageScore or None
        None without method ``"relu_preimage"``.
    """

    reconstructions: Mapping[str, ReconstructionScore] = field(
        default_factory=lambda: MappingProxyType({})
    )
    adjoint_dot_test: float | None = None
    split: SplitScore | None = None
    preimage: PreimageScore | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.reconstructions, MappingProxyType):
            frozen = MappingProxyType(dict(self.reconstructions))
            object.__setattr__(self, "reconstructions", frozen)

    def replace_scores(self, scores: Mapping[str, ReconstructionScore]) -> Metrics:
        """A copy with other reconstruction scores."""
        return replace(self, reconstructions=MappingProxyType(dict(scores)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready nested dicts with the same names as the attributes."""
        return {
            "reconstructions": {k: v.to_dict() for k, v in self.reconstructions.items()},
            "adjoint_dot_test": self.adjoint_dot_test,
            "split": None if self.split is None else self.split.to_dict(),
            "preimage": None if self.preimage is None else self.preimage.to_dict(),
        }
