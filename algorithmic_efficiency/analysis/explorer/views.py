"""Other views of what :func:`~.frame.load` read: long, one row per run, and eval-row helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.analysis.explorer.columns import COLUMN_NAMES, INDEX_NAMES, is_missing

_TELEMETRY_PREFIXES = ('cpu.', 'mem.', 'disk.', 'net.', 'gpu.', 'temp.', 'proc.', 'framework.')


def to_tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """The long view: one row per (run, parameter) a run has.

    Columns ``sweep``, ``run``, ``group``, ``parameter``, ``value`` (object:
    numbers stay numbers), in the frame's column then row order; missing
    cells are left out.
    """
    records = []
    for j, (sweep, run) in enumerate(frame.columns):
        col = frame.iloc[:, j]
        for (group, parameter), value in zip(frame.index, col.to_numpy(), strict=True):
            if isinstance(value, list) or not is_missing(value):
                records.append((sweep, run, group, parameter, value))
    return pd.DataFrame.from_records(
        records, columns=list(COLUMN_NAMES) + list(INDEX_NAMES) + ['value']
    )


def _infer(series: pd.Series) -> pd.Series:
    """Numbers (or bools) as such if every present value is one; else as given."""
    present = [v for v in series.to_numpy() if not is_missing(v)]
    if present and all(isinstance(v, bool) for v in present):
        return series.map(lambda v: v if isinstance(v, bool) else None).astype('boolean')
    if present and all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present
    ):
        return pd.to_numeric(series, errors='coerce')
    return series


def by_run(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (index ``sweep``, ``run``), columns ``(group, parameter)``.

    The frame transposed, with each column made numeric (or boolean) where all
    its present values are.
    """
    t = frame.T
    return pd.DataFrame({c: _infer(t[c]) for c in t.columns}, index=t.index).reindex(
        columns=t.columns
    )


def wallclock(evals: pd.DataFrame) -> pd.Series:
    """When each eval row's training interval ended (UTC datetimes): ``loader.wall_times``."""
    if not len(evals) or 'global_start_time' not in evals.columns:
        return pd.Series(pd.NaT, index=evals.index, dtype='datetime64[ns, UTC]')
    return pd.to_datetime(loader.wall_times(evals, keys=('sweep', 'run')), unit='s', utc=True)


def since_trial_start(evals: pd.DataFrame) -> pd.Series:
    """Seconds from each row's trial start (``global_start_time``) to its ``wall_time``."""
    if not len(evals) or 'global_start_time' not in evals.columns:
        return pd.Series(float('nan'), index=evals.index)
    start = pd.to_numeric(evals['global_start_time'], errors='coerce')
    return loader.wall_times(evals, keys=('sweep', 'run')) - start


def telemetry_columns(evals: pd.DataFrame) -> list[str]:
    """The numeric hardware columns of `evals` (``cpu.*``, ``mem.*``, ``gpu.*``, ...)."""
    out = []
    for c in evals.columns:
        if (
            c.startswith(_TELEMETRY_PREFIXES)
            and pd.api.types.is_numeric_dtype(evals[c])
            and evals[c].notna().any()
        ):
            out.append(c)
    return out
