"""The Qt-free math core: strided convolution, its adjoint, reconstructions, the pipeline.

Only numpy and scipy are imported here; a test enforces that neither Qt (any binding,
qtpy) nor pyqtgraph is ever loaded by ``import deconv_gui.core``.

The operator is the centre: a :class:`ConvOperator` holds a :class:`ConvGeometry` and a
filter, validated once, and every reconstruction and analysis accepts it in place of
``weights`` (the loose ``input_shape, stride, padding, dilation`` arguments build one
through :func:`as_operator`). The modules: :mod:`.geometry` and :mod:`.operator`;
:mod:`.conv` (the public convolution) over the internal :mod:`._kernels`;
:mod:`.reconstruct` (transposed, normalised, pseudo-inverse); :mod:`.solvers` (the
pseudo-inverse's dense and CG/CGLS solves, FISTA, Richardson–Lucy: one report, one
result, one callbacks object); :mod:`.priors` (the regularisers and the rules for their
weights); :mod:`.analysis` (rank, lost information, pixels, metrics,
dense matrices, the question); :mod:`.params`, :mod:`.registry` and :mod:`.pipeline`.
"""

from . import params, registry
from .analysis import (
    ANIMATION_MODES,
    DENSE_ENTRY_LIMIT,
    EFFECTIVE_KERNEL_DENSE_LIMIT,
    ArrayComparison,
    ComponentSplit,
    EffectiveKernel,
    InverseCandidate,
    PinvAnimation,
    PinvStep,
    PixelLinks,
    RankInfo,
    SingularValues,
    Step,
    StepAnimation,
    TikhonovCurve,
    adjoint_dot_test,
    compare_arrays,
    corresponding_pixels,
    crop_window,
    effective_kernel,
    exact_rank_feasible,
    nullspace_component,
    operator_rank,
    question_deconv,
    question_inverse_check,
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
from .analysis.dense import DenseMatrices, dense_matrices
from .conv import conv2d, conv2d_transpose
from .deprecation import module_aliases
from .filters import PRESET_DESCRIPTIONS, PRESETS, make_filter
from .geometry import ConvGeometry
from .operator import DENSE_COLUMN_LIMIT, ConvOperator, as_operator
from .pipeline import (
    INSIGHT_METHODS,
    METHODS,
    SSIM_PIXEL_LIMIT,
    Params,
    Result,
    complete_metrics,
    prepare_image,
    run_pipeline,
)
from .priors import (
    LamChoice,
    RegChoice,
    choose_reg,
    choose_tv_lam,
    kl_divergence,
    nonneg_reconstruction,
    richardson_lucy,
    total_variation,
    tv_reconstruction,
)
from .reconstruct import (
    coverage_map,
    make_pinv_solver,
    normalized_transposed_reconstruction,
    pinv_reconstruction,
    transposed_reconstruction,
)
from .scores import Metrics, ReconstructionScore, SplitScore
from .sizes import matching_input_sizes
from .solvers import (
    Callbacks,
    NotConvergedWarning,
    PseudoInverseSolver,
    Reconstruction,
    SolveCancelled,
    SolverReport,
)
from .threads import get_num_threads, set_num_threads
from .transposed import ConvTransposeOperator, TransposedGeometry

__all__ = [
    "ANIMATION_MODES",
    "DENSE_COLUMN_LIMIT",
    "DENSE_ENTRY_LIMIT",
    "EFFECTIVE_KERNEL_DENSE_LIMIT",
    "INSIGHT_METHODS",
    "METHODS",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "SSIM_PIXEL_LIMIT",
    "ArrayComparison",
    "Callbacks",
    "ComponentSplit",
    "ConvGeometry",
    "ConvOperator",
    "ConvTransposeOperator",
    "DenseMatrices",
    "EffectiveKernel",
    "InverseCandidate",
    "LamChoice",
    "Metrics",
    "NotConvergedWarning",
    "Params",
    "PinvAnimation",
    "PinvStep",
    "PixelLinks",
    "PseudoInverseSolver",
    "RankInfo",
    "Reconstruction",
    "ReconstructionScore",
    "RegChoice",
    "Result",
    "SingularValues",
    "SolveCancelled",
    "SolverReport",
    "SplitScore",
    "Step",
    "StepAnimation",
    "TikhonovCurve",
    "TransposedGeometry",
    "adjoint_dot_test",
    "as_operator",
    "choose_reg",
    "choose_tv_lam",
    "compare_arrays",
    "complete_metrics",
    "conv2d",
    "conv2d_transpose",
    "corresponding_pixels",
    "coverage_map",
    "crop_window",
    "dense_matrices",
    "effective_kernel",
    "exact_rank_feasible",
    "get_num_threads",
    "kl_divergence",
    "make_filter",
    "make_pinv_solver",
    "matching_input_sizes",
    "nonneg_reconstruction",
    "normalized_transposed_reconstruction",
    "nullspace_component",
    "operator_rank",
    "params",
    "pinv_reconstruction",
    "prepare_image",
    "question_deconv",
    "question_inverse_check",
    "rank_bounds",
    "rank_info",
    "receptive_field",
    "reconstruction_metrics",
    "recoverable_component",
    "registry",
    "relative_residual",
    "richardson_lucy",
    "run_pipeline",
    "set_num_threads",
    "singular_values",
    "split_components",
    "tikhonov_curve",
    "total_variation",
    "touching_outputs",
    "transposed_reconstruction",
    "tv_reconstruction",
]

#: Old names of the one result and report types (warn, keep working).
__getattr__ = module_aliases(
    __name__,
    {
        "PinvResult": ("Reconstruction", Reconstruction),
        "PriorResult": ("Reconstruction", Reconstruction),
        "PriorReport": ("SolverReport", SolverReport),
    },
)
