"""A sweep's output on disk: file names and the metrics.csv schema, the one source of truth.

The trainer builds rows in :data:`METRICS_SCHEMA`'s order, the recorder adds
its part (telemetry, extra metadata) after them and refuses extra-metadata
keys that would shadow a built-in column, and the analysis loader parses the
numeric ones: all from the definitions here. Constants, two tiny frozen
dataclasses and tuples derived from them; nothing else is imported, so readers
can import this without the recorder's imports (telemetry, psutil).

A row of ``metrics.csv``, in order::

  framework workload run_idx accumulated_submission_time global_step epoch
  <eval metrics: accuracy, loss, then any other the workload returns>
  batch_size <hparam.*> <workload.*>
  steps_per_epoch global_start_time wall_time goal_reached eval_time_sec status
  <framework.<i>.mem.*> checkpoint.seconds trial.resumed_from_step
                                              (the trainer's part ends here)
  <telemetry, in TELEMETRY_ORDER> <--record_extra_metadata keys>   (the recorder's)
"""

from __future__ import annotations

import dataclasses
import re

from algorithmic_efficiency.errors import LogDirError as LogDirError  # re-exported

METADATA_FILE = 'metadata.json'
PACKAGES_FILE = 'packages.txt'
METRICS_FILE = 'metrics.csv'
TRIAL_FILE = 'trial.json'
ERROR_FILE = 'error.txt'
# Scalars a submission logs through workload.metrics_logger (one row per call).
SUBMISSION_METRICS_FILE = 'submission_metrics.csv'
# LOG_DIR/<workload>/run_<N>; at most 18 digits, so N fits the readers' int64 run_idx
# (a run_99999999999999999999 is not a run directory, it is ignored).
RUN_DIR_RE = re.compile(r'^run_(\d{1,18})$')
# A trial's checkpoints: run_<N>/checkpoints/step_<S>/ (training.checkpoint).
CHECKPOINTS_DIR = 'checkpoints'
CHECKPOINT_STEP_RE = re.compile(r'^step_(\d+)$')
# --num_studies K > 1: LOG_DIR/study_<k>/<workload>/..., k = 1..K.
STUDY_DIR_RE = re.compile(r'^study_(\d{1,18})$')


def study_dir_name(k: int) -> str:
    """The directory of study `k` (1-based) under ``--log_dir`` when there are several."""
    return f'study_{k}'


# ---------------------------------------------------------------------------
# metrics.csv
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Column:
    """A built-in column: its name and the type of its values.

    Attributes:
      name: the header name.
      kind: ``'str'``, ``'int'``, ``'float'`` or ``'bool'``.
    """

    name: str
    kind: str


@dataclasses.dataclass(frozen=True)
class Group:
    """A run of columns whose names depend on the trial (one per hyperparameter, ...).

    Attributes:
      name: what the group holds, for code and messages.
      pattern: how its columns are named.
      lead: columns that, when present, come first in the group, in this order.
    """

    name: str
    pattern: str
    lead: tuple[Column, ...] = ()


# The guide's order (accuracy, loss) first, then any other metric of the eval.
EVAL_METRICS = Group(
    'eval metrics', '<metric>', lead=(Column('accuracy', 'float'), Column('loss', 'float'))
)
HPARAMS = Group('hyperparameters', 'hparam.<name>')
WORKLOAD_PROPERTIES = Group('workload properties', 'workload.<property>')
FRAMEWORK_MEMORY = Group('framework memory', 'framework.<i>.mem.<statistic>')
# training.throughput: examples_per_sec on every row; tokens_per_sec, model_flops_per_step
# and mfu where the workload counts them (the language models).
THROUGHPUT = Group('throughput', 'throughput.<rate>')
TELEMETRY = Group('telemetry', 'cpu.* temp.* mem.* disk.* net.* gpu.* proc.* energy.*')
EXTRA_METADATA = Group('extra metadata', '<key> of --record_extra_metadata')

HPARAM_PREFIX = 'hparam.'

METRICS_SCHEMA: tuple[Column | Group, ...] = (
    Column('framework', 'str'),
    Column('workload', 'str'),
    Column('run_idx', 'int'),
    Column('accumulated_submission_time', 'float'),
    Column('global_step', 'int'),
    Column('epoch', 'float'),
    EVAL_METRICS,
    Column('batch_size', 'int'),
    HPARAMS,
    WORKLOAD_PROPERTIES,
    Column('steps_per_epoch', 'int'),
    Column('global_start_time', 'float'),
    Column('wall_time', 'float'),
    Column('goal_reached', 'bool'),
    Column('eval_time_sec', 'float'),
    Column('status', 'str'),
    FRAMEWORK_MEMORY,
    # Seconds spent checkpointing so far (excluded from submission time), and the
    # step this attempt continued from (empty: it started at step 0).
    Column('checkpoint.seconds', 'float'),
    Column('trial.resumed_from_step', 'int'),
    THROUGHPUT,
    TELEMETRY,  # from here on added by the recorder
    EXTRA_METADATA,
)
# The part of a row the trainer builds (the recorder appends the rest).
TRAINER_SCHEMA = METRICS_SCHEMA[: METRICS_SCHEMA.index(TELEMETRY)]


def _columns(schema: tuple[Column | Group, ...]) -> tuple[Column, ...]:
    out: list[Column] = []
    for entry in schema:
        out.extend(entry.lead if isinstance(entry, Group) else (entry,))
    return tuple(out)


# Every column the runner itself names, in order (an extra-metadata key may not shadow one).
BUILTIN_COLUMNS = tuple(c.name for c in _columns(METRICS_SCHEMA))
# Built-in columns holding numbers (parsed as such whatever a damaged file made of them).
NUMERIC_COLUMNS = tuple(c.name for c in _columns(METRICS_SCHEMA) if c.kind in ('int', 'float'))

# Telemetry columns in the guide's order: an exact name, or a prefix ending in '.';
# the rest (interval statistics, proc.*) follow in the order they were read.
TELEMETRY_ORDER = (
    'cpu.util.avg_percent_since_last',
    'cpu.freq.current',
    'temp.',
    'mem.',
    'disk.',
    'net.',
    'gpu.count',
    'gpu.',
)

# GPU (NVML) + CPU package (RAPL) energy over the timed intervals, cumulative (J);
# absent where neither is readable. Energy to target is its value at the first eval at target.
SUBMISSION_ENERGY_COLUMN = 'energy.submission_joules'


def host_id(hostname: str | None = None, salt: str = '') -> str:
    """This host as trial.json records it (``host_id``): a keyed, salted hash, so no file
    names the machine (:mod:`.host_identity`). The recorder writes it; ``status`` compares
    it to tell a dead local trial."""
    from algorithmic_efficiency import host_identity  # pylint: disable=import-outside-toplevel

    return host_identity.host_id(hostname, salt)
