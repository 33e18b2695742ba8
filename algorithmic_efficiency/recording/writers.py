"""Where eval rows go: one small writer interface, several backends.

In the spirit of ``clu.metric_writers``: every sink of a trial's rows is a
:class:`MetricWriter` (``write_row(row)``, ``close()``), so a new sink is a
new backend rather than another ``if`` in the recorder. Backends:

* CSV: :func:`csv_writer`, the append-only ``metrics.csv``
  (:class:`~algorithmic_efficiency.storage.csv_writer.MetricsCsvWriter`);
* TensorBoard: :func:`tensorboard_writer`, the trial's event files
  (:class:`~algorithmic_efficiency.recording.tb.events.TrialTensorBoardWriter`;
  the ``tensorboard`` package is imported only here, when asked for);
* console: :class:`ConsoleWriter`, one progress line per eval handed to a
  callable (``logging.info`` by default);
* :class:`MultiWriter` fans one row out to several writers.

A row is a dict of column name -> value, in column order, as the trainer
builds it (``framework``, ``run_idx``, ``accumulated_submission_time``,
``global_step``, ``epoch``, the eval's metrics, ``batch_size``, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from algorithmic_efficiency import layout
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter


@runtime_checkable
class MetricWriter(Protocol):
    """A sink for eval rows."""

    def write_row(self, row: Mapping[str, Any]) -> None:
        """Takes one eval's row (column name -> value)."""

    def close(self) -> None:
        """Flushes and releases the sink; writing after it is an error or a no-op."""


class MultiWriter:
    """Writes each row to every writer, in order; closes them all."""

    def __init__(self, writers: Iterable[MetricWriter]):
        self.writers = list(writers)

    def write_row(self, row: Mapping[str, Any]) -> None:
        for writer in self.writers:
            writer.write_row(row)

    def set_status(self, status: str) -> None:
        """Passes a trial's end status no row carries (Ctrl-C) to the writers that take one."""
        for writer in self.writers:
            if hasattr(writer, 'set_status'):
                writer.set_status(status)

    def close(self) -> None:
        """Closes every writer, even if one fails; then raises the first failure."""
        first = None
        for writer in self.writers:
            try:
                writer.close()
            except Exception as e:  # noqa: BLE001  (the others must still close)
                first = first or e
        if first is not None:
            raise first


def csv_writer(path: str, fsync: bool = False) -> MetricsCsvWriter:
    """The ``metrics.csv`` backend (``fsync``: every row reaches the disk before the next eval)."""
    # Header at creation: a trial killed before its first eval leaves a readable CSV.
    return MetricsCsvWriter(path, fsync=fsync, header=layout.BUILTIN_COLUMNS)


def tensorboard_writer(
    run_dir: str, hparams: Mapping[str, Any] | None, searched: Iterable[str] | None
) -> MetricWriter:
    """The TensorBoard backend: the trial's HParams session, eval and telemetry scalars.

    Never raises once made: a TensorBoard failure is one warning and the trial
    goes on. Make it after ``trial.json`` is written (it takes the trial's
    start time from there).
    """
    from algorithmic_efficiency.recording.tb import events  # tensorboard: only when asked

    return events.TrialTensorBoardWriter(run_dir, hparams, searched)


def _fmt(value: Any) -> str:
    """A metric for the progress line; a non-number must not fail the trial."""
    return f'{value:.4f}' if isinstance(value, (int, float)) else str(value)


def eval_metrics(row: Mapping[str, Any]) -> dict[str, Any]:
    """The eval's metrics in `row`: the columns between ``epoch`` and ``batch_size``.

    That is where the trainer puts them (``accuracy``, ``loss``, then any
    other metric of the workload). A row without those two columns gives its
    ``accuracy`` and ``loss``, if present.
    """
    keys = list(row)
    if 'epoch' in row and 'batch_size' in row:
        start, stop = keys.index('epoch') + 1, keys.index('batch_size')
        if start <= stop:
            return {k: row[k] for k in keys[start:stop]}
    return {k: row[k] for k in ('accuracy', 'loss') if k in row}


def progress_line(
    workload_name: str,
    row: Mapping[str, Any],
    stop_reason: str = '',
    metric_keys: Sequence[str] | None = None,
) -> str:
    """One eval as the trainer's progress line.

    ``<workload> trial <run_idx>: step <global_step>, <time>s, <metric> <value>, ...
    (eval <eval_time_sec>s)`` and `` -> <stop_reason>`` when the trial stops there.
    """
    metrics = eval_metrics(row) if metric_keys is None else {k: row[k] for k in metric_keys}
    return (
        f"{workload_name} trial {row['run_idx']}: step {row['global_step']}, "
        f"{row['accumulated_submission_time']:.1f}s, "
        + ', '.join(f'{k} {_fmt(v)}' for k, v in metrics.items())
        + f" (eval {row['eval_time_sec']:.2f}s){' -> ' + stop_reason if stop_reason else ''}"
    )


class ConsoleWriter:
    """Hands one progress line per eval row to `emit` (``logging.info`` by default).

    Args:
      workload_name: the line's first word (rows don't carry it).
      emit: receives each line.
      metric_keys: the metrics to show; default :func:`eval_metrics` of each row.
    """

    def __init__(
        self,
        workload_name: str,
        emit: Callable[[str], None] = logging.info,
        metric_keys: Sequence[str] | None = None,
    ):
        self.workload_name = workload_name
        self._emit = emit
        self._metric_keys = metric_keys

    def write_row(self, row: Mapping[str, Any], stop_reason: str = '') -> None:
        """Emits `row`'s line; `stop_reason` (not a column) ends it with `` -> reason``."""
        self._emit(progress_line(self.workload_name, row, stop_reason, self._metric_keys))

    def close(self) -> None:
        """Nothing to release."""
