"""Insight into what a strided convolution throws away (issue 6), Qt-free.

One import point for the window's insight panels; the code lives in small modules:

- :mod:`.analysis_lost`: the null-space split ``x = A⁺Ax + (x − A⁺Ax)`` and the
  Tikhonov (L-curve / PSNR-versus-reg) curve;
- :mod:`.analysis_rank`: rank, nullity and singular values (exact or bounded /
  approximate, and saying which);
- :mod:`.analysis_inspect`: receptive fields, touching outputs and rows of ``A⁺``
  ("effective kernels") for click-to-inspect;
- :mod:`.analysis_question`: the seed question's ``deConv`` as written, and the
  "check my code" comparison;
- :mod:`.analysis_metrics`: PSNR/SSIM, relative residual and the adjoint dot test.

``coverage_map`` (``Aᵀ1``) lives in :mod:`.reconstruct` and is re-exported here.
"""

from __future__ import annotations

from .analysis_inspect import (
    EFFECTIVE_KERNEL_DENSE_LIMIT,
    EffectiveKernel,
    PixelLinks,
    effective_kernel,
    receptive_field,
    touching_outputs,
)
from .analysis_lost import (
    ComponentSplit,
    TikhonovCurve,
    nullspace_component,
    recoverable_component,
    split_components,
    tikhonov_curve,
)
from .analysis_metrics import adjoint_dot_test, reconstruction_metrics, relative_residual
from .analysis_question import ArrayComparison, compare_arrays, question_deconv
from .analysis_rank import (
    DENSE_ENTRY_LIMIT,
    RankInfo,
    SingularValues,
    operator_rank,
    rank_bounds,
    rank_info,
    singular_values,
)
from .reconstruct import coverage_map

__all__ = [
    "DENSE_ENTRY_LIMIT",
    "EFFECTIVE_KERNEL_DENSE_LIMIT",
    "ArrayComparison",
    "ComponentSplit",
    "EffectiveKernel",
    "PixelLinks",
    "RankInfo",
    "SingularValues",
    "TikhonovCurve",
    "adjoint_dot_test",
    "compare_arrays",
    "coverage_map",
    "effective_kernel",
    "nullspace_component",
    "operator_rank",
    "question_deconv",
    "rank_bounds",
    "rank_info",
    "receptive_field",
    "reconstruction_metrics",
    "recoverable_component",
    "relative_residual",
    "singular_values",
    "split_components",
    "tikhonov_curve",
    "touching_outputs",
]
