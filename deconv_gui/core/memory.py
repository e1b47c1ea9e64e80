"""Keep large freed buffers in the process for the next computation (glibc's ``mallopt``).

Every run of the pipeline allocates image- and spectrum-sized arrays (tens of MB at 1 MP)
again. By default glibc gives such a block back to the system as soon as it is freed (it
is mapped on its own above the *mmap threshold*, or trimmed off the heap's top above the
*trim threshold*), and the next run faults it in anew: the kernel zeroes every page. On
the machine of the benchmarks that was a fifth of a 1 MP per-frequency solve, cold or warm
(``benchmarks/bench_polyphase.py --system-malloc`` shows it).

:func:`keep_freed_memory` raises both thresholds, so freed blocks stay in the process and
the next run reuses them: the window and the command-line commands call it once as they
start. Arrays above ``mapped_above`` are still mapped on their own and returned at once;
the process keeps at most ``trim_above`` bytes of free heap. A library that imports
:mod:`deconv_gui.core` is left as it is unless it calls the function itself.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["SYSTEM_MALLOC_VARIABLE", "keep_freed_memory"]

#: Set (to anything) in the environment, it leaves the C library's defaults alone.
SYSTEM_MALLOC_VARIABLE = "DECONV_GUI_SYSTEM_MALLOC"
_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_applied: list[tuple[int, int]] = []


def keep_freed_memory(mapped_above: int = 256 * 2**20, trim_above: int = 512 * 2**20) -> bool:
    """Ask glibc to keep freed blocks up to ``mapped_above`` bytes, and up to ``trim_above``
    bytes of free heap, for reuse; whether it was applied (False off glibc, when
    :data:`SYSTEM_MALLOC_VARIABLE` is set, or when the C library refuses).

    Examples
    --------
    >>> from deconv_gui.core.memory import keep_freed_memory
    >>> keep_freed_memory() in (True, False)  # True on glibc (Linux), False elsewhere
    True
    """
    for name, value in (("mapped_above", mapped_above), ("trim_above", trim_above)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
            raise ValueError(f"{name} must be an int of bytes from 1 to 2**31 - 1, got {value!r}")
    if os.environ.get(SYSTEM_MALLOC_VARIABLE) or platform.libc_ver()[0] != "glibc":
        return False
    if (mapped_above, trim_above) in _applied:
        return True
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt(3) documents 32 MiB as the largest threshold: a glibc that refuses more gets that
    mapped = mallopt(_M_MMAP_THRESHOLD, mapped_above) or mallopt(
        _M_MMAP_THRESHOLD, min(mapped_above, 32 * 2**20)
    )
    applied = bool(mapped) and bool(mallopt(_M_TRIM_THRESHOLD, trim_above))
    if applied:
        _applied.append((mapped_above, trim_above))
    return applied
