"""The sweeps of a log directory as plain numbers, fast: what ``status`` shows.

The loader (:mod:`.loader`) builds pandas frames for plots and summaries;
importing pandas alone takes most of a second. ``status`` needs per trial only
trial.json (status, heartbeat, result) and a few columns of metrics.csv
(loss, accuracy, goal_reached), so this module reads them with the standard
library. The numbers are the loader's (``load_trials``): time and energy to
target, the best trial and the scores are :mod:`algorithmic_efficiency.scores`'
(the loader's and the trainer's too), and the statuses are the same (a dead
``running`` trial is ``stale``, see :mod:`.liveness`); a live trial's step,
time and ETA come from its heartbeat.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
from typing import Any

from algorithmic_efficiency import scores, spec
from algorithmic_efficiency.analysis import liveness
from algorithmic_efficiency.analysis.sweep_dirs import find_workload_dirs, run_dirs
from algorithmic_efficiency.layout import (
    METADATA_FILE,
    METRICS_FILE,
    SUBMISSION_ENERGY_COLUMN,
    TRIAL_FILE,
)
from algorithmic_efficiency.storage import csv_format, files

_log = logging.getLogger(__name__)
NAN = math.nan
KNOWN_STATUSES = (*(s.value for s in spec.TrialStatus), liveness.STALE)


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return NAN


@dataclasses.dataclass
class Trial:
    """One trial's numbers (the loader's ``load_trials`` columns of the same names)."""

    run_idx: int
    run_dir: str
    status: str
    stop_reason: str | None = None
    error: str | None = None
    hyperparameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    best_loss: float = NAN
    best_accuracy: float = NAN
    final_accuracy: float = NAN
    global_step: float = NAN
    num_evals: int = 0
    accumulated_submission_time: float = NAN
    time_to_target: float = NAN
    # energy.submission_joules at the first eval at target, and its last value (NaN: unmeasured)
    energy_to_target: float = NAN
    submission_energy_joules: float = NAN
    mfu: float = NAN  # the last row's throughput.mfu (NaN: the workload counts no FLOPs)
    heartbeat: dict[str, Any] | None = None  # a running trial's last heartbeat
    node: str | None = None  # a Ray trial's node.id (trial.json)
    framework: str | None = None  # from its rows (a sweep without metadata.json)


@dataclasses.dataclass
class Sweep:
    """One sweep directory: ``key`` as the loader's ``sweep`` column, and its trials."""

    key: str
    dir: str
    name: str
    framework: str | None
    metadata: dict[str, Any]
    trials: list[Trial]


def _read_rows(path: str) -> list[dict[str, str]]:
    """metrics.csv's complete rows as dicts of strings; a damaged file gives what parses."""
    try:
        data, dropped = csv_format.read_complete(path)
    except OSError:
        return []
    if dropped:
        csv_format.warn_partial(path, dropped, 'while reading')
    # newline='': a stray '\r' is a line end as csv means it, not a csv.Error (a traceback).
    reader = csv.reader(io.StringIO(data.decode('utf-8', errors='replace'), newline=''))
    rows: list[dict[str, str]] = []
    try:
        header = next(reader, None)
        if not header:
            return []
        rows.extend(dict(zip(header, r, strict=True)) for r in reader if len(r) == len(header))
    except csv.Error as e:
        _log.warning('%s: not readable as CSV past row %d (%s); showing the rows before it',
                     path, len(rows), e)
    return rows


def _from_rows(trial: Trial, rows: list[dict[str, str]]) -> None:
    losses = [(_num(r.get('loss')), i) for i, r in enumerate(rows)]
    losses = [(v, i) for v, i in losses if math.isfinite(v)]
    if losses:
        trial.best_loss = min(losses)[0]
    accs = [a for a in (_num(r.get('accuracy')) for r in rows) if math.isfinite(a)]
    trial.best_accuracy = max(accs) if accs else NAN
    trial.num_evals = len(rows)
    if rows:
        last = rows[-1]
        trial.framework = last.get('framework') or None
        trial.final_accuracy = _num(last.get('accuracy'))
        trial.global_step = _num(last.get('global_step'))
        trial.accumulated_submission_time = _num(last.get('accumulated_submission_time'))
        trial.mfu = _num(last.get('throughput.mfu'))
        trial.time_to_target = scores.time_to_target(rows)
        trial.energy_to_target = scores.energy_to_target(rows)
        energies = [_num(r.get(SUBMISSION_ENERGY_COLUMN)) for r in rows]
        energies = [e for e in energies if math.isfinite(e)]
        trial.submission_energy_joules = energies[-1] if energies else NAN
        if not trial.hyperparameters:
            first = rows[0].items()
            trial.hyperparameters = {
                k[len('hparam.') :]: _value(v) for k, v in first if k.startswith('hparam.')
            }


def _value(text: str) -> Any:
    """A hyperparameter cell back to a number where it is one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _trial(run_idx: int, run_dir: str) -> tuple[Trial, dict[str, Any] | None]:
    info = files.read_json_object(os.path.join(run_dir, TRIAL_FILE))
    rows = _read_rows(os.path.join(run_dir, METRICS_FILE))
    status = (info or {}).get('status')
    if status not in KNOWN_STATUSES:
        last = rows[-1].get('status') if rows else None
        status = last if last in ('complete', 'diverged', 'running') else 'unknown'
    trial = Trial(run_idx, run_dir, status)
    info_ = info or {}
    if isinstance(info_.get('hyperparameters'), dict):
        trial.hyperparameters = dict(info_['hyperparameters'])
    _from_rows(trial, rows)
    if info_.get('global_step') is not None:  # the step reached (a failed trial's too)
        trial.global_step = _num(info_['global_step'])
    if info_.get('accumulated_submission_time') is not None:
        trial.accumulated_submission_time = _num(info_['accumulated_submission_time'])
    if not rows:
        trial.time_to_target = _num(info_.get('time_to_target'))
        trial.final_accuracy = _num(info_.get('final_accuracy'))
    trial.stop_reason, trial.error = info_.get('stop_reason'), info_.get('error')
    node = info_.get('node.id')
    trial.node = node if isinstance(node, str) else None
    beat = info_.get('heartbeat')
    if isinstance(beat, dict):
        trial.heartbeat = beat
    return trial, info


def _live(trial: Trial) -> None:
    """A running trial's step and time: its heartbeat's, when ahead of its last eval."""
    beat = trial.heartbeat or {}
    step, spent = _num(beat.get('step')), _num(beat.get('accumulated_submission_time'))
    if math.isfinite(step) and not step < (trial.global_step if trial.num_evals else -1):
        trial.global_step = step
        trial.accumulated_submission_time = spent
    elif not math.isfinite(trial.global_step) and math.isfinite(step):
        trial.global_step, trial.accumulated_submission_time = step, spent


def read_sweep(workload_dir: str, log_dir: str) -> Sweep:
    """One sweep directory's trials (statuses as the loader derives them)."""
    key = os.path.relpath(workload_dir, log_dir)
    key = os.path.basename(os.path.abspath(workload_dir)) if key == '.' else key
    metadata = files.read_json_object(os.path.join(workload_dir, METADATA_FILE)) or {}
    read = [_trial(idx, path) for idx, path in run_dirs(workload_dir)]
    statuses = liveness.mark_stale([(info, t.status) for t, info in read])
    trials = []
    for (trial, _), status in zip(read, statuses, strict=True):
        trial.status = status
        if status == 'running':
            _live(trial)
        trials.append(trial)
    name = str(metadata.get('workload') or os.path.basename(workload_dir))
    framework = metadata.get('framework') or next(
        (t.framework for t in trials if t.framework), None
    )
    return Sweep(key, workload_dir, name, framework, metadata, trials)


def read_sweeps(log_dir: str) -> list[Sweep]:
    """Every sweep of `log_dir` (raises LogDirError as the loader does)."""
    root = os.fspath(log_dir)
    return [read_sweep(d, root) for d in find_workload_dirs(root)]


def best_trial(trials: list[Trial]) -> Trial | None:
    """The lowest best loss of a trial that neither failed nor diverged (first on ties)."""
    return scores.incumbent(trials, lambda t: t.best_loss, lambda t: t.status,
                            lambda t: t.run_idx)


def _least_energy(trials: list[Trial]) -> float | None:
    """The least energy to target of any trial (J); inf if none reached; None if unmeasured."""
    measured = any(math.isfinite(t.submission_energy_joules) for t in trials)
    return scores.energy_score((t.energy_to_target for t in trials), measured)


def numbers(sweep: Sweep) -> dict[str, Any]:
    """The sweep's key numbers (``summary.run_status``'s keys of the same names)."""
    trials, meta = sweep.trials, sweep.metadata
    best = best_trial(trials)
    accs = [
        t for t in trials if t.status not in spec.NOT_CANDIDATES and math.isfinite(t.best_accuracy)
    ]
    best_acc = max(accs, key=lambda t: (t.best_accuracy, -t.run_idx), default=None)
    fastest = scores.fastest(trials, lambda t: t.time_to_target, lambda t: t.run_idx)
    targets = [r for r in (meta.get('workload.target_value'),) if r is not None]
    out: dict[str, Any] = {
        'trials_planned': meta.get('num_tuning_trials'),
        'trials_sampled': len(trials),
    }
    for status in ('complete', 'diverged', 'failed', 'running', 'interrupted', 'preempted',
                   'stale'):
        out[f'trials_{status}'] = sum(t.status == status for t in trials)
    times = [t.accumulated_submission_time for t in trials]
    out.update(
        {
            'best_loss': best.best_loss if best else None,
            'best_loss_run_idx': best.run_idx if best else None,
            'best_accuracy': best_acc.best_accuracy if best_acc else None,
            'target_metric': meta.get('workload.target_metric_name'),
            'target_value': targets[0] if targets else None,
            'score_time_to_target_sec': fastest.time_to_target if fastest else math.inf,
            'score_run_idx': fastest.run_idx if fastest else None,
            'score_energy_to_target_joules': _least_energy(trials),
            'total_submission_time_sec': sum(x for x in times if math.isfinite(x)),
        }
    )
    return out
