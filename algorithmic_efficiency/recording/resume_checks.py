"""What ``--resume`` may trust: which trials are finished, and which to stop re-running.

``trial.json`` alone is not proof that a trial finished: its ``metrics.csv``
may have been lost, truncated or replaced since. A trial is kept (skipped by
``--resume``) only when ``trial.json`` is a JSON object saying ``complete`` or
``diverged`` *and* ``metrics.csv`` is a regular file with a header naming
``global_step`` and at least one row; otherwise it is re-run with a warning
(its files set aside as ``attempt-K.*`` as for any re-run, never deleted).

A trial whose process died without recording an end (``os._exit``, a
segfault, SIGKILL, the out-of-memory killer) leaves ``trial.json`` saying
``running``. Policy (like Ray Tune's ``max_failures`` and MLflow marking a
run whose process died as failed): after :data:`MAX_PROCESS_DEATHS` such
deaths of one trial *since its newest checkpoint*, ``--resume`` marks it
``failed`` and does not run it again, so the rest of the sweep can finish. An
attempt that saved a newer checkpoint before it was killed (a preemptible
machine) made progress, so its death does not count; without checkpoints every
death counts. Deleting its ``run_<N>/`` folder makes
the next ``--resume`` try it afresh.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from typing import Any

from algorithmic_efficiency import spec
from algorithmic_efficiency.layout import (
    CHECKPOINT_STEP_RE,
    CHECKPOINTS_DIR,
    METRICS_FILE,
    RUN_DIR_RE,
    TRIAL_FILE,
    LogDirError,
)
from algorithmic_efficiency.recording import trial_end
from algorithmic_efficiency.storage import files

_log = logging.getLogger(__name__)
# Process deaths of one trial after which --resume stops re-running it.
MAX_PROCESS_DEATHS = 2
# A sweep seed's range (sweep.flag_checks.MAX_SEED, as --rng_seed).
MAX_SEED = 2**64 - 1
# metrics.csv larger than this is not read to the end: its first row is enough.
_HEADER_BYTES = 1 << 20


def read_trial_json(path: str) -> dict[str, Any] | None:
    """``trial.json`` as a dict; None when missing, unreadable or not a JSON object."""
    try:
        info = files.read_json(path)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def metrics_problem(run_dir: str) -> str | None:
    """Why `run_dir`'s metrics.csv can't back a finished trial (None: it can)."""
    path = os.path.join(run_dir, METRICS_FILE)
    if not os.path.lexists(path):
        return 'is missing'
    if not os.path.isfile(path):
        return 'is not a regular file'
    try:
        with open(path, encoding='utf-8', errors='replace', newline='') as f:
            lines = f.read(_HEADER_BYTES).splitlines()
    except OSError as e:
        return f'cannot be read ({e.strerror})'
    if not lines:
        return 'is empty'
    try:
        records = list(csv.reader(lines[:3]))
    except csv.Error:
        return 'is not CSV'
    if 'global_step' not in records[0]:
        return 'has no metrics header'
    if len(records) < 2 or not any(records[1]):
        return 'holds no row'
    return None


def finished_trials(workload_dir: str, run_indices: list[int]) -> set[int]:
    """The trials ``--resume`` skips: finished by trial.json and backed by their rows.

    Trials that died :data:`MAX_PROCESS_DEATHS` times are marked ``failed`` here
    and skipped too.
    """
    skip = set()
    for idx in run_indices:
        run_dir = os.path.join(workload_dir, f'run_{idx}')
        info = read_trial_json(os.path.join(run_dir, TRIAL_FILE))
        status = (info or {}).get('status')
        if status in spec.FINISHED_STATUSES:
            problem = metrics_problem(run_dir)
            if problem is None:
                skip.add(idx)
            else:
                _log.warning('run_%d: trial.json says %s but its %s %s; re-running the trial',
                             idx, status, METRICS_FILE, problem)
        elif status == spec.TrialStatus.RUNNING and _give_up(run_dir, info):
            skip.add(idx)
    return skip


def _newest_checkpoint_time(run_dir: str) -> float:
    """When the trial's newest complete checkpoint was written (-inf: it has none)."""
    root = os.path.join(run_dir, CHECKPOINTS_DIR)
    try:
        names = [n for n in os.listdir(root) if CHECKPOINT_STEP_RE.match(n)]
        return max((os.path.getmtime(os.path.join(root, n)) for n in names),
                   default=float('-inf'))
    except OSError:
        return float('-inf')


def process_deaths(run_dir: str) -> int:
    """How many attempts of the trial in `run_dir` died since its newest checkpoint.

    An attempt counts when its process is gone without an end recorded and it
    started after the newest checkpoint was written: it saved nothing newer.
    """
    names = [TRIAL_FILE] + [n for n in os.listdir(run_dir)
                            if n.startswith('attempt-') and n.endswith('.' + TRIAL_FILE)]
    since = _newest_checkpoint_time(run_dir)
    deaths = 0
    for name in names:
        info = read_trial_json(os.path.join(run_dir, name)) or {}
        started = info.get('started')
        if info.get('status') != spec.TrialStatus.RUNNING:
            continue
        if not isinstance(started, (int, float)) or started > since:
            deaths += 1
    return deaths


def _give_up(run_dir: str, info: dict[str, Any]) -> bool:
    """Marks a trial failed after MAX_PROCESS_DEATHS deaths; whether it did."""
    deaths = process_deaths(run_dir)
    if deaths < MAX_PROCESS_DEATHS:
        return False
    error = (f'the trial\'s process died {deaths} times without recording an end or saving a '
             'newer checkpoint (a crash, SIGKILL or out of memory); not re-run: delete its '
             'folder to try again')
    info.update({'status': spec.TrialStatus.FAILED, 'stop_reason': spec.StopReason.ERROR,
                 'error': error, 'finished': time.time()})
    info = trial_end.from_rows(run_dir, info)  # where it got, from its rows
    files.write_json(os.path.join(run_dir, TRIAL_FILE), files.strict_json(info))
    _log.warning('run_%s: %s', os.path.basename(run_dir).partition('_')[2], error)
    return True


def check_metadata(metadata: dict[str, Any], path: str) -> None:
    """Refuses a metadata.json whose seed or search space can't resume the sweep.

    Raises:
      LogDirError: naming the file, the key, its value and the fix.
    """
    fix = ('restore the file (e.g. from a backup), or start afresh with --overwrite or '
           'another --log_dir')
    if 'rng_seed' not in metadata:
        raise LogDirError(f'{path} has no rng_seed, so the trials\' seeds are unknown; {fix}')
    seed = metadata['rng_seed']
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise LogDirError(
            f'{path}: rng_seed {seed!r} is not a seed (an integer in [0, 2**64-1]); {fix}')
    if 'search_space' not in metadata:
        raise LogDirError(
            f'{path} has no search_space, so the trials\' hyperparameters are unknown; {fix}')


def check_run_dirs(workload_dir: str) -> None:
    """Refuses, before anything is written, a run_<N> that is not a folder."""
    if not os.path.isdir(workload_dir):
        return
    for name in sorted(os.listdir(workload_dir)):
        path = os.path.join(workload_dir, name)
        if RUN_DIR_RE.match(name) and not os.path.isdir(path):
            raise LogDirError(
                f'{path} is a file, not a trial\'s folder; move it away (or start afresh with '
                '--overwrite or another --log_dir)')
