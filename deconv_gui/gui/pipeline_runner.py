"""The runner of the window's live computation (:func:`~deconv_gui.core.run_pipeline`).

The window's process keeps the BLAS library (OpenBLAS) at one thread per calling
thread (:func:`~deconv_gui.core.threads.limit_blas_threads`): the convolution already
splits its work over its own threads, and OpenBLAS's extra threads spin between calls,
so on a 2-core machine they took the GUI thread's core and froze the event loop for
60–130 ms at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from qtpy import QtCore

from ..core import Params, Result, run_pipeline
from ..core.threads import limit_blas_threads
from ..io.decoder_file import applicable_run
from .runner import JobPool, JobRunner, Partial, Priority

__all__ = ["PipelineRunner"]


class PipelineRunner(JobRunner):
    """A :class:`JobRunner` for :func:`~deconv_gui.core.run_pipeline`.

    :meth:`compute` takes an image and :class:`~deconv_gui.core.Params`; :attr:`progress`
    carries ``(iteration, value, method)``, at most 20 times a second: the relative
    residual of the pseudo-inverse solve (or of the split's, method ``"nullspace"``), or
    a prior's relative change between iterations; :attr:`partialReady` the partial
    :class:`~deconv_gui.core.Result` of the cheap panels (``Result.pending`` names the
    slow methods still running). Creating one limits the process's BLAS threads to one
    (:func:`limit_blas_threads`).
    """

    def __init__(
        self,
        parent: QtCore.QObject | None = None,
        *,
        hold_busy: bool = False,
        pool: JobPool | None = None,
        priority: int = Priority.LIVE,
    ) -> None:
        super().__init__(
            parent, hold_busy=hold_busy, progress_interval=0.05, pool=pool, priority=priority
        )
        limit_blas_threads(1)  # spinning BLAS threads starved the GUI thread (module doc)

    def compute(self, image: np.ndarray, params: Params, **overrides: Any) -> int:
        """Start computing ``params`` on ``image`` (cancels the previous request).

        Returns the request id; the :class:`~deconv_gui.core.Result` reports ``params``
        as its own. A method that does not apply (a decoder that no longer fits the
        layer, or none loaded) is left out and named in ``Result.left_out``
        (:func:`~deconv_gui.io.decoder_file.applicable_run`); the rest is computed.

        ``overrides`` change the computation without changing what the result says it
        is (the window runs live updates with ``ssim=False`` and fills SSIM in later).
        """
        run = params.replace(**overrides) if overrides else params

        def job(cancel: threading.Event, progress: Callable[[object], None]) -> Any:
            running = ["pinv"]  # whose iterations progress reports

            def on_method(name: str) -> None:
                running[0] = name

            # the decoder is read here, off the GUI thread (cached); what does not apply
            # (a decoder that no longer fits the layer) is left out, with the reason
            applicable, decoder, left_out = applicable_run(run, image.shape)

            def as_asked(result: Result) -> Result:
                if applicable is params:
                    return result
                return replace(result, params=params, left_out=left_out)

            return as_asked(
                run_pipeline(
                    image,
                    applicable,
                    progress=lambda it, res: progress((int(it), float(res), running[0])),
                    cancel=cancel,
                    on_method=on_method,
                    on_partial=lambda part: progress(Partial(as_asked(part))),
                    decoder=decoder,
                )
            )

        return self.submit(job)
