"""The Streamlit page of the runs dashboard: ``python -m algorithmic_efficiency.dashboard``.

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

This module is the page (the script Streamlit runs) and its tabs; the
sidebar filters are :mod:`.filters`, the Plotly figures and the trial table
:mod:`.figures`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import streamlit as st

from algorithmic_efficiency.analysis import explorer
from algorithmic_efficiency.analysis.dashboard.figures import (
    NA,
    displayable,
    lines_figure,
    parcoords_dimension,
    parcoords_figure,
    run_label,
    trial_table,
)
from algorithmic_efficiency.analysis.dashboard.filters import apply_filters, follow_options

__all__ = ['main', 'parcoords_dimension', 'parcoords_figure', 'parse_args', 'trial_table']

DEFAULT_REFRESH_SEC = 10.0
PREFERRED_METRICS = ('best_loss', 'final_loss', 'best_accuracy', 'final_accuracy')
PREFERRED_TELEMETRY = (
    'cpu.util.interval_mean_percent',
    'proc.rss_bytes',
    'gpu.avg.compute.util',
    'gpu.total.power.current_watts',
)
TELEMETRY_X = {
    'since_start': 'time since the trial started (s)',
    'wallclock': 'time (UTC)',
}
METRICS = ('loss', 'accuracy')
TARGET_SPLIT = 'target split'  # the plain loss/accuracy columns
OTHER_SPLITS = ('train', 'validation', 'test')
X_AXES = {
    'global_step': 'step',
    'accumulated_submission_time': 'submission time (s)',
    'epoch': 'epoch',
    'wallclock': 'time (UTC)',
}


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
    follow_options('pc_hparams', hp_all)
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


def _selected_evals(evals: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    if not len(evals):
        return evals
    keep = set(table.index.tolist())
    mask = [(s, r) in keep for s, r in zip(evals['sweep'], evals['run'], strict=True)]
    return evals[np.array(mask, dtype=bool)]


def _curves_tab(evals: pd.DataFrame) -> None:
    if not len(evals):
        st.info('No eval rows: curves come from --log_dir trials (Hydra runs have none).')
        return
    options = [x for x in X_AXES if x == 'wallclock' or x in evals.columns]
    x = st.selectbox('x axis', options, format_func=X_AXES.get, key='curves_x')
    # A workload's other eval splits (CIFAR-10: train.loss, test.accuracy) beside the
    # target split's plain loss and accuracy.
    splits = [
        s for s in OTHER_SPLITS
        if any(f'{s}.{m}' in evals.columns and evals[f'{s}.{m}'].notna().any() for m in METRICS)
    ]
    prefix = ''
    if splits:
        split = st.radio('split', [TARGET_SPLIT, *splits], horizontal=True, key='curves_split')
        prefix = '' if split == TARGET_SPLIT else f'{split}.'
    df = evals.copy()
    if x == 'wallclock':
        df['wallclock'] = explorer.wallclock(df)
    left, right = st.columns(2)
    for col, metric in zip((left, right), (prefix + m for m in METRICS), strict=True):
        if metric in df.columns:
            col.plotly_chart(
                lines_figure(df, x, metric, f'{metric} per trial', X_AXES[x]), key=f'curve_{metric}'
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
    # Time since each trial started by default: sweeps run hours apart stay comparable
    # (on one wall-clock axis they would be slivers at either end).
    x = st.radio('x axis', list(TELEMETRY_X), format_func=TELEMETRY_X.get, horizontal=True,
                 key='tel_x')
    df = evals.copy()
    df['wallclock'] = explorer.wallclock(df)
    df['since_start'] = explorer.since_trial_start(df)
    for i, c in enumerate(chosen):
        st.plotly_chart(lines_figure(df, x, c, f'{c} over time', TELEMETRY_X[x]), key=f'tel_{i}')
    st.caption(
        "Each point: the interval before an eval, at the row's wall_time (when the interval "
        'ended); rows written before wall_time existed are placed at the trial start + '
        'submission time + earlier evals.'
    )


def _table_tab(table: pd.DataFrame) -> None:
    st.dataframe(displayable(trial_table(table)), hide_index=True, key='trials')


def _frame_tab(frame: pd.DataFrame, table: pd.DataFrame) -> None:
    st.caption(
        'The frame from explorer.load_folder: columns are runs (sweep, run), rows are '
        '(group, parameter) with groups hyperparameters, metrics, dataset, other, path.'
    )
    keep = [c for c in frame.columns if c in set(table.index.tolist())]
    sub = frame.loc[:, keep]
    shown = sub.copy()
    shown.columns = [run_label(s, r) for s, r in sub.columns]
    st.dataframe(displayable(shown.reset_index()), hide_index=True, key='frame')
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


def main(argv: list[str]) -> None:  # noqa: C901  one Streamlit page, top to bottom
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
    mask = apply_filters(table)
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
