"""Loading a submission file: the four functions checked; AlgoPerf files via the compat layer."""

from __future__ import annotations

import os
from typing import Any

from algorithmic_efficiency import compat, spec
from algorithmic_efficiency.recording import std_streams
from algorithmic_efficiency.sweep import submission_framework, submission_import
from algorithmic_efficiency.sweep.config import UsageError
from algorithmic_efficiency.training import exit_guard, working_dir


def load_submission(path: str, framework: str | None = None) -> Any:
    """Imports a submission file and checks it defines the four functions.

    AlgoPerf submissions load unchanged: ``import algoperf`` reaches this
    project's layer unless the real package is installed (``compat.prepare``).
    A ``jax.pmap`` submission is refused before it is imported.
    """
    if not path:
        raise UsageError(
            '--submission_path is required (e.g. baselines/mnist/mnist_jax/submission.py)'
        )
    if not os.path.isfile(path):
        raise UsageError(f"--submission_path '{path}' is not a file")
    with open(path, encoding='utf-8', errors='replace') as f:
        pmap_line = compat.checks.find_pmap(f.read())
    if pmap_line is not None:
        raise UsageError(compat.checks.pmap_message(path, pmap_line))
    compat.prepare(framework)  # `import algoperf` resolves (unless the real one is installed)
    std_streams.protect()  # a submission that closes stdout can't make it one of our files
    working_dir.remember()  # nor move a relative --log_dir with os.chdir
    with exit_guard.guard():  # os._exit at import: one line, not a silent exit
        module = submission_import.import_submission(path, UsageError)
    std_streams.restore()
    working_dir.restore()
    submission_framework.check(module, path, framework)  # a JAX submission on a PyTorch workload
    missing = [f for f in spec.SUBMISSION_FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise UsageError(
            f"submission '{path}' does not define {', '.join(missing)}; a submission "
            f"defines {', '.join(spec.SUBMISSION_FUNCTIONS)}"
        )
    return module


