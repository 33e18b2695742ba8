"""The Streamlit page of the runs dashboard (start it with ``python -m algorithmic_efficiency.dashboard``).

Arguments after Streamlit's ``--``: ``PATH... [--query GLOB]... [--refresh SECONDS]``.
Everything is read through :mod:`algorithmic_efficiency.analysis.explorer`; the page
shows, for the runs that pass the sidebar's filters (sweep, workload,
framework, status, hyperparameter ranges):

* parallel coordinates of the hyperparameters against final/best metrics
  (categorical axes as labelled categories, wide positive ranges on a log10
  axis, a run lacking a value on an ``n/a`` tick below the axis);
* loss and accuracy curves per trial; telemetry over time; a trial table; the
  hierarchical frame itself and its tidy CSV.

The data is cached on a fingerprint of the folders' files (names, sizes,
mtimes), checked every ``--refresh`` seconds: a running sweep's new rows and
trials appear without a click. Bad input (a missing folder, no runs,
unreadable YAML, mixed layouts) is a message in the page.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from algorithmic_efficiency.analysis import explorer

NA = 'n/a'
DEFAULT_REFRESH_SEC = 10.0
PREFERRED_METRICS = ('best_loss', 'final_loss', 'best_accuracy', 'final_accuracy')
PREFERRED_TELEMETRY = (
    'cpu.util.interval_mean_percent',
    'proc.rss_bytes',
    'gpu.avg.compute.util',
    'gpu.total.power.current_watts',
)
FILTERS = (('Sweep', None), ('Workload', 'workload'), ('Framework', 'framework'))
X_AXES = {
    'global_step': 'step',
    'accumulated_submission_time': 'submission time (s)',
    'epoch': 'epoch',
    'wallclock': 'time (UTC)',
}
LOG_AXIS_RATIO = 100.0  # a positive range this wide (max/min) gets a log10 axis
VIRIDIS = ('#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779',
           '#6ece58', '#b5de2b', '#fde725')  # fmt: skip
MISSING_GREY = '#c8c8c8'
END_TICK_ROOM = 0.08  # no round tick this close (share of the axis) to a labelled end
GREY_SHARE = 0.05  # the bottom of the colour scale that is grey (runs without the metric)


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """The app's arguments; never exits (bad values become problems to show)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument('paths', nargs='*')
    parser.add_argument('--query', action='append', default=[])
    parser.add_argument('--refresh', default=str(DEFAULT_REFRESH_SEC))
    problems = []
    try:
        args, unknown = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit) as e:
        return argparse.Namespace(paths=[], query=[], refresh=DEFAULT_REFRESH_SEC), [str(e)]
    if unknown:
        problems.append(f'ignored arguments: {" ".join(unknown)}')
    try:
        args.refresh = float(args.refresh)
        if not args.refresh >= 0:
            raise ValueError
    except ValueError:
        problems.append(f'--refresh {args.refresh!r} is not a number of seconds; using 10')
        args.refresh = DEFAULT_REFRESH_SEC
    return args, problems


@st.cache_data(show_spinner='Loading runs...', max_entries=8)
def _load(paths: tuple[str, ...], globs: tuple[str, ...], fp: str) -> explorer.Loaded:
    """Cached on `fp` (explorer.fingerprint): a new row or file makes a new entry."""
    del fp  # only a cache key
    return explorer.load(list(paths), list(globs))


def _watch(paths: tuple[str, ...], fp: str) -> None:
    """Run by st.fragment every --refresh seconds: reruns the page when files changed."""
    if explorer.fingerprint(list(paths)) != fp:
        st.rerun()


# ---------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------
def _label(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return NA
    return str(v)


def _ordered(values) -> list:
    return sorted(set(values), key=lambda v: (v == NA, explorer.natural_key(str(v))))


def _follow_options(key: str, options: list) -> None:
    """Keeps a multiselect's state valid as options change (a running sweep adds some).

    A selection of everything stays everything (new options selected too);
    otherwise options that disappeared are dropped from it.
    """
    prev = st.session_state.get(f'{key}__options')
    if key not in st.session_state or (
        prev is not None and set(st.session_state[key]) == set(prev)
    ):
        st.session_state[key] = list(options)
    else:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    st.session_state[f'{key}__options'] = list(options)


def _multiselect(container, label: str, options: list, key: str) -> list:
    _follow_options(key, options)
    return container.multiselect(label, options, key=key)


def _range_filter(container, name: str, values: pd.Series, key: str) -> pd.Series:
    """A numeric hyperparameter: a range of its values (runs without it always pass).

    While the selection is the whole range it follows the range as a running
    sweep adds values (a new widget key each time); a narrowed one is kept.
    """
    options = sorted(set(values.dropna().tolist()))
    if len(options) < 2:
        return pd.Series(True, index=values.index)
    full = (options[0], options[-1])
    version = st.session_state.get(f'{key}__version', 0)
    prev_full = st.session_state.get(f'{key}__full')
    current = st.session_state.get(f'{key}__v{version}')
    if (
        prev_full is not None
        and tuple(prev_full) != full
        and (current is None or tuple(current) == tuple(prev_full))
    ):
        version += 1
    st.session_state[f'{key}__version'] = version
    st.session_state[f'{key}__full'] = full
    lo, hi = container.select_slider(
        name, options=options, value=full, key=f'{key}__v{version}', format_func=_fmt
    )
    return values.isna() | ((values >= lo) & (values <= hi))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f'{v:.4g}'
    return str(v)


def _apply_filters(table: pd.DataFrame) -> pd.Series:
    """The sidebar's filters; the mask of runs that pass."""
    sb = st.sidebar
    sb.header('Filters')
    mask = pd.Series(True, index=table.index)
    sweeps = pd.Series(table.index.get_level_values('sweep'), index=table.index).map(_label)
    for title, name in FILTERS + (('Status', 'status'),):
        if name is None:
            labels = sweeps
        elif ('other', name) in table.columns:
            labels = table[('other', name)].map(_label)
        else:
            labels = pd.Series(NA, index=table.index)
        options = _ordered(labels)
        chosen = _multiselect(sb, title, options, key=f'filter_{name or "sweep"}')
        mask &= labels.isin(chosen)
    hp = [c for c in table.columns if c[0] == 'hyperparameters']
    if hp:
        sb.subheader('Hyperparameters')
        sb.caption('Runs without a hyperparameter pass its filter.')
    for col in hp:
        values = table[col]
        key = f'hp_{col[1]}'
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            mask &= _range_filter(sb, col[1], values, key)
        else:
            labels = values.map(_label)
            options = _ordered(labels)
            if len(options) < 2:
                continue
            chosen = _multiselect(sb, col[1], options, key=key)
            mask &= (labels == NA) | labels.isin(chosen)
    return mask


# ---------------------------------------------------------------------------
# Parallel coordinates
# ---------------------------------------------------------------------------
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
    labels = series.map(_label)
    if (labels == NA).all():
        return None
    cats = _ordered(labels)
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


def _parcoords_tab(table: pd.DataFrame) -> None:
    hp_all = [c[1] for c in table.columns if c[0] == 'hyperparameters']
    metric_all = [
        c[1]
        for c in table.columns
        if c[0] == 'metrics' and pd.to_numeric(table[c], errors='coerce').notna().any()
    ]
    default_metrics = [m for m in PREFERRED_METRICS if m in metric_all]
    default_metrics += [m for m in metric_all if m not in explorer.LOG_DIR_METRICS][:4]
    cols = st.columns([3, 3, 2])
    _follow_options('pc_hparams', hp_all)
    hparams = cols[0].multiselect('Hyperparameter axes', hp_all, key='pc_hparams')
    if 'pc_metrics' not in st.session_state:
        st.session_state['pc_metrics'] = default_metrics or metric_all[:4]
    st.session_state['pc_metrics'] = [m for m in st.session_state['pc_metrics'] if m in metric_all]
    metrics = cols[1].multiselect('Metric axes', metric_all, key='pc_metrics')
    color_options = metric_all or ['(none)']
    if st.session_state.get('pc_color') not in color_options:
        st.session_state['pc_color'] = (metrics or color_options)[0]
    color = cols[2].selectbox('Colour by', color_options, key='pc_color')
    fig = parcoords_figure(table, hparams, metrics, color if metric_all else None)
    if fig is None:
        st.info('Nothing to draw: the selected runs have no hyperparameter or metric values.')
        return
    # Plotly's own theme: Streamlit's replaces custom colour scales in the browser.
    st.plotly_chart(fig, key='parcoords', theme=None)
    st.caption(
        f'{len(table)} run(s). Drag along an axis to select a range. Categorical axes list '
        f'their values; "(log10)" axes show powers of ten; "{NA}": the run has no value.'
    )


# ---------------------------------------------------------------------------
# Curves, telemetry, tables
# ---------------------------------------------------------------------------
def _run_label(sweep, run) -> str:
    return f'{sweep} #{run}'


def _selected_evals(evals: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    if not len(evals):
        return evals
    keep = set(table.index.tolist())
    mask = [(s, r) in keep for s, r in zip(evals['sweep'], evals['run'], strict=True)]
    return evals[np.array(mask, dtype=bool)]


def _lines(df: pd.DataFrame, x: str, y: str, title: str, x_title: str) -> go.Figure:
    fig = go.Figure()
    for (sweep, run), rows in df.groupby(['sweep', 'run'], sort=False):
        ys = pd.to_numeric(rows[y], errors='coerce')
        if ys.notna().any():
            fig.add_trace(
                go.Scatter(
                    x=rows[x].tolist(),
                    y=[None if pd.isna(v) else float(v) for v in ys],
                    mode='lines+markers',
                    name=_run_label(sweep, run),
                )
            )
    fig.update_layout(
        title={'text': title},
        xaxis_title=x_title,
        yaxis_title=y,
        height=380,
        margin={'l': 60, 'r': 20, 't': 50, 'b': 40},
    )
    return fig


def _curves_tab(evals: pd.DataFrame) -> None:
    if not len(evals):
        st.info('No eval rows: curves come from --log_dir trials (Hydra runs have none).')
        return
    options = [x for x in X_AXES if x == 'wallclock' or x in evals.columns]
    x = st.selectbox('x axis', options, format_func=X_AXES.get, key='curves_x')
    df = evals.copy()
    if x == 'wallclock':
        df['wallclock'] = explorer.wallclock(df)
    left, right = st.columns(2)
    for col, metric in ((left, 'loss'), (right, 'accuracy')):
        if metric in df.columns:
            col.plotly_chart(
                _lines(df, x, metric, f'{metric} per trial', X_AXES[x]), key=f'curve_{metric}'
            )


def _telemetry_tab(evals: pd.DataFrame) -> None:
    cols = explorer.telemetry_columns(evals) if len(evals) else []
    if not cols:
        st.info('No telemetry: it comes from --log_dir trials (cpu.*, mem.*, gpu.*, proc.*).')
        return
    default = [c for c in PREFERRED_TELEMETRY if c in cols] or cols[:2]
    if 'tel_cols' not in st.session_state:
        st.session_state['tel_cols'] = default
    st.session_state['tel_cols'] = [c for c in st.session_state['tel_cols'] if c in cols]
    chosen = st.multiselect('Columns', cols, key='tel_cols')
    df = evals.copy()
    df['wallclock'] = explorer.wallclock(df)
    for i, c in enumerate(chosen):
        st.plotly_chart(
            _lines(df, 'wallclock', c, f'{c} over time', X_AXES['wallclock']), key=f'tel_{i}'
        )
    st.caption(
        'Each point: the interval before an eval, placed at the trial start + submission '
        'time + earlier evals (set-up time is not in the rows, so times are approximate).'
    )


def _displayable(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns as text (mixed types and lists do not go through Arrow)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object:
            out[c] = out[c].map(lambda v: '' if _label(v) == NA else str(v))
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


def _table_tab(table: pd.DataFrame) -> None:
    st.dataframe(_displayable(trial_table(table)), hide_index=True, key='trials')


def _frame_tab(frame: pd.DataFrame, table: pd.DataFrame) -> None:
    st.caption(
        'The frame from explorer.load_folder: columns are runs (sweep, run), rows are '
        '(group, parameter) with groups hyperparameters, metrics, dataset, other, path.'
    )
    keep = [c for c in frame.columns if c in set(table.index.tolist())]
    sub = frame.loc[:, keep]
    shown = sub.copy()
    shown.columns = [_run_label(s, r) for s, r in sub.columns]
    st.dataframe(_displayable(shown.reset_index()), hide_index=True, key='frame')
    tidy = explorer.to_tidy(sub)
    st.download_button(
        'Download the tidy view (CSV)',
        tidy.to_csv(index=False).encode('utf-8'),
        file_name='runs_tidy.csv',
        mime='text/csv',
        key='download_tidy',
    )


def _guarded(title: str, fn, *args) -> None:
    """Runs a section; an unexpected error is a message in the page, not a dead page."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        st.error(f'{title} failed: {type(e).__name__}: {e}')


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------
def main(argv: list[str]) -> None:
    """Renders the page for the command-line `argv` (the arguments after ``--``)."""
    st.set_page_config(page_title='Runs dashboard', layout='wide')
    args, problems = parse_args(argv)
    sb = st.sidebar
    sb.header('Runs')
    if 'folders' not in st.session_state:
        st.session_state['folders'] = '\n'.join(args.paths)
    if 'globs' not in st.session_state:
        st.session_state['globs'] = ', '.join(args.query)
    if 'refresh' not in st.session_state:
        st.session_state['refresh'] = float(args.refresh)
    folders = sb.text_area('Folders (one per line)', key='folders')
    globs = sb.text_input('File globs for path rows (comma-separated)', key='globs')
    refresh = sb.number_input('Check for new results every (s, 0 = off)', 0.0, key='refresh')
    if sb.button('Reload now', key='reload'):
        _load.clear()
    paths = tuple(p.strip() for p in folders.splitlines() if p.strip())
    patterns = tuple(g.strip() for g in globs.split(',') if g.strip())

    st.title('Runs dashboard')
    for p in problems:
        st.warning(p)
    if not paths:
        st.info(
            'No folder given: pass them on the command line '
            '(python -m algorithmic_efficiency.dashboard LOG_DIR multirun/) '
            'or type them in the sidebar.'
        )
        return
    fp = explorer.fingerprint(list(paths))
    if refresh and refresh > 0:
        st.fragment(_watch, run_every=float(refresh))(paths, fp)
    try:
        loaded = _load(paths, patterns, fp)
    except Exception as e:  # noqa: BLE001  (a bad glob, an unexpected file: say it)
        st.error(f'Could not load the runs: {type(e).__name__}: {e}')
        return
    for e in loaded.errors:
        st.error(e)
    for n in loaded.notes:
        st.info(n)
    if loaded.warnings:
        with st.expander(f'{len(loaded.warnings)} warning(s) while reading', expanded=False):
            for w in loaded.warnings:
                st.warning(w)
    frame = loaded.frame
    if not frame.shape[1]:
        st.warning('No runs to show.')
        return
    table = explorer.by_run(frame)
    mask = _apply_filters(table)
    shown = table[mask.to_numpy()]
    n_sweeps = len(set(table.index.get_level_values('sweep')))
    st.caption(
        f'{len(shown)} of {len(table)} runs in {n_sweeps} sweep(s) from '
        f'{", ".join(paths)}; {len(loaded.evals)} eval rows. '
        + (f'Checked for new results every {refresh:g} s.' if refresh else 'Auto-reload off.')
    )
    if not len(shown):
        st.info('No run passes the filters.')
        return
    evals = _selected_evals(loaded.evals, shown)
    tabs = st.tabs(['Parallel coordinates', 'Curves', 'Telemetry', 'Trials', 'Frame'])
    with tabs[0]:
        _guarded('Parallel coordinates', _parcoords_tab, shown)
    with tabs[1]:
        _guarded('Curves', _curves_tab, evals)
    with tabs[2]:
        _guarded('Telemetry', _telemetry_tab, evals)
    with tabs[3]:
        _guarded('Trial table', _table_tab, shown)
    with tabs[4]:
        _guarded('Frame', _frame_tab, frame, shown)


if __name__ == '__main__':
    main(sys.argv[1:])
