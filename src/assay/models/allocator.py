"""Keep freed memory in the process, so that CPU forward passes stop paying for page faults.

Why: every layer of a forward pass allocates activations of several megabytes
and frees them a moment later. glibc serves blocks that large with a fresh
``mmap`` and returns them with ``munmap``, so each one is faulted in, and zeroed
by the kernel, page by page, again and again: on the bundled model that was
about a fifth of the time of a 25-shot ARC pass (perf/bench_loglikelihood.py).
Raising the mmap threshold and the trim threshold lets freed blocks be reused
from the heap instead. This is the allocator tuning PyTorch's CPU performance
guide recommends (there through jemalloc or tcmalloc); the cost is that the
process keeps its peak memory until it exits, which suits an evaluation run.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""glibc's largest allowed mmap threshold on 64-bit: blocks up to this size come from the heap."""
TRIM_THRESHOLD = 1024**3
TOP_PAD = 64 * 1024 * 1024


@cache
def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above, once per process; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(
        mallopt(option, value) == 1
        for option, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
    )
