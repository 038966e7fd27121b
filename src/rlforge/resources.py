"""The machine's memory, and refusals of allocations it cannot hold.

Large NumPy arrays are allocated lazily (the pages appear when first written), so a replay
buffer far larger than memory is created without complaint and the run is killed hours later.
Sizes are checked against the memory the machine has before anything is allocated.
"""

from __future__ import annotations

import os

from rlforge.errors import RLForgeError

GIB = 1 << 30


def total_memory() -> int:
    """Physical memory in bytes (a cgroup limit where one is lower)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(limit_file).read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def check_fits(nbytes: float, what: str, share: float = 0.9) -> None:
    """Refuse, in one line, an allocation of `nbytes` larger than `share` of the machine's memory."""
    limit = share * total_memory()
    if nbytes > limit:
        raise RLForgeError(f"{what} needs {nbytes / GIB:,.1f} GiB, more than this machine's "
                           f"{total_memory() / GIB:,.1f} GiB of memory allows; make it smaller")
