"""TensorBoard event files for a sweep's trials, written without TensorFlow.

One trial, ``LOG_DIR/<workload>/run_<N>/``, becomes one HParams *session*::

  run_<N>/events.out.tfevents.<T>.algorithmic_efficiency            session start (trial id,
                                                                    searched hparams), end status
  run_<N>/eval/events.out.tfevents.<T>.algorithmic_efficiency       loss, accuracy, best_loss,
                                                                    accumulated_submission_time
  run_<N>/telemetry/events.out.tfevents.<T>.algorithmic_efficiency  cpu/..., mem/..., proc/...,
                                                                    gpu/... (by global_step)

The hparams event sits at the trial's root and the scalars in child runs: the
HParams plugin finds a session's metrics in its sub-directories, and shows
nothing for a session without one (tensorboard issue 5476). Each session gets
its own trial id (``run_<N> (<workload>)``), so trials with equal hparams are
not merged into one row.

Files whose name matches :data:`OWN_FILE_RE` are ours: a rebuild replaces
them, nothing else in those directories is ever touched. Event contents are a
function of ``metrics.csv`` rows and ``trial.json`` only (wall times come from
the rows, not the clock), so the live writer and a rebuild from the files
write the same scalars, and rebuilding twice writes the same bytes.

Scalars are float32 (``simple_value``): TensorBoard's fast loader reads no
other scalar type, so the values shown equal the CSV's to float32 precision.
Only the ``tensorboard`` package (no TensorFlow) is needed; JAX and PyTorch
are never imported.

Records are framed by the library's own
``tensorboard.summary.writer.record_writer.RecordWriter`` (TFRecord: length,
masked CRC of the length, data, masked CRC of the data), which is as fast as
the hand-written framing it replaced (``benchmarks/bench_tb_events.py``, both
side by side in one run, same bytes): a 634-byte scalars event 191.9 us
hand-written vs 189.8 us with RecordWriter, a 12.5 KB image event 3.58 vs
3.55 ms. Both spend their time in the same pure-Python ``masked_crc32c``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from algorithmic_efficiency.layout import TRIAL_FILE
from algorithmic_efficiency.storage import files

try:
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import api_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    # The HParams protos; their public names are this module's too (events.searched_hparams ...).
    from algorithmic_efficiency.recording.tb.hparams import (  # noqa: F401
        distinct,
        experiment_summary,
        hparam_domains,
        hparam_value,
        is_number,
        merge_domains,
        searched_hparams,
        session_end_summary,
        session_start_summary,
    )
except ImportError as e:  # an optional dependency: say how to get it
    raise ImportError(
        f'TensorBoard output needs the tensorboard package (no TensorFlow): '
        f'pip install tensorboard ({e})'
    ) from e

_log = logging.getLogger(__name__)

FILE_TAG = 'algorithmic_efficiency'
OWN_FILE_RE = re.compile(r'^events\.out\.tfevents\.\d+\.algorithmic_efficiency$')
EVAL_RUN = 'eval'
TELEMETRY_RUN = 'telemetry'
# Tags of the eval run, in this order (best_loss: lowest finite loss so far in the trial).
EVAL_TAGS = ('loss', 'accuracy', 'best_loss', 'accumulated_submission_time')
# A workload's other eval splits (CIFAR-10's train.loss, test.accuracy, ...) follow
# in the eval run as ``<split>/<metric>``.
EVAL_SPLITS = ('train', 'validation', 'test')
# metrics.csv columns drawn in the telemetry run; ``a.b.c`` becomes tag ``a/b.c``.
TELEMETRY_PREFIXES = ('cpu.', 'mem.', 'proc.', 'gpu.', 'temp.', 'framework.')
# Left out: constants, and since-boot counters (disk.*, net.*, outside the prefixes).
TELEMETRY_CONSTANT_RE = re.compile(
    r'^(mem\.total|gpu\.count|gpu\.\d+\.mem\.total|framework\.\d+\.mem\.limit_bytes)$'
)
# HParams session status per trial status (the loader's); others write no end.
SESSION_STATUS = {
    'complete': api_pb2.STATUS_SUCCESS,
    'diverged': api_pb2.STATUS_FAILURE,
    'failed': api_pb2.STATUS_FAILURE,
    # TensorBoard has no 'killed': an end time with an unknown status tells it from running.
    'interrupted': api_pb2.STATUS_UNKNOWN,
    'preempted': api_pb2.STATUS_UNKNOWN,  # checkpointed; --resume continues it
}


# ---------------------------------------------------------------------------
# Event files
# ---------------------------------------------------------------------------
def event_file_name(timestamp: float | None) -> str:
    """Our event file name: ``events.out.tfevents.<T>.algorithmic_efficiency`` (T: Unix s)."""
    t = timestamp if isinstance(timestamp, (int, float)) and math.isfinite(timestamp) else 0
    return f'events.out.tfevents.{max(0, int(t)):010d}.{FILE_TAG}'


def write_events(f, events: Iterable[event_pb2.Event]) -> None:
    """Writes `events` as TFRecords to the binary file-like `f` (deterministic bytes)."""
    records = RecordWriter(f)
    for event in events:
        records.write(event.SerializeToString(deterministic=True))


def encode_events(events: Iterable[event_pb2.Event]) -> bytes:
    """`events` as the bytes of an event file."""
    buf = io.BytesIO()
    write_events(buf, events)
    return buf.getvalue()


def file_version_event(wall_time: float) -> event_pb2.Event:
    return event_pb2.Event(wall_time=wall_time, file_version='brain.Event:2')


def summary_event(summary: summary_pb2.Summary, step: int, wall_time: float) -> event_pb2.Event:
    return event_pb2.Event(wall_time=wall_time, step=int(step), summary=summary)


def scalars_summary(values: Mapping[str, float]) -> summary_pb2.Summary:
    summary = summary_pb2.Summary()
    for tag, value in values.items():
        summary.value.add(tag=tag, simple_value=float(value))
    return summary


def append_events(path: str, events: Sequence[event_pb2.Event], wall_time: float) -> None:
    """Appends `events` (a new file starts with its file-version event), one write, closed after.

    Opened and closed per call, so a rebuild that replaced the file in the
    meantime is appended to, not a deleted inode.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    new = not os.path.exists(path)
    data = encode_events(([file_version_event(wall_time)] if new else []) + list(events))
    with open(path, 'ab') as f:
        f.write(data)


def own_files(directory: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(os.path.join(directory, n) for n in names if OWN_FILE_RE.match(n))


def remove_own_files(directory: str, keep: str | None = None) -> None:
    for path in own_files(directory):
        if os.path.basename(path) != keep:
            os.remove(path)


def replace_events(directory: str, name: str, events: Sequence[event_pb2.Event]) -> str | None:
    """Makes `directory`/`name` hold exactly `events` (atomically); our other files there go.

    With no events, our files are removed and nothing is created. Returns the
    path written, or None.
    """
    if not events:
        remove_own_files(directory)
        return None
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    # No 'tfevents' in the temporary name: a running TensorBoard must not read it.
    tmp = os.path.join(directory, f'.{FILE_TAG}.{os.getpid()}.tmp')
    with files.atomic_write(path, 'wb', tmp_path=tmp) as f:
        f.write(encode_events(events))
    remove_own_files(directory, keep=name)
    return path


# ---------------------------------------------------------------------------
# Rows -> scalars
# ---------------------------------------------------------------------------
def _number(v: Any) -> float | None:
    """A float, or None for missing/non-numeric values (NaN and inf are kept)."""
    if v is None or isinstance(v, (bool, str)):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def finite(v: Any) -> float | None:
    f = _number(v)
    return f if f is not None and math.isfinite(f) else None


def telemetry_tag(column: str) -> str | None:
    """The telemetry run's tag of a metrics.csv column (``cpu.util.x`` -> ``cpu/util.x``), or None.

    None for columns outside :data:`TELEMETRY_PREFIXES` and for constants.
    """
    if not column.startswith(TELEMETRY_PREFIXES) or TELEMETRY_CONSTANT_RE.match(column):
        return None
    return column.replace('.', '/', 1)


class TrialEvents:
    """Turns a trial's rows, in order, into its eval and telemetry events."""

    def __init__(self, start_time: float):
        self.start_time = start_time
        self.best = math.inf
        self.eval_time = 0.0
        self.rows = 0
        self.last_status: str | None = None
        # The session's end time: the last eval's (wall_time); so live and rebuilt agree.
        self.last_wall_time = start_time

    def wall_time(self, row: Mapping[str, Any]) -> float:
        # The eval's wall time from the row itself (so a rebuild writes the same):
        # trial start + submission time + eval time so far. Set-up is not counted.
        start = finite(row.get('global_start_time'))
        spent = finite(row.get('accumulated_submission_time'))
        if start is None or spent is None:
            return self.start_time
        return start + spent + self.eval_time

    def add(self, row: Mapping[str, Any]) -> tuple[event_pb2.Event | None, event_pb2.Event | None]:
        self.rows += 1
        self.eval_time += finite(row.get('eval_time_sec')) or 0.0
        status = row.get('status')
        self.last_status = status if isinstance(status, str) else None
        step = finite(row.get('global_step'))
        step = int(step) if step is not None else self.rows
        wall = self.last_wall_time = self.wall_time(row)
        scalars = {}
        for tag in ('loss', 'accuracy'):
            value = _number(row.get(tag))
            if value is not None:  # NaN included: a diverged eval measured NaN
                scalars[tag] = value
        for column, cell in row.items():
            split, _, metric = str(column).partition('.')
            drawn = split in EVAL_SPLITS and metric in ('loss', 'accuracy')
            value = _number(cell) if drawn else None
            if value is not None:
                scalars[f'{split}/{metric}'] = value
        loss = finite(row.get('loss'))
        if loss is not None:
            self.best = min(self.best, loss)
        if math.isfinite(self.best):
            scalars['best_loss'] = self.best
        spent = _number(row.get('accumulated_submission_time'))
        if spent is not None:
            scalars['accumulated_submission_time'] = spent
        telemetry = {}
        for column, value in row.items():
            tag = telemetry_tag(str(column))
            value = finite(value) if tag else None
            if value is not None:
                telemetry[tag] = value
        return (
            summary_event(scalars_summary(scalars), step, wall) if scalars else None,
            summary_event(scalars_summary(telemetry), step, wall) if telemetry else None,
        )


def _trial_started(run_dir: str) -> float | None:
    try:  # quietly: a trial without a readable trial.json just has no start time
        info = files.read_json(os.path.join(run_dir, TRIAL_FILE))
    except (OSError, ValueError):
        return None
    return finite(info.get('started')) if isinstance(info, dict) else None


def default_trial_id(run_dir: str) -> str:
    """``run_<N> (<workload>)``: unique in a LOG_DIR; the trial first, as the table cuts it."""
    path = os.path.normpath(os.path.abspath(run_dir))
    return f'{os.path.basename(path)} ({os.path.basename(os.path.dirname(path))})'


def _searched_values(hparams: Mapping[str, Any] | None, searched: Iterable[str] | None) -> dict:
    hparams = dict(hparams or {})
    if searched is None:
        return hparams
    return {k: hparams[k] for k in searched if k in hparams}


class TrialTensorBoardWriter:
    """A trial's TensorBoard output, fed like the CSV writer (``write_row``/``close``).

    Construction writes the session start (trial id, searched hparams) at
    `run_dir`'s root, replacing our files of an earlier attempt; each row
    appends its scalars to ``eval/`` and ``telemetry/``; :meth:`close`
    appends the end status, from the last row (``complete`` -> success,
    ``diverged`` -> failure; :meth:`set_status` ``interrupted`` -> an end
    with an unknown status; no closing row -> failure, or none if an
    exception is being handled).

    Never raises: the first error (a full disk, a read-only directory) is
    logged once as a warning and the writer does nothing more; the trial and
    its CSV go on.

    Args:
      run_dir: the trial's directory (``LOG_DIR/<workload>/run_<N>``).
      hparams: the trial's hyperparameters (None: self-tuning).
      searched: the names to show (:func:`searched_hparams` of the search
        space); None shows all of `hparams`.
      trial_id: the HParams trial id (group name); default ``run_<N> (<workload>)``.
      start_time: Unix seconds; default trial.json's ``started``, else now.
    """

    def __init__(
        self,
        run_dir: str,
        hparams: Mapping[str, Any] | None,
        searched: Iterable[str] | None = None,
        trial_id: str | None = None,
        start_time: float | None = None,
    ):
        self.run_dir = run_dir
        self.disabled = False
        self._closed = False
        try:
            start = start_time if start_time is not None else _trial_started(run_dir)
            start = start if start is not None else time.time()
            self._events = TrialEvents(start)
            name = event_file_name(start)
            self.session_path = os.path.join(run_dir, name)
            self.eval_path = os.path.join(run_dir, EVAL_RUN, name)
            self.telemetry_path = os.path.join(run_dir, TELEMETRY_RUN, name)
            for path in (self.session_path, self.eval_path, self.telemetry_path):
                remove_own_files(os.path.dirname(path))  # an earlier attempt's
            values = _searched_values(hparams, searched)
            summary = session_start_summary(values, trial_id or default_trial_id(run_dir), start)
            append_events(self.session_path, [summary_event(summary, 0, start)], start)
        except Exception as e:  # noqa: BLE001  (TensorBoard must never stop a trial)
            self._fail(e)

    def _fail(self, e: BaseException) -> None:
        self.disabled = True
        _log.warning(
            'TensorBoard output of %s stopped (the trial goes on): %s: %s',
            self.run_dir,
            type(e).__name__,
            e,
        )

    def write_row(self, row: Mapping[str, Any]) -> None:
        """Appends one eval row's scalars (the full metrics.csv row)."""
        if self.disabled or self._closed:
            return
        try:
            eval_event, telemetry_event = self._events.add(row)
            start = self._events.start_time
            if eval_event is not None:
                append_events(self.eval_path, [eval_event], start)
            if telemetry_event is not None:
                append_events(self.telemetry_path, [telemetry_event], start)
        except Exception as e:  # noqa: BLE001
            self._fail(e)

    def set_status(self, status: str) -> None:
        """The trial's end status when no row carries it (``interrupted`` on Ctrl-C)."""
        if not self.disabled:
            self._events.last_status = status

    def close(self) -> None:
        """Writes the session's end status (once)."""
        if self.disabled or self._closed:
            return
        self._closed = True
        try:
            status = self._events.last_status
            if status in SESSION_STATUS:
                code = SESSION_STATUS[status]
            elif sys.exc_info()[0] is not None:
                return  # closed while an exception (e.g. Ctrl-C) unwinds: status unknown
            else:
                code = api_pb2.STATUS_FAILURE  # no closing row: the trial raised
            end = self._events.last_wall_time
            summary = session_end_summary(code, end)
            append_events(self.session_path, [summary_event(summary, 0, end)], end)
        except Exception as e:  # noqa: BLE001
            self._fail(e)


def write_trial(
    run_dir: str,
    rows: Iterable[Mapping[str, Any]],
    hparams: Mapping[str, Any] | None,
    searched: Iterable[str] | None,
    trial_id: str | None = None,
    start_time: float | None = None,
    status: str | None = None,
) -> list[str]:
    """Rebuilds a trial's event files from its rows (what the live writer would have written).

    Each file is replaced atomically and our older files in those directories
    are removed. `start_time` is trial.json's ``started``; `status` the
    trial's (loader) status: ``complete``, ``diverged`` and ``failed`` write
    an end status, ``interrupted`` an end with an unknown status, others (``running``,
    ``stale``) none. The end time
    is the last eval's, as the live writer has it. Raises OSError when a file
    can't be written.
    """
    rows = list(rows)
    start = finite(start_time)
    if start is None and rows:
        start = finite(rows[0].get('global_start_time'))
    start = start if start is not None else 0.0
    name = event_file_name(start)
    events = TrialEvents(start)
    eval_events, telemetry_events = [], []
    for row in rows:
        e, t = events.add(row)
        eval_events += [e] if e is not None else []
        telemetry_events += [t] if t is not None else []
    session = session_start_summary(
        _searched_values(hparams, searched), trial_id or default_trial_id(run_dir), start
    )
    session_events = [file_version_event(start), summary_event(session, 0, start)]
    if status in SESSION_STATUS:
        end = events.last_wall_time
        session_events.append(
            summary_event(session_end_summary(SESSION_STATUS[status], end), 0, end)
        )
    written = [replace_events(run_dir, name, session_events)]
    for sub, evs in ((EVAL_RUN, eval_events), (TELEMETRY_RUN, telemetry_events)):
        written.append(
            replace_events(os.path.join(run_dir, sub), name, [file_version_event(start)] + evs)
            if evs
            else replace_events(os.path.join(run_dir, sub), name, [])
        )
    return [p for p in written if p]
