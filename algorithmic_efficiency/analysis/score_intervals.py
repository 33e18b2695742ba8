"""Intervals and significance for ``score``: the bootstrap (:mod:`bootstrap`) on the scored data.

:func:`annotate` takes the submissions read by :mod:`scoring` and the frames
it computed, and returns them with new columns appended (the existing ones
untouched), a frame of pairwise comparisons and the warnings to print. The
point estimates stay :mod:`scoring`'s; only the intervals come from here.

When an interval is withheld (column ``interval``):

* ``one_study``: a submission with one study has no spread to resample; its
  rows get no interval, and no score gets one (every ratio depends on it);
* ``not_reached``: no trial of any study reached the target (inf, exactly);
* ``off``: ``--bootstrap 0``.

``few_studies`` marks intervals given but rough: with K studies even their
whole range holds the median only with probability 1 - 2^(1-K) (0.75 for 3),
below the confidence asked for (:func:`min_studies`).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from algorithmic_efficiency.analysis import bootstrap
from algorithmic_efficiency.analysis.scoring import Submission
from algorithmic_efficiency.errors import UsageError

# Appended to workload_times.csv, scores.csv (in this order); the pairs are score_pairs.csv.
TIME_COLUMNS = [
    'time_to_target_sec_low',
    'time_to_target_sec_high',
    'energy_to_target_joules_low',
    'energy_to_target_joules_high',
    'interval',
]
SCORE_COLUMNS = [
    'score_low',
    'score_high',
    'energy_score_low',
    'energy_score_high',
    'p_best',
    'interval',
]
PAIRS_FILE = 'score_pairs.csv'
PAIRS_COLUMNS = [
    'submission_a',
    'submission_b',
    'score_diff',
    'score_diff_low',
    'score_diff_high',
    'p_a_higher',
    'significant',
    'energy_score_diff',
    'energy_score_diff_low',
    'energy_score_diff_high',
    'energy_p_a_higher',
    'energy_significant',
    'confidence',
    'replicates',
]
RESAMPLE = ('studies', 'trials')  # --resample: what the bootstrap draws (bootstrap.py)
NUM_TAUS = 241  # the profile bands' grid on [1, r_max]


@dataclasses.dataclass(frozen=True)
class Settings:
    """``--confidence``, ``--bootstrap`` (replicates; 0: off), ``--seed``, ``--resample``."""

    confidence: float = bootstrap.DEFAULT_CONFIDENCE
    replicates: int = bootstrap.DEFAULT_REPLICATES
    seed: int = 0
    resample: str = 'studies'  # or 'trials': studies, then trials within each (bootstrap.py)


@dataclasses.dataclass
class Analysis:
    """What :func:`annotate` returns."""

    times: pd.DataFrame
    scores: pd.DataFrame
    pairs: pd.DataFrame
    warnings: list[str]
    settings: Settings
    # Profile bands: taus and, per submission, (low, high) of rho; {} without intervals.
    taus: np.ndarray = dataclasses.field(default_factory=lambda: np.empty(0))
    bands: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = dataclasses.field(
        default_factory=dict
    )


def min_studies(confidence: float) -> int:
    """The fewest studies whose range holds their median with probability >= `confidence`."""
    k = 2
    while 1.0 - 2.0 ** (1 - k) < confidence:
        k += 1
    return k


def _replicates(subs: Sequence[Submission], workloads: list[str], s: Settings):
    shape = (s.replicates, len(subs), len(workloads))
    times, energies = np.empty(shape), np.empty(shape)
    for i, sub in enumerate(subs):
        missing_energy = math.inf if sub.measures_energy else math.nan
        for j, w in enumerate(workloads):
            per_study = [sub.results[k].get(w) for k in sub.studies]
            data = [((), ()) if r is None else (r.trial_times, r.trial_energies) for r in per_study]
            rng = bootstrap.stream(s.seed, sub.name, w)
            times[:, i, j], energies[:, i, j] = bootstrap.resample_costs(
                data, s.replicates, rng, missing_energy, trials=s.resample == 'trials'
            )
    return times, energies


def _status(sub: Submission, row, enough: int, on: bool) -> str:
    if not on:
        return 'off'
    if len(sub.studies) < 2:
        return 'one_study'
    if row.trials_reaching_target == 0:
        return 'not_reached'
    return 'few_studies' if len(sub.studies) < enough else 'ok'


def _warnings(
    subs: Sequence[Submission], times: pd.DataFrame, s: Settings, enough: int
) -> list[str]:
    out = []
    pct = f'{s.confidence:.0%}'
    for sub in subs:
        k = len(sub.studies)
        if s.replicates and k == 1:
            out.append(
                f'{sub.name}: 1 study: no interval and no significance (a single median has no '
                f'spread to resample); run --num_studies 2 or more ({enough} for a {pct} interval)'
            )
        elif s.replicates and k < enough:
            out.append(
                f'{sub.name}: {k} studies: its intervals are rough (the range of {k} studies holds '
                f'their median with probability {1 - 2.0 ** (1 - k):.2f} < {s.confidence:g}); '
                f'{enough} studies for a {pct} interval'
            )
    everywhere = set(times['workload'])
    for sub in subs:
        for w in sorted(everywhere - set(sub.workloads)):
            out.append(f'{sub.name}: no sweep of workload {w!r} (other submissions have one): inf')
    for t in times.itertuples(index=False):
        if t.studies and t.trials_reaching_target == 0:
            out.append(
                f'{t.submission}: no trial reached the target of {t.workload} in any study: inf'
            )
    return out


def annotate(
    subs: Sequence[Submission],
    times: pd.DataFrame,
    scores: pd.DataFrame,
    max_ratio: float,
    settings: Settings,
) -> Analysis:
    """`times`/`scores` (from :mod:`scoring`) with the interval columns, the pairs, warnings."""
    s = settings
    on = s.replicates > 0
    enough = min_studies(s.confidence)
    times, scores = times.copy(), scores.copy()
    workloads = list(dict.fromkeys(times['workload']))
    by_name = {sub.name: sub for sub in subs}
    names = [sub.name for sub in subs]
    status = [_status(by_name[t.submission], t, enough, on) for t in times.itertuples(index=False)]
    for col in TIME_COLUMNS[:-1]:
        times[col] = math.nan
    times['interval'] = status
    scores[SCORE_COLUMNS[:-1]] = math.nan
    scores['interval'] = 'off' if not on else 'ok'
    analysis = Analysis(times, scores, pd.DataFrame(columns=PAIRS_COLUMNS), [], s)
    analysis.warnings = _warnings(subs, times, s, enough)
    if not on:
        return analysis
    t_rep, e_rep = _replicates(subs, workloads, s)
    t_low, t_high = bootstrap.interval(t_rep, s.confidence)
    e_low, e_high = bootstrap.interval(e_rep, s.confidence)
    for row, st in enumerate(status):
        if st in ('ok', 'few_studies'):
            i, j = divmod(row, len(workloads))
            times.loc[row, TIME_COLUMNS[:4]] = [
                t_low[i, j],
                t_high[i, j],
                e_low[i, j],
                e_high[i, j],
            ]
    if any(len(sub.studies) < 2 for sub in subs):
        scores['interval'] = 'one_study'
        analysis.pairs = _pairs(scores, None, None, s)
        return analysis
    scores['interval'] = ['few_studies' if len(sub.studies) < enough else 'ok' for sub in subs]
    ratio = bootstrap.ratios(t_rep)
    score_rep = bootstrap.scores(ratio, max_ratio)
    low, high = bootstrap.interval(score_rep, s.confidence)
    scores['score_low'], scores['score_high'] = low, high
    scores['p_best'] = bootstrap.p_best(score_rep)
    # Energy: among the submissions scored on energy, as scoring.workload_times does.
    measured = scores['energy_score'].notna().to_numpy()
    energy_rep = np.full(score_rep.shape, math.nan)
    if measured.any():
        energy_rep[:, measured] = bootstrap.scores(bootstrap.ratios(e_rep[:, measured]), max_ratio)
        low, high = bootstrap.interval(energy_rep, s.confidence)
        scores['energy_score_low'], scores['energy_score_high'] = low, high
    analysis.pairs = _pairs(scores, score_rep, energy_rep, s)
    analysis.taus = np.linspace(1.0, max_ratio, NUM_TAUS)
    rho_low, rho_high = bootstrap.profiles(ratio, analysis.taus, s.confidence)
    analysis.bands['time'] = {n: (rho_low[i], rho_high[i]) for i, n in enumerate(names)}
    if measured.any():  # energy ratios among the submissions scored on energy, as above
        energy_ratio = bootstrap.ratios(e_rep[:, measured])
        rho_low, rho_high = bootstrap.profiles(energy_ratio, analysis.taus, s.confidence)
        kept = [n for n, m in zip(names, measured, strict=True) if m]
        analysis.bands['energy'] = {n: (rho_low[i], rho_high[i]) for i, n in enumerate(kept)}
    return analysis


def _pairs(scores: pd.DataFrame, score_rep, energy_rep, s: Settings) -> pd.DataFrame:
    names = list(scores['submission'])
    rows = []
    for a, b in itertools.combinations(range(len(names)), 2):
        row = {'submission_a': names[a], 'submission_b': names[b]}
        for prefix, rep in (('', score_rep), ('energy_', energy_rep)):
            point = scores[f'{prefix}score'].to_numpy(dtype=np.float64)
            if rep is None:
                c = {'p_a_higher': math.nan, 'diff_low': math.nan, 'diff_high': math.nan}
                significant = ''
            else:
                c = bootstrap.compare(rep[:, a], rep[:, b], s.confidence)
                significant = '' if math.isnan(c['p_a_higher']) else c['significant']
            row[f'{prefix}score_diff'] = float(point[a] - point[b])
            row[f'{prefix}score_diff_low'] = c['diff_low']
            row[f'{prefix}score_diff_high'] = c['diff_high']
            row[f'{prefix}p_a_higher'] = c['p_a_higher']
            row[f'{prefix}significant'] = significant
        row['confidence'], row['replicates'] = s.confidence, s.replicates
        rows.append(row)
    return pd.DataFrame.from_records(rows, columns=PAIRS_COLUMNS)


def _num(v: float, fmt: str) -> str:
    return 'inf' if v == math.inf else format(v, fmt)


def pair_lines(analysis: Analysis) -> list[str]:
    """A line per pair of submissions: the difference, its interval, P, the verdict."""
    pct = f'{analysis.settings.confidence:.0%}'
    lines = []
    for p in analysis.pairs.itertuples(index=False):
        a, b = p.submission_a, p.submission_b
        if math.isnan(p.p_a_higher):
            lines.append(f'{a} vs {b}: no significance test (needs intervals: see the warnings)')
            continue
        verdict = 'significant' if p.significant else 'not significant'
        lines.append(
            f'{a} vs {b}: score difference {p.score_diff:+.4f} ({pct} interval '
            f'[{p.score_diff_low:+.4f}, {p.score_diff_high:+.4f}]), P({a} scores higher) = '
            f'{p.p_a_higher:.3f}: {verdict} at {pct}'
        )
    return lines


def interval_cell(low: float, high: float, fmt: str) -> str:
    """``[low, high]`` for the printed table; '-' without an interval."""
    if math.isnan(low) or math.isnan(high):
        return '-'
    return f'[{_num(low, fmt)}, {_num(high, fmt)}]'


def settings_from_flags(
    confidence: str, replicates: str, seed: str, resample: str = 'studies'
) -> Settings:
    """``--confidence``, ``--bootstrap``, ``--seed``, ``--resample`` as given -> :class:`Settings`.

    Raises:
      UsageError: one line naming the bad value and the fix.
    """
    try:
        c = float(confidence)
    except ValueError:
        c = math.nan
    try:
        n = int(replicates)
    except ValueError:
        raise UsageError(
            f'--bootstrap must be a whole number of replicates, got {replicates!r}; e.g. 2000'
        ) from None
    try:
        seed_value = int(seed)
        if seed_value < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f'--seed must be a whole number >= 0, got {seed!r}') from None
    if math.isnan(c):
        raise UsageError(f'--confidence must be between 0 and 1 (e.g. 0.95), got {confidence!r}')
    c, n = bootstrap.check_settings(c, n)
    if resample not in RESAMPLE:
        raise UsageError(f"--resample must be one of {', '.join(RESAMPLE)}, got {resample!r}")
    return Settings(c, n, seed_value, resample)


def check_html_path(path: str, out_dir: str | None = None) -> None:
    """Refuses an ``--html`` path that is not an .html file in an existing directory.

    The ``--out`` directory counts as existing: ``score`` creates it first.
    """
    parent = os.path.dirname(os.path.abspath(path))
    if not path.lower().endswith(('.html', '.htm')):
        raise UsageError(f"--html names the report file, e.g. report.html; got '{path}'")
    out = os.path.abspath(out_dir) if out_dir else None
    if not os.path.isdir(parent) and parent != out:
        raise UsageError(f"--html '{path}': directory '{parent}' does not exist; create it first")
