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

from . import analysis, params, priors, reconstruct, registry
from .analysis import *  # noqa: F403  (its names are listed once, in analysis.__all__)
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
from .priors import *  # noqa: F403  (its names are listed once, in priors.__all__)
from .reconstruct import (
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
    "DENSE_COLUMN_LIMIT",
    "INSIGHT_METHODS",
    "METHODS",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "SSIM_PIXEL_LIMIT",
    "Callbacks",
    "ConvGeometry",
    "ConvOperator",
    "ConvTransposeOperator",
    "DenseMatrices",
    "Metrics",
    "NotConvergedWarning",
    "Params",
    "PseudoInverseSolver",
    "Reconstruction",
    "ReconstructionScore",
    "Result",
    "SolveCancelled",
    "SolverReport",
    "SplitScore",
    "TransposedGeometry",
    "as_operator",
    "complete_metrics",
    "conv2d",
    "conv2d_transpose",
    "dense_matrices",
    "get_num_threads",
    "make_filter",
    "make_pinv_solver",
    "matching_input_sizes",
    "normalized_transposed_reconstruction",
    "params",
    "pinv_reconstruction",
    "prepare_image",
    "registry",
    "run_pipeline",
    "set_num_threads",
    "transposed_reconstruction",
]
__all__ += analysis.__all__
__all__ += priors.__all__

#: The old names its modules retired (warn, keep working).
__getattr__ = module_aliases(__name__, {**reconstruct.OLD_NAMES, **priors.OLD_NAMES})
