"""PNG plots of the sweeps in a log directory (matplotlib, no display needed).

* ``loss_vs_step.png``: eval loss vs global step, a line per trial, a panel per sweep;
* ``accuracy_vs_time.png``: eval accuracy vs submission time, with the target line;
* ``best_loss_vs_evals.png``: the incumbent trajectory (best loss so far vs
  number of evals, in trial order), a line per sweep;
* ``hardware.png``: CPU, memory, and where present GPU utilisation and power
  over the sweep's time, a column per sweep.

Figures are built with ``matplotlib.figure.Figure`` (the Agg canvas), never
``pyplot``: no GUI backend, no global state, safe in threads and on servers.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Sequence

import pandas as pd
from matplotlib.figure import Figure

from algorithmic_efficiency.analysis import incumbent as incumbent_lib
from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.errors import LogDirError, UsageError
from algorithmic_efficiency.storage import files

_log = logging.getLogger(__name__)

PLOTS_DIR = 'plots'
GIB = 1024**3
# Marks of a trial's end by status (a finished trial with a plain line).
END_MARKERS = {'failed': 'X', 'diverged': 'v', 'running': '>', 'interrupted': 's', 'stale': 's',
               'preempted': 's'}
PANEL_W, PANEL_H = 6.0, 4.0


def _grid(n: int) -> tuple[int, int]:
    cols = min(n, 3)
    return math.ceil(n / cols), cols


def _panels(n: int, sharey: bool = False):
    rows, cols = _grid(n)
    fig = Figure(figsize=(PANEL_W * cols + 1.5, PANEL_H * rows), layout='constrained')
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _trial_label(run_idx: int, status: str) -> str:
    return f'trial {run_idx}' + ('' if status in ('complete', '') else f' ({status})')


def _legend(ax, n_items: int) -> None:
    if n_items == 0:
        return
    if n_items <= 8:
        ax.legend(fontsize='small', loc='best')
    else:  # many trials: beside the axes, in columns, so the data stays visible
        ax.legend(
            fontsize='x-small',
            loc='upper left',
            bbox_to_anchor=(1.01, 1.0),
            ncol=math.ceil(n_items / 20),
            borderaxespad=0.0,
        )


def _per_trial(  # noqa: PLR0913  a figure's axes and labels, each plot passes its own
    runs: pd.DataFrame,
    x: str,
    y: str,
    xlabel: str,
    ylabel: str,
    title: str,
    logx: bool,
    logy: bool,
    decorate: Callable | None = None,
) -> Figure:
    """A panel per sweep, a line per trial of `y` against `x`."""
    sweeps = list(dict.fromkeys(runs['sweep']))
    fig, axes = _panels(len(sweeps))
    for ax, key in zip(axes, sweeps, strict=True):
        df = runs[runs['sweep'] == key]
        n = 0
        for i, (run_idx, t) in enumerate(df.groupby('run_idx', sort=True)):
            t = t[[x, y, 'trial.status']].dropna(subset=[x])
            vals = pd.to_numeric(t[y], errors='coerce').astype('float64')
            finite = loader.finite_mask(vals)
            if not finite.any():
                continue
            status = str(t['trial.status'].iloc[-1])
            color = f'C{i % 10}'
            ls = '--' if status == 'failed' else '-'
            ax.plot(
                t[x],
                vals,
                ls,
                marker='o',
                ms=3,
                lw=1.3,
                color=color,
                label=_trial_label(int(run_idx), status),
            )
            if status in END_MARKERS:
                # At the last finite value: a diverged trial ends in NaN/inf, not drawable.
                last = finite[finite].index[-1:]
                ax.plot(t.loc[last, x], vals[last], END_MARKERS[status], ms=9, color=color)
            n += 1
        if decorate is not None:
            n += decorate(ax, df)
        fw = df['framework'].dropna().iloc[0] if df['framework'].notna().any() else ''
        ax.set_title(f'{key} ({fw})' if fw and fw not in key else key)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        _scales(ax, logx, logy)
        ax.grid(True, alpha=0.3)
        _legend(ax, n)
    fig.suptitle(title)
    return fig


def _scales(ax, logx: bool, logy: bool) -> None:
    # 'symlog' near zero keeps step 0 / time 0 points visible on a log x axis.
    if logx:
        ax.set_xscale('symlog', linthresh=1.0)
        # Autoscaling a symlog axis reaches into negative values and ends at the last
        # point (its marker cut in half): steps and times start at 0, so does the axis,
        # and a margin (a fifth of a decade) follows the last point.
        right = ax.dataLim.x1
        if math.isfinite(right) and right > 0:
            ax.set_xlim(0, right * 1.6 if right > 1 else right + 1)
    if logy:
        ax.set_yscale('log')


def loss_vs_step(runs: pd.DataFrame, logx: bool = False, logy: bool = False) -> Figure:
    """Eval loss vs global step (the guide's plot), a line per trial."""
    return _per_trial(
        runs, 'global_step', 'loss', 'global step', 'eval loss', 'Loss vs global step', logx, logy
    )


def _target_line(ax, df: pd.DataFrame) -> int:
    """Draws the accuracy target (and the time each trial reached it); legend items added."""
    name = df['workload.target_metric_name'].dropna() if 'workload.target_metric_name' in df else []
    value = (
        pd.to_numeric(df['workload.target_value'], errors='coerce').dropna()
        if 'workload.target_value' in df
        else []
    )
    if not len(value) or (len(name) and name.iloc[0] != 'accuracy'):
        return 0
    target = float(value.iloc[0])
    ax.axhline(target, color='k', ls=':', lw=1.2, label=f'target {target:g}')
    hit = df[df['goal_reached'].astype(bool)] if 'goal_reached' in df else df.iloc[:0]
    first = hit.groupby('run_idx').head(1)
    if len(first):
        ax.plot(
            first['accumulated_submission_time'],
            first['accuracy'],
            '*',
            ms=14,
            color='gold',
            mec='k',
            label='target reached',
        )
    # Keep the target in view even when no trial comes close to it.
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, target - 0.02), max(hi, target + 0.02))
    return 1 + (1 if len(first) else 0)


def accuracy_vs_time(runs: pd.DataFrame, logx: bool = False, logy: bool = False) -> Figure:
    """Eval accuracy vs accumulated submission time, with the target line."""
    return _per_trial(
        runs,
        'accumulated_submission_time',
        'accuracy',
        'submission time (s)',
        'eval accuracy',
        # Accuracy is bounded (0-1): a log axis only gives unreadable ticks (6x10^-1).
        'Accuracy vs submission time' + (' (linear y: accuracy is bounded)' if logy else ''),
        logx,
        False,
        _target_line,
    )


# One sweep's evals in trial order with the best loss so far (the summary's rule).
incumbent = incumbent_lib.by_eval


def _interesting_top(best: pd.Series) -> float:
    """The best loss after the first improvement (the first eval's, untrained, is far above)."""
    values = list(dict.fromkeys(float(v) for v in best.dropna()))
    return values[1] if len(values) > 1 else (values[0] if values else math.nan)


def _clip_to_improvements(ax, tops: list[float], lows: list[float], logy: bool) -> None:
    """Clips the y axis to where trials differ, with a note naming what is above it."""
    tops = [t for t in tops if math.isfinite(t)]
    lows = [v for v in lows if math.isfinite(v)]
    if not tops or not lows:
        return
    top, low = max(tops), min(lows)
    first = ax.dataLim.y1
    if not first > top:
        return
    pad = (top - low) * 0.1 or abs(top) * 0.05 or 0.05
    bottom = low - pad if not logy or low - pad > 0 else low * 0.9
    ax.set_ylim(bottom, top + pad)
    ax.text(
        0.99, 0.98, f'y clipped: the first evals (up to {first:.3g}) are above',
        transform=ax.transAxes, ha='right', va='top', fontsize='x-small', color='grey',
    )  # fmt: skip


def best_loss_vs_evals(runs: pd.DataFrame, logx: bool = False, logy: bool = False) -> Figure:
    """The incumbent trajectory of every sweep on one axes."""
    fig = Figure(figsize=(PANEL_W + 1.5, PANEL_H), layout='constrained')
    ax = fig.add_subplot()
    n = 0
    tops: list[float] = []
    lows: list[float] = []
    for i, key in enumerate(dict.fromkeys(runs['sweep'])):
        inc = incumbent(runs[runs['sweep'] == key])
        if not inc['best_loss'].notna().any():
            continue
        color = f'C{i % 10}'
        # Sweeps often share their trials (same seed, both frameworks): vary the
        # line style too, so a line drawn over another stays visible.
        ax.plot(
            inc['evals'],
            inc['best_loss'],
            drawstyle='steps-post',
            lw=3.0 - 0.7 * (i % 3),
            ls=('-', '--', ':')[i % 3],
            color=color,
            label=f'{key}: best so far',
        )
        ax.plot(inc['evals'], inc['loss'], '.', ms=4, alpha=0.4, color=color)
        better = incumbent_lib.improved(inc['best_loss'])
        ax.plot(inc['evals'][better], inc['best_loss'][better], 'o', ms=6, color=color)
        for k, (_, r) in enumerate(inc[better].iterrows()):
            ax.annotate(  # alternately above and below: close improvements stay readable
                f't{int(r["run_idx"])}',
                (r['evals'], r['best_loss']),
                textcoords='offset points',
                xytext=(3, 4) if k % 2 == 0 else (3, -11),
                fontsize='x-small',
                color=color,
            )
        n += 1
        tops.append(_interesting_top(inc['best_loss']))
        lows.append(float(inc['best_loss'].min()))
    _clip_to_improvements(ax, tops, lows, logy)
    ax.plot([], [], '.', color='grey', alpha=0.6, label='each eval (tN: trial N improved)')
    ax.set_xlabel('number of evaluations (in trial order)')
    ax.set_ylabel('best eval loss so far')
    ax.set_title('Incumbent trajectory: best loss vs evaluations')
    _scales(ax, logx, logy)
    ax.grid(True, alpha=0.3)
    _legend(ax, n + 1)
    return fig


def _wallclock(df: pd.DataFrame) -> pd.Series:
    """Seconds since the sweep's first trial started, per row (``loader.wall_times``)."""
    start = pd.to_numeric(df['global_start_time'], errors='coerce')
    return loader.wall_times(df) - start.min()


def _first(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    for n in names:
        if n in df.columns and pd.to_numeric(df[n], errors='coerce').notna().any():
            return n
    return None


def _gpu_ids(df: pd.DataFrame) -> list[str]:
    ids = {m.group(1) for c in df.columns if (m := re.match(r'^gpu\.(\d+)\.', c))}
    return sorted(ids, key=int)


SYSTEM_CPU = 'System CPU\n(% of all cores)'
RUNNER_CPU = 'Runner CPU\n(% of one core)'


def _hardware_series(df: pd.DataFrame) -> dict:
    """Panel title -> [(label, column, scale)] of the series present in `df`."""
    panels = {}
    # Two panels: the system's 100 is all cores, the runner process's 100 is one core.
    cpu = _first(df, ['cpu.util.interval_mean_percent', 'cpu.util.avg_percent_since_last'])
    panels[SYSTEM_CPU] = [('system', cpu, 1.0)] if cpu else []
    proc = _first(df, ['proc.cpu.avg_percent_since_last'])
    panels[RUNNER_CPU] = [('runner process', proc, 1.0)] if proc else []
    mem = [('system used', 'mem.used', 1 / GIB)] if _first(df, ['mem.used']) else []
    if _first(df, ['proc.rss_bytes']):
        mem.append(('runner process RSS', 'proc.rss_bytes', 1 / GIB))
    panels['Memory (GiB)'] = mem
    gpus = _gpu_ids(df)
    util, power = [], []
    for i in gpus if len(gpus) <= 8 else []:
        c = _first(df, [f'gpu.{i}.compute.util.interval_mean', f'gpu.{i}.compute.util'])
        if c:
            util.append((f'GPU {i} compute', c, 100.0))
        p = _first(df, [f'gpu.{i}.power.interval_mean_watts', f'gpu.{i}.power.current_watts'])
        if p:
            power.append((f'GPU {i}', p, 1.0))
    if not util:  # many GPUs, or only the averages recorded
        c = _first(df, ['gpu.avg.compute.util.interval_mean', 'gpu.avg.compute.util'])
        if c:
            util.append(('GPU average compute', c, 100.0))
    m = _first(df, ['gpu.avg.mem.util'])
    if m:
        util.append(('GPU average memory', m, 100.0))
    panels['GPU utilisation (%)'] = util
    total = _first(df, ['gpu.total.power.current_watts'])
    if total and len(gpus) != 1:
        power.append(('all GPUs', total, 1.0))
    panels['GPU power (W)'] = power
    return {k: v for k, v in panels.items() if v}


def hardware(runs: pd.DataFrame) -> Figure | None:
    """CPU, memory, GPU utilisation and power over time; a column per sweep (None if no data)."""
    sweeps = list(dict.fromkeys(runs['sweep']))
    per_sweep = {k: _hardware_series(runs[runs['sweep'] == k]) for k in sweeps}
    titles = [
        t
        for t in (SYSTEM_CPU, RUNNER_CPU, 'Memory (GiB)', 'GPU utilisation (%)', 'GPU power (W)')
        if any(t in s for s in per_sweep.values())
    ]
    sweeps = [k for k in sweeps if per_sweep[k]]
    if not titles:
        return None
    fig = Figure(figsize=(PANEL_W * len(sweeps) + 1.0, 2.8 * len(titles)), layout='constrained')
    axes = fig.subplots(len(titles), len(sweeps), squeeze=False, sharex='col')
    for col, key in enumerate(sweeps):
        df = runs[runs['sweep'] == key].sort_values(['run_idx', 'eval_idx'], kind='stable')
        t = _wallclock(df)
        begin = pd.to_numeric(df['global_start_time'], errors='coerce')
        starts = (begin - begin.min()).groupby(df['run_idx']).min().dropna()
        for row, title in enumerate(titles):
            ax = axes[row, col]
            for k, (label, column, scale) in enumerate(per_sweep[key].get(title, [])):
                y = pd.to_numeric(df[column], errors='coerce') * scale
                # A separate line per trial: no line across the untimed set-up gap.
                for j, (_, idx) in enumerate(df.groupby('run_idx').groups.items()):
                    ax.plot(
                        t[idx],
                        y[idx],
                        '-o',
                        ms=3,
                        lw=1.2,
                        color=f'C{k}',
                        label=label if j == 0 else None,
                    )
            for run_idx, s in starts.items():
                ax.axvline(s, color='grey', lw=0.6, alpha=0.5)
                ax.annotate(
                    f't{int(run_idx)}',
                    (s, 1.0),
                    xycoords=('data', 'axes fraction'),
                    xytext=(2, -10),
                    textcoords='offset points',
                    fontsize='x-small',
                    color='grey',
                )
            if title in per_sweep[key]:
                ax.set_ylim(bottom=0)  # levels read against zero, not against each other
                ax.legend(fontsize='x-small', loc='best')
            else:
                ax.text(
                    0.5,
                    0.5,
                    'not recorded',
                    ha='center',
                    va='center',
                    transform=ax.transAxes,
                    color='grey',
                )
            ax.set_ylabel(title)
            ax.grid(True, alpha=0.3)
            if row == 0:
                ax.set_title(key)
            if row == len(titles) - 1:
                ax.set_xlabel('time since the sweep started (s, approx.; tN: trial N starts)')
    fig.suptitle('Hardware during the sweep (each point: the interval before an eval)')
    return fig


PLOTS = {
    'loss_vs_step.png': loss_vs_step,
    'accuracy_vs_time.png': accuracy_vs_time,
    'best_loss_vs_evals.png': best_loss_vs_evals,
    'hardware.png': lambda runs, logx, logy: hardware(runs),
}


# A PNG side beyond this costs gigabytes of memory (matplotlib's own limit is 2**16).
MAX_PIXELS = 20_000


def plot_runs(
    runs: pd.DataFrame, out_dir: str, logx: bool = False, logy: bool = False, dpi: int = 120
) -> list[str]:
    """Writes every plot of `runs` (a :func:`loader.load_runs` frame) into `out_dir`.

    Returns the paths written. A plot with no data (e.g. no telemetry columns)
    is skipped with a warning.

    Raises:
      LogDirError: `runs` has no eval row with a loss.
      UsageError: a figure would exceed MAX_PIXELS at `dpi`.
    """
    if not len(runs) or 'loss' not in runs.columns:
        raise LogDirError('nothing to plot: no trial has an eval row yet')
    files.make_user_dir(out_dir, '--out')
    written = []
    for name, make in PLOTS.items():
        fig = make(runs, logx, logy)
        if fig is None:
            _log.warning('%s: no data for it in these runs; skipped', name)
            continue
        width, height = (round(v * dpi) for v in fig.get_size_inches())
        if max(width, height) > MAX_PIXELS:
            raise UsageError(
                f'{name} would be {width}x{height} pixels (more than {MAX_PIXELS} a side) '
                f'at --dpi {dpi}; lower --dpi or plot fewer sweeps at a time'
            )
        path = os.path.join(out_dir, name)
        with files.atomic_write(path, 'wb') as f:
            fig.savefig(f, format='png', dpi=dpi)
        written.append(path)
    return written


def plot_log_dir(
    log_dir: str,
    out_dir: str | None = None,
    logx: bool = False,
    logy: bool = False,
    dpi: int = 120,
) -> list[str]:
    """Loads `log_dir` and writes its plots into `out_dir` (default ``log_dir/plots``).

    Raises:
      LogDirError: `log_dir` holds no sweep.
      ValueError: no trial has an eval yet.
    """
    runs = loader.load_runs(log_dir, metadata=False)
    return plot_runs(runs, out_dir or os.path.join(log_dir, PLOTS_DIR), logx, logy, dpi)
