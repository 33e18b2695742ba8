"""Runs of many sweeps and tools in one hierarchical pandas DataFrame.

Reads two layouts, side by side:

* this project's ``--log_dir`` (``LOG_DIR/<workload>/metadata.json`` and
  ``run_<N>/{metrics.csv,trial.json}``), through
  :func:`algorithmic_efficiency.analysis.load` (the same numbers as the
  ``status``/``summary`` commands);
* Hydra multirun folders (``multirun/<date>/<time>/<job>/.hydra/{config.yaml,
  overrides.yaml,hydra.yaml}``, ``multirun.yaml`` at the sweep root), and
  single Hydra runs (``outputs/<date>/<time>/.hydra``).

:func:`load_folder` returns the frame; one column per run, one row per
parameter::

                               mnist_pytorch                2024-01-02 03-04-05
                               1        2        3          0      1   ...  11
  group           parameter
  hyperparameters learning_rate 0.0081  0.0008  ...         NaN    NaN
                  lr            NaN     NaN      ...        0.1    0.1
  metrics         best_loss     0.41    0.33     ...        NaN    ...
  dataset         source        embedded ...
  other           status        complete ...
  path            *.csv         .../run_1/metrics.csv ...

* columns, level 0 ``sweep``: the log-dir sweep (its directory relative to
  the folder, usually the workload name) or the Hydra sweep's
  ``"<date> <time>"``; level 1 ``run``: the trial (``run_<N>``) or the Hydra
  job number, as an int, sorted numerically (job 10 after job 2);
* rows, level 0 ``group``: ``hyperparameters``, ``metrics``, ``dataset``,
  ``other``, ``path`` (in that order); level 1 ``parameter``.

So ``df.loc['hyperparameters']`` is every run's hyperparameters,
``df.loc[:, ('mnist_pytorch', 2)]`` all of trial 2, ``df.loc[('path', '*.npy')]``
each run's file; ``df.T`` (or :func:`by_run`) turns it to one row per run,
and :func:`to_tidy` to one row per (run, parameter). Cells a run does not
have are NaN. Nothing here imports JAX or PyTorch; PyYAML, omegaconf and
hydra-core (its override parser) are imported only to read Hydra folders.

The package, one concept a module: :mod:`.walk` (finding runs), :mod:`.log_dir`
(this project's sweeps, through :mod:`algorithmic_efficiency.analysis.loader`),
:mod:`.hydra_runs` (Hydra multiruns), :mod:`.frame` (building the frame:
:func:`load`, :func:`load_folder`), :mod:`.views` (:func:`to_tidy`,
:func:`by_run`, :func:`wallclock`, :func:`since_trial_start`, :func:`telemetry_columns`),
:mod:`.fingerprinting` (:func:`fingerprint`); :mod:`.columns` holds what they share.
"""

from algorithmic_efficiency.analysis.explorer.columns import (
    COLUMN_NAMES,
    GROUPS,
    INDEX_NAMES,
    ExplorerError,
)
from algorithmic_efficiency.analysis.explorer.fingerprinting import fingerprint
from algorithmic_efficiency.analysis.explorer.frame import FileLoader, Loaded, load, load_folder
from algorithmic_efficiency.analysis.explorer.hydra_runs import (
    HYDRA_DATASET_NODES,
    HYDRA_HPARAM_NODE,
    MAX_RESULT_BYTES,
    SOURCE_HYDRA,
)
from algorithmic_efficiency.analysis.explorer.log_dir import (
    LOG_DIR_METRICS,
    LOG_DIR_TRIAL_OTHER,
    SOURCE_LOG_DIR,
)
from algorithmic_efficiency.analysis.explorer.views import (
    by_run,
    since_trial_start,
    telemetry_columns,
    to_tidy,
    wallclock,
)
from algorithmic_efficiency.analysis.explorer.walk import (
    HYDRA_DIR,
    HYDRA_FILES,
    MAX_DEPTH,
    MAX_DIRS,
    MULTIRUN_FILE,
)
from algorithmic_efficiency.storage.files import natural_key

__all__ = [
    'COLUMN_NAMES',
    'GROUPS',
    'HYDRA_DATASET_NODES',
    'HYDRA_DIR',
    'HYDRA_FILES',
    'HYDRA_HPARAM_NODE',
    'INDEX_NAMES',
    'LOG_DIR_METRICS',
    'LOG_DIR_TRIAL_OTHER',
    'MAX_DEPTH',
    'MAX_DIRS',
    'MAX_RESULT_BYTES',
    'MULTIRUN_FILE',
    'SOURCE_HYDRA',
    'SOURCE_LOG_DIR',
    'ExplorerError',
    'FileLoader',
    'Loaded',
    'by_run',
    'fingerprint',
    'load',
    'load_folder',
    'natural_key',
    'since_trial_start',
    'telemetry_columns',
    'to_tidy',
    'wallclock',
]
