"""Limits on a ``--tuning_search_space`` file, checked before and after it is read.

A search space is a few hyperparameters in a small JSON file. Without limits
``/dev/zero`` was read until memory ran out (~350 MB/s), a FIFO blocked the
runner for ever and 20,000 hyperparameters took minutes. So the path must be
a regular file of at most :data:`MAX_BYTES`, holding at most
:data:`MAX_HYPERPARAMETERS` hyperparameters (or :data:`MAX_TRIALS` listed
trials); each refusal is one line naming the file, the limit and the fix.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from algorithmic_efficiency.search.space import SearchSpaceError

MAX_BYTES = 1 << 20  # 1 MiB: the peer's largest published space is ~2 KB
MAX_HYPERPARAMETERS = 1_000
MAX_TRIALS = 100_000
# An int dimension's bounds: integers a float (and so every JSON reader, pandas' columns and
# the Halton draw) holds exactly. 1e308 passed, and every trial then failed with OverflowError.
MAX_INT_BOUND = 2**53


def check_file(source: str) -> None:
    """Refuses, before opening it, a path that is not a regular file of at most MAX_BYTES.

    A missing path is left to the reader (its message says where it looked).
    """
    try:
        st = os.stat(source)
    except OSError:
        return
    if not stat.S_ISREG(st.st_mode):
        kind = ('a directory' if stat.S_ISDIR(st.st_mode) else
                'a FIFO (named pipe)' if stat.S_ISFIFO(st.st_mode) else
                'a device' if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                'not a regular file')
        raise SearchSpaceError(
            f'{source}: is {kind}, not a search space file; give the path of a JSON file')
    if st.st_size > MAX_BYTES:
        raise SearchSpaceError(
            f'{source}: {st.st_size:,} bytes, more than a search space needs (at most '
            f'{MAX_BYTES:,}); give a smaller JSON file')


def check_size(obj: Any, source: str) -> None:
    """Refuses a decoded space with more than MAX_HYPERPARAMETERS (or MAX_TRIALS trials)."""
    if isinstance(obj, dict) and len(obj) > MAX_HYPERPARAMETERS:
        raise SearchSpaceError(
            f'{source}: {len(obj):,} hyperparameters, more than {MAX_HYPERPARAMETERS:,}; '
            'search over fewer (fix the others in the submission)')
    if isinstance(obj, list) and len(obj) > MAX_TRIALS:
        raise SearchSpaceError(
            f'{source}: {len(obj):,} trials listed, more than {MAX_TRIALS:,}; list fewer')


def int_bounds_problem(low: float, high: float) -> str | None:
    """Why an int dimension's bounds can't be drawn from (None: they can)."""
    for key, value in (('min', low), ('max', high)):
        if abs(value) > MAX_INT_BOUND:
            return (f"'type' 'int' needs bounds within +-2**53 ({MAX_INT_BOUND:,}), got {key!r} "
                    f"{value!r}; use 'type': 'float' for larger values")
    return None
