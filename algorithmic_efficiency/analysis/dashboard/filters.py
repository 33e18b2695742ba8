"""The dashboard's sidebar filters (sweep, workload, framework, status, hyperparameters).

Widget state follows a running sweep: a selection of everything keeps
selecting everything as values are added; a narrowed one stays as set.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from algorithmic_efficiency.analysis.dashboard.figures import NA, cell_label, ordered, short_labels

FILTERS = (('Sweep', None), ('Workload', 'workload'), ('Framework', 'framework'))


def follow_options(key: str, options: list) -> None:
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
    follow_options(key, options)
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


def apply_filters(table: pd.DataFrame) -> pd.Series:
    """The sidebar's filters; the mask of runs that pass."""
    sb = st.sidebar
    sb.header('Filters')
    mask = pd.Series(True, index=table.index)
    sweeps = pd.Series(table.index.get_level_values('sweep'), index=table.index).map(cell_label)
    sweeps = sweeps.map(short_labels(sweeps))  # short, unique chips for same-named sweeps
    for title, name in FILTERS + (('Status', 'status'),):
        if name is None:
            labels = sweeps
        elif ('other', name) in table.columns:
            labels = table[('other', name)].map(cell_label)
        else:
            labels = pd.Series(NA, index=table.index)
        options = ordered(labels)
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
            labels = values.map(cell_label)
            options = ordered(labels)
            if len(options) < 2:
                continue
            chosen = _multiselect(sb, col[1], options, key=key)
            mask &= (labels == NA) | labels.isin(chosen)
    return mask
