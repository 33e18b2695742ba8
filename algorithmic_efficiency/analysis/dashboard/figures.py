"""Figures and tables of the runs dashboard, built from the explorer's frames.

Plotly figures (parallel coordinates, a line per trial) and the trial table;
no Streamlit here, so they can be built and checked outside a page.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from algorithmic_efficiency.analysis import explorer

NA = 'n/a'
LOG_AXIS_RATIO = 100.0  # a positive range this wide (max/min) gets a log10 axis
VIRIDIS = ('#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779',
           '#6ece58', '#b5de2b', '#fde725')  # fmt: skip
MISSING_GREY = '#c8c8c8'
END_TICK_ROOM = 0.08  # no round tick this close (share of the axis) to a labelled end
GREY_SHARE = 0.05  # the bottom of the colour scale that is grey (runs without the metric)


def cell_label(v) -> str:
    """A value as the page shows it (``n/a`` for a missing one)."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return NA
    return str(v)


def ordered(values) -> list:
    """Distinct labels in natural order, ``n/a`` last."""
    return sorted(set(values), key=lambda v: (v == NA, explorer.natural_key(str(v))))


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round numbers (1, 2, 2.5, 5 x 10^k apart) between `lo` and `hi`, about `n` of them."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * step:
        ticks.append(round(t, 12))
        t += step
    return ticks or [lo, hi]


def _tick_text(t: float, log: bool) -> str:
    if not log:
        return f'{t:.4g}'
    if abs(t - round(t)) < 1e-9:
        return f'1e{round(t)}'
    return f'{10**t:.3g}'


def parcoords_dimension(label: str, series: pd.Series) -> dict | None:
    """One axis: numbers (log10 for a wide positive range) or labelled categories.

    A run without a value sits on an ``n/a`` tick below a numeric axis, or in
    an ``n/a`` category. None if no run has a value.
    """
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        v = pd.to_numeric(series, errors='coerce').astype('float64').to_numpy()
        ok = np.isfinite(v)
        if not ok.any():
            return None
        lo, hi = float(v[ok].min()), float(v[ok].max())
        log = lo > 0 and hi / lo >= LOG_AXIS_RATIO
        vals = np.where(ok, np.log10(np.where(ok & (v > 0), v, 1.0)) if log else v, np.nan)
        flo, fhi = float(np.nanmin(vals)), float(np.nanmax(vals))
        span = (fhi - flo) or abs(fhi) or 1.0
        # The ends of the axis (the smallest and largest value) and round ticks between.
        if log:
            inner = [float(t) for t in range(math.ceil(flo), math.floor(fhi) + 1)]
        else:
            inner = _nice_ticks(flo, fhi)
        room = END_TICK_ROOM * (fhi - flo)
        inner = [t for t in inner if flo + room < t < fhi - room]
        ticks = [flo] + inner + [fhi] if fhi > flo else [flo]
        text = [_tick_text(t, log) for t in ticks]
        bottom = flo if flo != fhi else flo - 0.1 * span
        top = fhi if flo != fhi else fhi + 0.1 * span
        if not ok.all():
            bottom = flo - 0.15 * span
            vals = np.where(ok, vals, bottom)
            ticks, text = [bottom] + ticks, [NA] + text
        return {
            'label': f'{label} (log10)' if log else label,
            'values': [float(x) for x in vals],
            'range': [bottom, top],
            'tickvals': ticks,
            'ticktext': text,
        }
    labels = series.map(cell_label)
    if (labels == NA).all():
        return None
    cats = ordered(labels)
    codes = {c: i for i, c in enumerate(cats)}
    return {
        'label': label,
        'values': [codes[x] for x in labels],
        'range': [0, max(len(cats) - 1, 1)],
        'tickvals': list(range(len(cats))),
        'ticktext': cats,
    }


def _line_colour(c: pd.Series, title: str) -> dict:
    """Viridis by `c`; runs without a value in grey (below the scale's low end)."""
    lo, hi = float(c.min()), float(c.max())
    span = (hi - lo) or abs(hi) or 1.0
    if not c.isna().any():
        return {
            'color': [float(x) for x in c],
            'colorscale': 'Viridis',
            'showscale': True,
            'colorbar': {'title': {'text': title}},
        }
    bottom = lo - GREY_SHARE / (1 - GREY_SHARE) * span
    scale = [[0.0, MISSING_GREY], [GREY_SHARE, MISSING_GREY]]
    n = len(VIRIDIS)
    scale += [[GREY_SHARE + (1 - GREY_SHARE) * i / (n - 1), col] for i, col in enumerate(VIRIDIS)]
    scale[-1][0] = 1.0  # exactly: plotly.js ignores a scale that does not end at 1
    return {
        'color': [float(x) for x in c.fillna(bottom)],
        'colorscale': scale,
        'cmin': bottom,
        'cmax': hi if hi > lo else lo + span,
        'showscale': True,
        'colorbar': {'title': {'text': f'{title} (grey: {NA})'}},
    }


def parcoords_figure(
    table: pd.DataFrame, hparams: list[str], metrics: list[str], color: str | None
) -> go.Figure | None:
    """Parallel coordinates: one line per run; None when no axis has data."""
    dims = []
    for group, names in (('hyperparameters', hparams), ('metrics', metrics)):
        for name in names:
            if (group, name) in table.columns:
                d = parcoords_dimension(name, table[(group, name)])
                if d is not None:
                    dims.append(d)
    if not dims:
        return None
    line: dict = {}
    if color and ('metrics', color) in table.columns:
        c = pd.to_numeric(table[('metrics', color)], errors='coerce').astype('float64')
        c = c.where(np.isfinite(c))
        if c.notna().any():
            line = _line_colour(c, color)
    fig = go.Figure(go.Parcoords(line=line, dimensions=dims, labelangle=-20))
    fig.update_layout(margin={'l': 60, 'r': 60, 't': 70, 'b': 30}, height=480)
    return fig


def short_labels(keys) -> dict:
    """Each sweep key -> its shortest path suffix that no other key ends with.

    Sweeps of two folders with the same name get their full paths as keys; the
    page shows ``a/mnist_jax`` and ``b/mnist_jax`` instead of two long paths
    that a chip truncates into the same text.
    """
    keys = list(dict.fromkeys(keys))
    parts = {k: [p for p in str(k).replace('\\', '/').split('/') if p] or [str(k)] for k in keys}
    out = {}
    for k in keys:
        mine = parts[k]
        for n in range(1, len(mine) + 1):
            suffix = mine[-n:]
            if not any(o != k and parts[o][-n:] == suffix for o in keys):
                break
        out[k] = '/'.join(suffix)
    return out


def run_label(sweep, run, labels: dict | None = None) -> str:
    """A run's name in legends and column headers (`labels`: :func:`short_labels`)."""
    return f'{(labels or {}).get(sweep, sweep)} #{run}'


def lines_figure(df: pd.DataFrame, x: str, y: str, title: str, x_title: str) -> go.Figure:
    """`y` against `x`, a line per (sweep, run) of `df`."""
    fig = go.Figure()
    labels = short_labels(df['sweep'].unique())
    for (sweep, run), rows in df.groupby(['sweep', 'run'], sort=False):
        ys = pd.to_numeric(rows[y], errors='coerce')
        if ys.notna().any():
            fig.add_trace(
                go.Scatter(
                    x=rows[x].tolist(),
                    y=[None if pd.isna(v) else float(v) for v in ys],
                    mode='lines+markers',
                    name=run_label(sweep, run, labels),
                )
            )
    fig.update_layout(
        title={'text': title},
        xaxis_title=x_title,
        yaxis_title=y,
        height=380,
        margin={'l': 60, 'r': 20, 't': 50, 'b': 40},
        # Compact: a small legend in one block beside the plot, not half of the chart.
        legend={'font': {'size': 10}, 'itemsizing': 'constant', 'tracegroupgap': 0},
    )
    return fig


def displayable(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text (mixed types and lists do not go through Arrow)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: '' if cell_label(v) == NA else str(v))
    return out


def trial_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run: key ``other`` facts, ``hp.<name>`` and the metrics."""
    out = pd.DataFrame(
        {
            'sweep': table.index.get_level_values('sweep'),
            'run': table.index.get_level_values('run'),
        }
    )
    for name in ('source', 'workload', 'framework', 'status'):
        if ('other', name) in table.columns:
            out[name] = table[('other', name)].to_numpy()
    for group, name in table.columns:
        if group == 'hyperparameters':
            out[f'hp.{name}'] = table[(group, name)].to_numpy()
    for group, name in table.columns:
        if group == 'metrics' and name not in out.columns:
            out[name] = table[(group, name)].to_numpy()
    if ('other', 'run_dir') in table.columns:
        out['run_dir'] = table[('other', 'run_dir')].to_numpy()
    return out
