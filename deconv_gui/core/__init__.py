"""The Qt-free math core: strided convolution, its adjoint, reconstructions, the pipeline.

Only numpy and scipy are imported here; a test enforces that neither PyQt5 nor
pyqtgraph is ever loaded by ``import deconv_gui.core``.
"""

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
    "METHODS",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "ConvGeometry",
    "ConvOperator",
    "NotConvergedWarning",
    "Params",
    "PinvResult",
    "PseudoInverseSolver",
    "Result",
    "SolveCancelled",
    "SolverReport",
    "conv2d",
    "conv2d_transpose",
    "coverage_map",
    "make_filter",
    "make_pinv_solver",
    "normalized_transposed_reconstruction",
    "pinv_reconstruction",
    "prepare_image",
    "run_pipeline",
    "transposed_reconstruction",
]
