"""An eval's row of metrics.csv, built in the order of ``layout.TRAINER_SCHEMA``.

The trainer's part of a row only: the recorder appends telemetry and extra
metadata after it (``layout.METRICS_SCHEMA``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from algorithmic_efficiency import layout

_SCHEMA_COLUMNS = frozenset(e.name for e in layout.TRAINER_SCHEMA if isinstance(e, layout.Column))
_SCHEMA_GROUPS = frozenset(e for e in layout.TRAINER_SCHEMA if isinstance(e, layout.Group))


def build_row(
    columns: Mapping[str, Any], groups: Mapping[layout.Group, Mapping[str, Any]]
) -> dict[str, Any]:
    """Lays out one row in the schema's order.

    Args:
      columns: a value for every built-in column of ``layout.TRAINER_SCHEMA``.
      groups: the columns of each group (a missing group has none).

    Raises:
      ValueError: a built-in column is missing or unknown, or a group is not
        in the schema (a programming error, not bad input).
    """
    if set(columns) != _SCHEMA_COLUMNS or not set(groups) <= _SCHEMA_GROUPS:
        missing = sorted(_SCHEMA_COLUMNS - set(columns))
        unknown = sorted(set(columns) - _SCHEMA_COLUMNS)
        raise ValueError(
            f'row does not follow layout.TRAINER_SCHEMA: columns missing {missing}, unknown '
            f'{unknown}, groups unknown {[g.name for g in groups if g not in _SCHEMA_GROUPS]}'
        )
    row: dict[str, Any] = {}
    for entry in layout.TRAINER_SCHEMA:
        if isinstance(entry, layout.Group):
            # A name seen before keeps its place (as in a dict literal): schema order wins.
            row.update(groups.get(entry, {}))
        else:
            row[entry.name] = columns[entry.name]
    return row


def order_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """An eval's metrics with the schema's lead metrics (accuracy, loss) first."""
    lead = [c.name for c in layout.EVAL_METRICS.lead]
    return {**{k: metrics[k] for k in lead if k in metrics}, **metrics}


def hparam_columns(hyperparameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """``hparam.<name>`` columns (none for a self-tuning trial)."""
    return {f'{layout.HPARAM_PREFIX}{k}': v for k, v in (hyperparameters or {}).items()}


@dataclasses.dataclass(frozen=True)
class TrialColumns:
    """What every row of a trial shares; :meth:`row` adds one eval's values."""

    framework: str
    workload: str  # the workload's name, e.g. mnist_jax
    run_idx: int
    batch_size: int
    num_train_examples: int
    steps_per_epoch: int
    global_start_time: float
    hparams: Mapping[str, Any]  # hparam.* columns
    properties: Mapping[str, Any]  # workload.* columns
    resumed_from_step: int | None = None  # trial.resumed_from_step (None: from step 0)

    def row(  # noqa: PLR0913  one eval's cells, keyword-only: a call cannot swap them
        self,
        *,
        step: int,
        accumulated: float,
        metrics: Mapping[str, Any],
        wall_time: float,
        goal_reached: bool,
        eval_time: float,
        status: str,
        framework_memory: Mapping[str, Any],
        checkpoint_seconds: float = 0.0,
    ) -> dict[str, Any]:
        """One eval's row; ``metrics`` already in :func:`order_metrics` order."""
        return build_row(
            {
                'framework': self.framework,
                'workload': self.workload,
                'run_idx': self.run_idx,
                'accumulated_submission_time': accumulated,
                'global_step': step,
                'epoch': step * self.batch_size / self.num_train_examples,
                'batch_size': self.batch_size,
                'steps_per_epoch': self.steps_per_epoch,
                'global_start_time': self.global_start_time,
                'wall_time': wall_time,
                'goal_reached': goal_reached,
                'eval_time_sec': eval_time,
                'status': status,
                'checkpoint.seconds': checkpoint_seconds,
                'trial.resumed_from_step': self.resumed_from_step,
            },
            {
                layout.EVAL_METRICS: metrics,
                layout.HPARAMS: self.hparams,
                layout.WORKLOAD_PROPERTIES: self.properties,
                layout.FRAMEWORK_MEMORY: framework_memory,
            },
        )
