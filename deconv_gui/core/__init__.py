"""The Qt-free math core: strided convolution, its adjoint, reconstructions, the pipeline.

Only numpy and scipy are imported here; a test enforces that neither PyQt5 nor
pyqtgraph is ever loaded by ``import deconv_gui.core``.
"""

from .analysis import (
    DENSE_ENTRY_LIMIT,
    EFFECTIVE_KERNEL_DENSE_LIMIT,
    ArrayComparison,
    ComponentSplit,
    EffectiveKernel,
    PixelLinks,
    RankInfo,
    SingularValues,
    TikhonovCurve,
    adjoint_dot_test,
    compare_arrays,
    effective_kernel,
    nullspace_component,
    operator_rank,
    question_deconv,
    rank_bounds,
    rank_info,
    receptive_field,
    reconstruction_metrics,
    recoverable_component,
    relative_residual,
    singular_values,
    split_components,
    tikhonov_curve,
    touching_outputs,
)
from .conv import conv2d, conv2d_transpose
from .filters import PRESET_DESCRIPTIONS, PRESETS, make_filter
from .geometry import ConvGeometry
from .operator import DENSE_COLUMN_LIMIT, ConvOperator
from .pipeline import METHODS, Params, Result, prepare_image, run_pipeline
from .reconstruct import (
    PinvResult,
    coverage_map,
    make_pinv_solver,
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    transposed_reconstruction,
)
from .solvers import NotConvergedWarning, PseudoInverseSolver, SolveCancelled, SolverReport

__all__ = [
    "DENSE_COLUMN_LIMIT",
    "DENSE_ENTRY_LIMIT",
    "EFFECTIVE_KERNEL_DENSE_LIMIT",
    "METHODS",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "ArrayComparison",
    "ComponentSplit",
    "ConvGeometry",
    "ConvOperator",
    "EffectiveKernel",
    "NotConvergedWarning",
    "Params",
    "PinvResult",
    "PixelLinks",
    "PseudoInverseSolver",
    "RankInfo",
    "Result",
    "SingularValues",
    "SolveCancelled",
    "SolverReport",
    "TikhonovCurve",
    "adjoint_dot_test",
    "compare_arrays",
    "conv2d",
    "conv2d_transpose",
    "coverage_map",
    "effective_kernel",
    "make_filter",
    "make_pinv_solver",
    "normalized_transposed_reconstruction",
    "nullspace_component",
    "operator_rank",
    "pinv_reconstruction",
    "prepare_image",
    "question_deconv",
    "rank_bounds",
    "rank_info",
    "receptive_field",
    "reconstruction_metrics",
    "recoverable_component",
    "relative_residual",
    "run_pipeline",
    "singular_values",
    "split_components",
    "tikhonov_curve",
    "touching_outputs",
    "transposed_reconstruction",
]
