"""Scoring submissions across workloads: time (and energy) to target, ratios, scores.

A *submission* is a name and a directory of its sweeps, in one of two layouts:

::

  DIR/<workload>/...              one study (the runner's --log_dir; or DIR/<workload> itself)
  DIR/study_<k>/<workload>/...    several studies (the runner run once per study)

Per submission and workload: in each study the fastest trial's time to the
target (inf if no trial reached it, or the study has no sweep of the
workload), then the median over the submission's studies. Workloads are
matched by their framework-free name (:func:`base_workload_name`), so JAX and
PyTorch submissions are comparable; a workload some submission lacks counts
inf for it. Ratios and scores follow :mod:`performance_profile`; energy (the
``energy.submission_joules`` column, when the runner records it) is scored
the same way. Reads sweeps through :mod:`loader` only.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from algorithmic_efficiency import spec
from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.analysis import performance_profile as pp
from algorithmic_efficiency.analysis.sweep_dirs import read_metadata
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.layout import STUDY_DIR_RE, SUBMISSION_ENERGY_COLUMN, LogDirError

# Cumulative energy over the timed intervals, per eval row (absent: not measured).
ENERGY_COLUMN = SUBMISSION_ENERGY_COLUMN

WORKLOAD_TIMES_COLUMNS = [
    'submission',
    'workload',
    'framework',
    'studies',
    'trials',
    'trials_reaching_target',
    'time_to_target_sec',
    'energy_to_target_joules',
    'ratio',
    'energy_ratio',
]
SCORES_COLUMNS = ['submission', 'score', 'energy_score']


def base_workload_name(name: str) -> str:
    """The framework-free name of a workload: ``mnist_jax`` and ``mnist_pytorch`` -> ``mnist``.

    Registered names end in ``_<framework>`` (``spec.FRAMEWORKS``); a
    name without such a suffix is returned as it is.
    """
    for framework in spec.FRAMEWORKS:
        suffix = f'_{framework}'
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@dataclasses.dataclass(frozen=True)
class StudyResult:
    """One sweep: a submission's trials on one workload in one study."""

    study: int
    sweep_dir: str
    framework: str | None
    trials: int
    trials_reaching_target: int
    time_to_target: float  # the fastest trial's, s; inf if none reached the target
    energy_measured: bool  # the sweep's rows carry ENERGY_COLUMN
    energy_to_target: float  # J; inf if none reached, NaN if not measured
    # Per trial (the bootstrap resamples them, analysis/bootstrap.py): s / J, inf if it
    # missed the target, energy NaN if not measured.
    trial_times: tuple[float, ...] = ()
    trial_energies: tuple[float, ...] = ()


@dataclasses.dataclass(frozen=True)
class Submission:
    """A submission's sweeps: ``results[k][workload]`` for each study k (1, 2, ...)."""

    name: str
    path: str
    studies: list[int]
    results: dict[int, dict[str, StudyResult]]

    @property
    def workloads(self) -> list[str]:
        return sorted({w for per_study in self.results.values() for w in per_study})

    @property
    def measures_energy(self) -> bool:
        sweeps = [r for per_study in self.results.values() for r in per_study.values()]
        return bool(sweeps) and all(r.energy_measured for r in sweeps)


def find_studies(path: str) -> list[tuple[int, str]]:
    """``(k, log_dir)`` of each study in a submission's directory, in order.

    ``DIR/study_<k>/`` directories are the studies when present; otherwise
    `path` is one study (study 1).

    Raises:
      LogDirError: `path` holds no sweep, is a single trial's directory, or
        mixes ``study_<k>/`` with sweeps directly in it.
    """
    root = os.fspath(path)
    studies = []
    if os.path.isdir(root):
        for name in os.listdir(root):
            m = STUDY_DIR_RE.match(name)
            if m and os.path.isdir(os.path.join(root, name)):
                studies.append((int(m.group(1)), os.path.join(root, name)))
    numbers = [k for k, _ in studies]
    if len(set(numbers)) != len(numbers):
        dup = next(k for k in numbers if numbers.count(k) > 1)
        names = sorted(os.path.basename(d) for k, d in studies if k == dup)
        raise LogDirError(f"'{root}' holds study {dup} twice ({', '.join(names)}); keep one")
    if not studies:
        loader.find_workload_dirs(root)  # raises with the reason when there is no sweep
        return [(1, root)]
    try:
        # find_workload_dirs also returns the studies' sweeps: keep those directly here.
        direct = [
            d
            for d in loader.find_workload_dirs(root)
            if os.path.normpath(os.path.dirname(d)) == os.path.normpath(root)
            or os.path.normpath(d) == os.path.normpath(root)
        ]
    except LogDirError:
        direct = []
    if direct:
        raise LogDirError(
            f"'{root}' holds both study_<k>/ directories and sweeps ({direct[0]}); "
            'move the sweeps into a study_<k>/ directory'
        )
    return sorted(studies)


def _energy_to_target(rows: pd.DataFrame) -> tuple[bool, float]:
    """(measured, the lowest energy of any trial at its first row with goal_reached)."""
    if ENERGY_COLUMN not in rows.columns:
        return False, math.nan
    energy = pd.to_numeric(rows[ENERGY_COLUMN], errors='coerce')
    if not energy.notna().any():
        return False, math.nan
    # eq(True): a cell missing in some trial's file (NaN after the concat) is not a hit.
    hit = rows['goal_reached'].eq(True) if 'goal_reached' in rows.columns else None
    if hit is None or not hit.any():
        return True, math.inf
    first = rows[hit].groupby('run_idx', sort=False).head(1)
    at_target = energy.loc[first.index].to_numpy(dtype=np.float64)
    at_target = at_target[np.isfinite(at_target)]
    # A trial at target without a reading: the study's energy is unknown.
    return True, float(at_target.min()) if at_target.size else math.nan


def _trial_energies(trials: pd.DataFrame, measured: bool) -> tuple[float, ...]:
    """Each trial's energy to target: inf if it missed, NaN if unknown (the loader's value)."""
    if not measured:
        return (math.nan,) * len(trials)
    ttt = pd.to_numeric(trials['time_to_target'], errors='coerce').to_numpy(dtype=np.float64)
    e = pd.to_numeric(trials['energy_to_target'], errors='coerce').to_numpy(dtype=np.float64)
    return tuple(np.where(np.isfinite(ttt), e, math.inf).tolist())


def read_study(log_dir: str, study: int) -> dict[str, StudyResult]:
    """Each sweep of one study by framework-free workload name.

    Raises:
      LogDirError: no sweep in `log_dir`.
      ValueError: two sweeps of the same workload (e.g. mnist_jax and mnist_pytorch).
    """
    runs, trials, sweeps = loader.load(log_dir, metadata=False)
    out: dict[str, StudyResult] = {}
    for sweep in sweeps:
        name = base_workload_name(sweep.name)
        if name in out:
            raise UsageError(
                f"'{log_dir}' holds two sweeps of workload '{name}' ({out[name].sweep_dir}, "
                f'{sweep.dir}); score each framework as its own submission (NAME=DIR)'
            )
        t = trials[trials['sweep'] == sweep.key]
        ttt = pd.to_numeric(t['time_to_target'], errors='coerce').to_numpy(dtype=np.float64)
        reached = ttt[np.isfinite(ttt)]
        measured, energy = _energy_to_target(runs[runs['sweep'] == sweep.key])
        out[name] = StudyResult(
            study=study,
            sweep_dir=sweep.dir,
            framework=sweep.framework,
            trials=len(t),
            trials_reaching_target=int(reached.size),
            time_to_target=float(reached.min()) if reached.size else math.inf,
            energy_measured=measured,
            energy_to_target=energy,
            trial_times=tuple(np.where(np.isfinite(ttt), ttt, math.inf).tolist()),
            trial_energies=_trial_energies(t, measured),
        )
    return out


def read_submission(name: str, path: str) -> Submission:
    """Reads every study of one submission.

    Raises:
      LogDirError, ValueError: one line, prefixed with the submission's name.
    """
    try:
        studies = find_studies(path)
        results = {k: read_study(d, k) for k, d in studies}
    except ValueError as e:
        raise type(e)(f"submission '{name}': {e}") from None
    return Submission(name, os.fspath(path), [k for k, _ in studies], results)


def parse_submission_args(args: Sequence[str]) -> list[tuple[str, str]]:
    """``NAME=DIR`` arguments -> ``[(name, dir)]``; DIR may itself contain '='.

    Raises:
      ValueError: an argument without NAME or DIR, or a name given twice.
    """
    out: dict[str, str] = {}
    for arg in args:
        name, sep, path = arg.partition('=')
        if not sep or not name.strip() or not path:
            raise UsageError(
                f"'{arg}' is not NAME=DIR; name each submission's directory, e.g. adam=logs/adam"
            )
        if name in out:
            raise UsageError(
                f"submission name '{name}' given twice ({name}={out[name]}, {arg}); "
                'give each submission its own name'
            )
        out[name] = path
    return list(out.items())


def _workload_row(sub: Submission, workload: str) -> dict:
    per_study = [sub.results[k].get(workload) for k in sub.studies]
    present = [r for r in per_study if r is not None]
    # A study without this workload's sweep reached nothing: inf, in time and
    # (for a submission that measures energy) in energy; otherwise unknown.
    missing_energy = math.inf if sub.measures_energy else math.nan
    frameworks = sorted({r.framework for r in present if r.framework})
    return {
        'submission': sub.name,
        'workload': workload,
        'framework': '+'.join(frameworks),
        'studies': len(present),
        'trials': sum(r.trials for r in present),
        'trials_reaching_target': sum(r.trials_reaching_target for r in present),
        'time_to_target_sec': pp.median_over_studies(
            math.inf if r is None else r.time_to_target for r in per_study
        ),
        'energy_to_target_joules': pp.median_over_studies(
            missing_energy if r is None else r.energy_to_target for r in per_study
        ),
    }


def workload_times(submissions: Sequence[Submission]) -> pd.DataFrame:
    """``workload_times.csv``: a row per submission and workload (every workload of any).

    ``ratio`` is the time to target over the fastest submission's on that
    workload; ``energy_ratio`` the same on energy, among the submissions with
    an energy value on every workload (NaN for the others).
    """
    workloads = sorted({w for s in submissions for w in s.workloads})
    warn_mixed_concurrency(submissions)
    rows = [_workload_row(s, w) for s in submissions for w in workloads]
    df = pd.DataFrame.from_records(rows, columns=WORKLOAD_TIMES_COLUMNS[:-2])
    n_sub, n_w = len(submissions), len(workloads)
    times = df['time_to_target_sec'].to_numpy(dtype=np.float64).reshape(n_sub, n_w)
    df['ratio'] = pp.ratios(times).ravel()
    energy = df['energy_to_target_joules'].to_numpy(dtype=np.float64).reshape(n_sub, n_w)
    scored = ~np.isnan(energy).any(axis=1)
    energy_ratio = np.full(energy.shape, np.nan)
    if scored.any():
        energy_ratio[scored] = pp.ratios(energy[scored])
    df['energy_ratio'] = energy_ratio.ravel()
    return df


def scores(times: pd.DataFrame, max_ratio: float = pp.DEFAULT_MAX_RATIO) -> pd.DataFrame:
    """``scores.csv``: each submission's score (time) and energy score (NaN: not measured)."""
    out = []
    for name, group in times.groupby('submission', sort=False):
        energy = group['energy_ratio'].to_numpy(dtype=np.float64)
        out.append(
            {
                'submission': name,
                'score': pp.score(group['ratio'], max_ratio),
                'energy_score': math.nan if np.isnan(energy).any() else pp.score(energy, max_ratio),
            }
        )
    return pd.DataFrame.from_records(out, columns=SCORES_COLUMNS)


def warn_mixed_concurrency(submissions: Sequence[Submission]) -> str | None:
    """Warns (and returns the line) when the sweeps ran with different numbers of concurrent
    trials (``metadata.json``'s ``concurrency``, absent: one at a time): a trial sharing the
    machine is slower, so their times are not comparable."""
    found: dict[int, list[str]] = {}
    for sub in submissions:
        for result in (r for per in sub.results.values() for r in per.values()):
            meta = read_metadata(result.sweep_dir)
            part = meta.get('concurrency') or meta.get('ray')  # a Ray sweep's is under 'ray'
            n = part.get('max_concurrent_trials', 1) if isinstance(part, dict) else 1
            found.setdefault(int(n or 1), []).append(f'{sub.name}:{result.sweep_dir}')
    if len(found) < 2:
        return None
    line = 'scores mix sweeps run with different numbers of concurrent trials: ' + '; '.join(
        f'{n} at once: {", ".join(dirs)}' for n, dirs in sorted(found.items()))
    logging.getLogger(__name__).warning(line)
    return line
