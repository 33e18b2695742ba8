"""The sweep: a validated :class:`RunConfig` in, trials run and recorded, an exit code out.

``submission_runner.py`` turns flags into a ``RunConfig`` and calls :func:`run`;
tests and other programs can do the same without absl. Library code below
this point never reads flags.

* :mod:`.config` — ``RunConfig`` and every check made before anything is written
  (:mod:`.flag_checks` for the numeric flags);
* :mod:`.submission` — loading the submission file (:mod:`.submission_import`);
* :mod:`.core` — the sweep itself: lock, seed, trials, files, the end table;
* :mod:`.studies` — ``--num_studies``: repeated sweeps with derived seeds;
* :mod:`.metadata` — ``metadata.json``'s content;
* :mod:`.devices` — the run's processes (``torchrun``) and the batch-over-devices check.
"""

from algorithmic_efficiency.sweep.config import (
    PATH_FLAGS,
    RAY_FLAGS,
    RUNNER_FLAGS,
    CheckedInputs,
    RunConfig,
    UsageError,
    check_config,
)
from algorithmic_efficiency.sweep.core import (
    _check_one_batch,
    format_summary,
    run,
    trial_list,
)
from algorithmic_efficiency.sweep.metadata import (
    FRAMEWORK_PACKAGES,
    package_versions,
    sweep_metadata,
)
from algorithmic_efficiency.sweep.submission import load_submission

__all__ = [
    'FRAMEWORK_PACKAGES',
    'PATH_FLAGS',
    'RAY_FLAGS',
    'RUNNER_FLAGS',
    'CheckedInputs',
    'RunConfig',
    'UsageError',
    '_check_one_batch',
    'check_config',
    'format_summary',
    'load_submission',
    'package_versions',
    'run',
    'sweep_metadata',
    'trial_list',
]
