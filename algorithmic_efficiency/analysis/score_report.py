"""The outputs of scoring: ``workload_times.csv``, ``scores.csv``, the profiles figure, a table.

:func:`score_submissions` is the whole command: read the submissions, compute
(:mod:`scoring`, :mod:`performance_profile`; intervals :mod:`score_intervals`,
the HTML report :mod:`html_report`), write into an output directory.
Figures are built with ``matplotlib.figure.Figure`` (Agg), never ``pyplot``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from algorithmic_efficiency.analysis import performance_profile as pp
from algorithmic_efficiency.analysis import score_intervals, scoring, summary
from algorithmic_efficiency.analysis.sweep_dirs import read_metadata
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.storage import files

WORKLOAD_TIMES_FILE = 'workload_times.csv'
SCORES_FILE = 'scores.csv'
PROFILES_FILE = 'performance_profiles'  # .png and .svg
LINESTYLES = ('-', '--', '-.', ':')


def write_csv(path: str, df: pd.DataFrame) -> None:
    """`df` as CSV, atomically: exact floats, ``inf`` as ``inf``, NaN as an empty cell."""
    with files.atomic_write(path) as f:
        w = csv.writer(f, lineterminator='\n')
        w.writerow(list(df.columns))
        for row in df.astype(object).itertuples(index=False):
            w.writerow([summary.format_value(v) for v in row])


def _panel(ax, times, scores, which: str, max_ratio: float, analysis=None) -> None:
    ratio_col, score_col = (
        ('ratio', 'score') if which == 'time' else ('energy_ratio', 'energy_score')
    )
    n_workloads = times['workload'].nunique()
    drawn, unmeasured = 0, []
    for i, (name, group) in enumerate(times.groupby('submission', sort=False)):
        value = scores.loc[scores['submission'] == name, score_col].iloc[0]
        if math.isnan(value):
            unmeasured.append(str(name))
            continue
        x, y = pp.profile_steps(group[ratio_col].to_numpy(dtype=np.float64), max_ratio)
        band = analysis.bands.get(which, {}).get(name) if analysis is not None else None
        if band is not None:  # the bootstrap's interval of rho at each tau
            ax.fill_between(analysis.taus, *band, step='post', color=f'C{i % 10}', alpha=0.15, lw=0)
        ax.step(
            x,
            y,
            where='post',
            color=f'C{i % 10}',
            # Equal curves (e.g. two submissions missing everything) would hide
            # each other: line styles and widths differ so both stay visible.
            ls=LINESTYLES[i % len(LINESTYLES)],
            lw=2.6 - 0.4 * (i % len(LINESTYLES)),
            alpha=0.85,
            label=f'{name} (score {value:.3f})',
        )
        drawn += 1
    cost = 'time' if which == 'time' else 'energy'
    ax.set_xlim(1.0, max_ratio)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(f'tau: {cost} to target / the lowest {cost} of any submission')
    ax.set_ylabel(f'rho(tau): fraction of the {n_workloads} workload(s) with ratio <= tau')
    ax.set_title(f'{"Time" if which == "time" else "Energy"} to target')
    ax.grid(True, alpha=0.3)
    if drawn:
        ax.legend(fontsize='small', loc='lower right')
    if unmeasured:
        where = (0.5, 0.5, 'center') if not drawn else (0.02, 0.04, 'left')
        ax.text(
            where[0],
            where[1],
            'energy not measured: ' + ', '.join(unmeasured),
            ha=where[2],
            va='center',
            fontsize='small',
            transform=ax.transAxes,
        )


def plot_profiles(
    times: pd.DataFrame,
    scores: pd.DataFrame,
    max_ratio: float,
    out_dir: str,
    dpi: int = 120,
    analysis: score_intervals.Analysis | None = None,
) -> list[str]:
    """Writes rho(tau) step curves (time | energy) as PNG and SVG; returns the paths.

    With `analysis` (bootstrap intervals), each curve gets its band.
    """
    from matplotlib.figure import Figure  # matplotlib only when a figure is drawn

    fig = Figure(figsize=(13.0, 5.0), layout='constrained')
    left, right = fig.subplots(1, 2)
    _panel(left, times, scores, 'time', max_ratio, analysis)
    _panel(right, times, scores, 'energy', max_ratio, analysis)
    title = f'Performance profiles (score: normalised area under rho on [1, {max_ratio:g}])'
    if analysis is not None and analysis.bands:
        title += f'; bands: {analysis.settings.confidence:.0%} bootstrap intervals'
    fig.suptitle(title)
    paths = []
    for ext in ('png', 'svg'):
        path = os.path.join(out_dir, f'{PROFILES_FILE}.{ext}')
        with files.atomic_write(path, 'wb') as f:
            fig.savefig(f, format=ext, dpi=dpi)
        paths.append(path)
    return paths


def _cell(v, fmt: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '-'
    if isinstance(v, float) and math.isinf(v):
        return 'inf'
    return format(v, fmt)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    # Names left-aligned, numbers right-aligned.
    align = ['<' if h in ('submission', 'workload', 'framework') else '>' for h in header]

    def fmt(cells: list[str]) -> str:
        return '  '.join(f'{c:{a}{w}}' for c, a, w in zip(cells, align, widths, strict=True))

    return [fmt(header).rstrip()] + [fmt(r).rstrip() for r in rows]


def format_table(times: pd.DataFrame, scores: pd.DataFrame, max_ratio: float) -> str:
    """The results as text: a line per submission and workload, then the scores."""
    header = [
        'submission',
        'workload',
        'framework',
        'studies',
        'trials',
        'reached',
        'time_s',
        'ratio',
        'energy_J',
        'energy_ratio',
    ]
    ci = 'interval' in times.columns  # score_intervals' columns: printed after the others
    if ci:
        header += ['time_ci', 'energy_ci']
    rows = [
        [
            str(t.submission),
            str(t.workload),
            t.framework or '-',
            str(t.studies),
            str(t.trials),
            str(t.trials_reaching_target),
            _cell(t.time_to_target_sec, '.3f'),
            _cell(t.ratio, '.3f'),
            _cell(t.energy_to_target_joules, '.1f'),
            _cell(t.energy_ratio, '.3f'),
        ]
        + (
            [
                score_intervals.interval_cell(
                    t.time_to_target_sec_low, t.time_to_target_sec_high, '.3f'
                ),
                score_intervals.interval_cell(
                    t.energy_to_target_joules_low, t.energy_to_target_joules_high, '.1f'
                ),
            ]
            if ci
            else []
        )
        for t in times.itertuples(index=False)
    ]
    lines = _table(header, rows) + ['']
    lines += _table(
        ['submission', 'score', 'energy_score']
        + (['score_ci', 'energy_ci', 'p_best'] if ci else []),
        [
            [str(s.submission), _cell(s.score, '.4f'), _cell(s.energy_score, '.4f')]
            + (
                [
                    score_intervals.interval_cell(s.score_low, s.score_high, '.4f'),
                    score_intervals.interval_cell(s.energy_score_low, s.energy_score_high, '.4f'),
                    _cell(s.p_best, '.3f'),
                ]
                if ci
                else []
            )
            for s in scores.itertuples(index=False)
        ],
    )
    w = times['workload'].nunique()
    lines.append(
        f'score = (1/W) * sum over the W={w} workload(s) of max(0, ({max_ratio:g} - ratio) / '
        f'({max_ratio:g} - 1)); 1 = fastest on every workload, 0 = none within {max_ratio:g}x'
    )
    return '\n'.join(lines) + '\n'


def _flag_off_rules(subs: Sequence[scoring.Submission]) -> None:
    """Warns about sweeps run with --eval_period_time_sec: not the workload's rules."""
    for sub in subs:
        for per_study in sub.results.values():
            for result in per_study.values():
                flags = read_metadata(result.sweep_dir).get('flags') or {}
                period = flags.get('eval_period_time_sec') if isinstance(flags, dict) else None
                if period is not None:
                    logging.getLogger(__name__).warning(
                        "%s: %s ran with --eval_period_time_sec=%g, not the workload's eval "
                        'period: its times do not follow the rules', sub.name, result.sweep_dir,
                        period,
                    )  # fmt: skip


def score_submissions(
    submissions: Sequence[tuple[str, str]],
    out_dir: str,
    max_ratio: float = pp.DEFAULT_MAX_RATIO,
    plot: bool = True,
    settings: score_intervals.Settings | None = None,
    html: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Scores ``[(name, dir)]``; writes the CSVs (and figures) into `out_dir`.

    With `settings`, the frames get :mod:`score_intervals`' columns, the pairs
    go to ``score_pairs.csv``, ``scores.attrs['verdicts']`` holds each pair's
    line to print after the table and the warnings (too few studies, ...) are
    logged; with `html`, the report is written there.

    Returns:
      ``(workload_times frame, scores frame, paths written)``.

    Raises:
      ValueError: bad input (one line): no submission, a name twice, a
        directory without sweeps, a bad `max_ratio`.
      OSError: `out_dir` can't be written.
    """
    max_ratio = pp.check_max_ratio(max_ratio)
    if not submissions:
        raise UsageError('no submission given; pass NAME=DIR for each one')
    names = [n for n, _ in submissions]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UsageError(f"submission name '{dup}' given twice; give each submission its own name")
    subs = [scoring.read_submission(name, path) for name, path in submissions]
    _flag_off_rules(subs)
    times = scoring.workload_times(subs)
    scores = scoring.scores(times, max_ratio)
    analysis = None
    if settings is not None:
        analysis = score_intervals.annotate(subs, times, scores, max_ratio, settings)
        times, scores = analysis.times, analysis.scores
    files.make_user_dir(out_dir, '--out')
    paths = [os.path.join(out_dir, WORKLOAD_TIMES_FILE), os.path.join(out_dir, SCORES_FILE)]
    write_csv(paths[0], times)
    write_csv(paths[1], scores)
    if analysis is not None:
        paths.append(os.path.join(out_dir, score_intervals.PAIRS_FILE))
        write_csv(paths[-1], analysis.pairs)
        scores.attrs['verdicts'] = score_intervals.pair_lines(analysis)
        for line in analysis.warnings:  # on stderr, as score: warning: ..., even with -q
            logging.getLogger(__name__).warning('%s', line)
    if plot:
        paths += plot_profiles(times, scores, max_ratio, out_dir, analysis=analysis)
    if html:
        from algorithmic_efficiency.analysis import html_report  # plotly only for --html

        paths.append(html_report.write(html, subs, analysis, times, scores, max_ratio))
    return times, scores, paths
