"""The Qt-free math core: strided convolution, its adjoint, reconstructions, the pipeline.

Only numpy and scipy are imported here; a test enforces that neither PyQt5 nor
pyqtgraph is ever loaded by ``import deconv_gui.core``.
"""

from .conv import conv2d, conv2d_transpose
from .geometry import ConvGeometry
from .operator import DENSE_COLUMN_LIMIT, ConvOperator

__all__ = [
    "DENSE_COLUMN_LIMIT",
    "ConvGeometry",
    "ConvOperator",
    "conv2d",
    "conv2d_transpose",
]
