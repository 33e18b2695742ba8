"""``workload.metrics_logger``: scalars a submission logs itself, recorded per trial.

AlgoPerf submissions log training scalars through the workload::

    if workload.metrics_logger is not None:
        workload.metrics_logger.append_scalar_metrics(
            {'loss': loss.item(), 'grad_norm': grad_norm.item()}, global_step)

During a recorded trial (``--log_dir``) the runner attaches a
:class:`SubmissionMetricsLogger` to the workload; without ``--log_dir`` it is
``None``, as on the peer's runner. Each call appends one row to
``run_<N>/submission_metrics.csv`` (``global_step``, ``wall_time``, then the
metrics; a new metric adds a column) with the same append-only writer as
``metrics.csv``, and with ``--tensorboard`` each number is also a scalar of the
trial's ``submission`` run (tag = the metric's name, step = ``global_step``).

Logging is the submission's own cost: it happens inside ``update_params``,
which is timed (``.item()`` on a device value also waits for the device).
"""

from __future__ import annotations

import logging
import numbers
import os
import time
from collections.abc import Mapping
from typing import Any

from algorithmic_efficiency.layout import SUBMISSION_METRICS_FILE
from algorithmic_efficiency.storage import csv_io

_log = logging.getLogger(__name__)

_WHAT = 'metrics_logger.append_scalar_metrics'


def _scalar(name: str, value: Any) -> Any:
    """A Python number, bool or str for ``value`` (NumPy/JAX/torch scalars via ``.item()``)."""
    if hasattr(value, 'item') and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, RuntimeError, TypeError):
            raise TypeError(
                f'{_WHAT}: {name!r} must be one number, got an array of shape '
                f'{tuple(getattr(value, "shape", ()))}; log a scalar (e.g. .mean())'
            ) from None
    if isinstance(value, (bool, numbers.Number, str)) and not isinstance(value, complex):
        return value
    raise TypeError(f'{_WHAT}: {name!r} must be a number, got {type(value).__name__} {value!r}')


class SubmissionMetricsLogger:
    """One trial's ``metrics_logger`` (the peer's ``append_scalar_metrics`` interface).

    Args:
      run_dir: the trial's ``run_<N>`` directory.
      tensorboard: also write the numbers as TensorBoard scalars (``run_<N>/submission/``).
      fsync: fsync the CSV after every row (``--fsync``).
    """

    def __init__(self, run_dir: str, tensorboard: bool = False, fsync: bool = False):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, SUBMISSION_METRICS_FILE)
        self._tensorboard = tensorboard
        self._fsync = fsync
        self._writer: csv_io.MetricsCsvWriter | None = None  # opened on the first row
        self._tb_logger = None
        self.rows_written = 0

    def append_scalar_metrics(
        self,
        metrics: Mapping[str, Any],
        global_step: int,
        preemption_count: int | None = None,
        is_eval: bool = False,
    ) -> None:
        """Records ``metrics`` at ``global_step``.

        ``preemption_count`` and ``is_eval`` are accepted for the peer's callers
        and ignored: this runner has no preemptions, and eval rows are
        ``metrics.csv``'s.

        Raises:
          TypeError: a value is not one number (or bool, or string).
        """
        del preemption_count, is_eval
        if not isinstance(metrics, Mapping):
            raise TypeError(f'{_WHAT}: expected a dict of numbers, got {type(metrics).__name__}')
        values = {str(name): _scalar(str(name), value) for name, value in metrics.items()}
        step = int(global_step)
        if self._writer is None:
            self._writer = csv_io.MetricsCsvWriter(self.path, fsync=self._fsync)
        self._writer.write_row({'global_step': step, 'wall_time': time.time(), **values})
        self.rows_written += 1
        if self._tensorboard:
            self._write_tensorboard(values, step)

    def _write_tensorboard(self, values: Mapping[str, Any], step: int) -> None:
        if self._tb_logger is None:
            # pylint: disable=import-outside-toplevel
            from algorithmic_efficiency.recording.tb.logger import Logger

            self._tb_logger = Logger.for_trial(self.run_dir)
        for name, value in values.items():
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                self._tb_logger.add_scalar(name, value, step)  # NaN too: it shows divergence

    def finish(self) -> None:
        """The peer's name for :meth:`close`."""
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tb_logger is not None:
            self._tb_logger.close()
            self._tb_logger = None
