"""Insight into what a strided convolution throws away, Qt-free.

One import point for the window's insight panels; the code lives in small modules:

- :mod:`.lost`: the null-space split ``x = A⁺Ax + (x − A⁺Ax)`` and the
  Tikhonov (L-curve / PSNR-versus-reg) curve;
- :mod:`.rank`: rank, nullity and singular values (exact or bounded /
  approximate, and saying which);
- :mod:`.pixels`: receptive fields, touching outputs and the output pixel under an
  input pixel (geometry only);
- :mod:`.inspect`: rows of ``A⁺`` ("effective kernels") for click-to-inspect;
- :mod:`.question`: the seed question's ``deConv`` as written, and the
  "check my code" comparison;
- :mod:`.second_guess`: the question's commented-out per-slice ``np.linalg.pinv``
  measured against ``Aᵀ`` and ``A⁺``;
- :mod:`.metrics`: PSNR/SSIM, relative residual and the adjoint dot test;
- :mod:`.dense`: the explicit ``A``, ``Aᵀ`` and ``A⁺`` of a small example;
- :mod:`.steps`: step-by-step models of ``A`` and ``Aᵀ`` (forward, scatter, zero
  insertion) for animations, and :mod:`.crop`, the crop they animate on large images;
- :mod:`.pinv_steps`: the pseudo-inverse solve, one frame per iteration.

``coverage_map`` (``Aᵀ1``) lives in :mod:`deconv_gui.core.reconstruct` and is
re-exported here.
"""

from __future__ import annotations

from ..reconstruct import coverage_map
from .crop import crop_window
from .inspect import EFFECTIVE_KERNEL_DENSE_LIMIT, EffectiveKernel, effective_kernel
from .lost import (
    ComponentSplit,
    TikhonovCurve,
    nullspace_component,
    recoverable_component,
    split_components,
    tikhonov_curve,
)
from .metrics import adjoint_dot_test, reconstruction_metrics, relative_residual
from .pinv_steps import PinvAnimation, PinvStep
from .pixels import PixelLinks, corresponding_pixels, receptive_field, touching_outputs
from .question import (
    QUESTION_SLICES,
    ArrayComparison,
    ReluLoss,
    compare_arrays,
    question_deconv,
    relu_loss,
)
from .rank import (
    DENSE_ENTRY_LIMIT,
    RankInfo,
    SingularValues,
    exact_rank_feasible,
    operator_rank,
    rank_bounds,
    rank_info,
    singular_values,
)
from .second_guess import INVERSE_CANDIDATES, InverseCandidate, question_inverse_check
from .steps import ANIMATION_MODES, MAX_STEPS, Step, StepAnimation

__all__ = [
    "ANIMATION_MODES",
    "DENSE_ENTRY_LIMIT",
    "EFFECTIVE_KERNEL_DENSE_LIMIT",
    "INVERSE_CANDIDATES",
    "MAX_STEPS",
    "QUESTION_SLICES",
    "ArrayComparison",
    "ComponentSplit",
    "EffectiveKernel",
    "InverseCandidate",
    "PinvAnimation",
    "PinvStep",
    "PixelLinks",
    "RankInfo",
    "ReluLoss",
    "SingularValues",
    "Step",
    "StepAnimation",
    "TikhonovCurve",
    "adjoint_dot_test",
    "compare_arrays",
    "corresponding_pixels",
    "coverage_map",
    "crop_window",
    "effective_kernel",
    "exact_rank_feasible",
    "nullspace_component",
    "operator_rank",
    "question_deconv",
    "question_inverse_check",
    "rank_bounds",
    "rank_info",
    "receptive_field",
    "reconstruction_metrics",
    "recoverable_component",
    "relative_residual",
    "relu_loss",
    "singular_values",
    "split_components",
    "tikhonov_curve",
    "touching_outputs",
]
