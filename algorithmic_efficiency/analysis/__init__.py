"""Analysis of a sweep's files: loader, summary CSVs, status table, plots.

Reads only what ``submission_runner.py --log_dir`` wrote; never imports JAX or
PyTorch. The loader's names are available here (``load_runs``,
``load_trials``, ...), imported on first use so that the command-line entry
points can parse their arguments before pandas loads. Plotting lives in
:mod:`algorithmic_efficiency.analysis.plot` (matplotlib).
"""

import importlib
import logging
import sys
from collections.abc import Callable

from algorithmic_efficiency.errors import AEError

__all__ = ['LogDirError', 'SweepInfo', 'find_workload_dirs', 'load', 'load_runs', 'load_trials']


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module('algorithmic_efficiency.analysis.loader'), name)
    raise AttributeError(f"module 'algorithmic_efficiency.analysis' has no attribute '{name}'")


def __dir__():
    return sorted(list(globals()) + __all__)


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """Runs a command's `body`; bad input becomes one line on stderr and exit code 2.

    What the commands (summary, status, plot, score, tensorboard) share: bad
    input -- an :class:`~algorithmic_efficiency.errors.AEError` (``LogDirError``,
    ``UsageError``, an unwritable ``--out`` as ``UserPathError``, ...) -- prints
    ``<prog>: error: <first line>`` and exits 2, never a traceback; any other
    exception is a bug and keeps its traceback (exit 1); warnings from the
    readers (a partial last line dropped, an unreadable file skipped) print
    as ``<prog>: warning: ...``; Ctrl-C exits 130 quietly.
    """
    # Only warnings and worse are shown, hence the fixed word.
    logging.basicConfig(level=logging.WARNING, format=f'{prog}: warning: %(message)s')
    logging.captureWarnings(True)
    try:
        return body()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `... | head`: the reader left, nothing to report
        return 0
    except AEError as e:  # bad input; anything else is a bug: its traceback, exit 1
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f'{prog}: error: {msg}', file=sys.stderr)
        return 2
