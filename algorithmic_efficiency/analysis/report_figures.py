"""The HTML report's figures (Plotly): profiles with bands, times with intervals, curves, hardware.

Each function returns a ``plotly.graph_objects.Figure`` (or None when there is
nothing to draw); :mod:`html_report` embeds them. Colours follow one palette
by submission so a submission looks the same in every figure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from algorithmic_efficiency.analysis import performance_profile as pp

DASHES = ('solid', 'dash', 'dot', 'dashdot')
PALETTE = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f')


def colour(i: int, alpha: float | None = None) -> str:
    """The i-th submission's colour (with `alpha`: as rgba, for bands)."""
    c = PALETTE[i % len(PALETTE)]
    if alpha is None:
        return c
    r, g, b = (int(c[k : k + 2], 16) for k in (1, 3, 5))
    return f'rgba({r},{g},{b},{alpha})'


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        margin={'l': 60, 'r': 20, 't': 50, 'b': 50},
        template='plotly_white',
        legend={'orientation': 'h', 'y': -0.2},
    )
    return fig


def profiles(times: pd.DataFrame, scores: pd.DataFrame, analysis, max_ratio: float, kind: str):
    """rho(tau) per submission with its bootstrap band (time or energy); None if unmeasured."""
    ratio_col, score_col = (
        ('ratio', 'score') if kind == 'time' else ('energy_ratio', 'energy_score')
    )
    fig = go.Figure()
    bands = analysis.bands.get(kind, {}) if analysis is not None else {}
    for i, (name, group) in enumerate(times.groupby('submission', sort=False)):
        value = scores.loc[scores['submission'] == name, score_col].iloc[0]
        if math.isnan(value):
            continue
        x, y = pp.profile_steps(group[ratio_col].to_numpy(dtype=np.float64), max_ratio)
        if name in bands:  # the band: its low edge, then its high edge filled down to it
            low, high = bands[name]
            band = f'{name}: {analysis.settings.confidence:.0%} band'
            for edge, fill in ((low, None), (high, 'tonexty')):
                fig.add_trace(
                    go.Scatter(
                        x=analysis.taus,
                        y=edge,
                        mode='lines',
                        fill=fill,
                        fillcolor=colour(i, 0.18),
                        line={'width': 0, 'shape': 'hv'},
                        hoverinfo='skip',
                        name=band,
                        legendgroup=band,
                        showlegend=fill is not None,
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode='lines',
                line={'shape': 'hv', 'color': colour(i), 'width': 2.5},
                name=f'{name} (score {value:.3f})',
            )
        )
    if not fig.data:
        return None
    fig.update_xaxes(range=[1.0, max_ratio])
    fig.update_yaxes(range=[-0.03, 1.03])
    what = 'Time' if kind == 'time' else 'Energy'
    return _layout(
        fig, f'{what} to target: performance profiles', 'tau (ratio to the best)', 'rho(tau)'
    )


def to_target(times: pd.DataFrame, kind: str):
    """Per workload each submission's time (energy) to target, interval as error bars."""
    col, unit = ('time_to_target_sec', 's') if kind == 'time' else ('energy_to_target_joules', 'J')
    fig = go.Figure()
    for i, (name, group) in enumerate(times.groupby('submission', sort=False)):
        v = group[col].to_numpy(dtype=np.float64)
        if np.isnan(v).all():
            continue
        low = group.get(f'{col}_low', pd.Series(np.nan, index=group.index)).to_numpy(np.float64)
        high = group.get(f'{col}_high', pd.Series(np.nan, index=group.index)).to_numpy(np.float64)
        # inf (not reached) cannot be drawn: those bars are left out, the table says inf.
        shown = np.where(np.isfinite(v), v, np.nan)
        plus = np.where(np.isfinite(high), high - shown, np.nan)
        minus = np.where(np.isfinite(low), shown - low, np.nan)
        fig.add_trace(
            go.Bar(
                x=list(group['workload']),
                y=shown,
                name=str(name),
                marker_color=colour(i),
                error_y={'type': 'data', 'array': plus, 'arrayminus': minus, 'visible': True},
            )
        )
    if not fig.data:
        return None
    fig.update_layout(barmode='group')
    what = 'Time' if kind == 'time' else 'Energy'
    return _layout(fig, f'{what} to target (median over studies) with intervals', 'workload', unit)


def curves(best: list[dict], metric: str, workload: str):
    """One workload's best trials: `metric` vs submission time, a line per submission."""
    fig = go.Figure()
    for b in best:
        rows = b['rows']
        if metric not in rows.columns:
            continue
        y = pd.to_numeric(rows[metric], errors='coerce')
        x = pd.to_numeric(rows['accumulated_submission_time'], errors='coerce')
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode='lines+markers',
                line={'color': colour(b['index'])},
                name=f'{b["submission"]} ({b["label"]})',
            )
        )
    target = next((b['target'] for b in best if b['target_metric'] == metric), None)
    if target is not None and math.isfinite(target):
        fig.add_hline(y=target, line_dash='dot', annotation_text=f'target {target:g}')
    if not fig.data:
        return None
    return _layout(
        fig, f'{workload}: {metric} of the best trials', 'submission time (s)', metric, 320
    )


def hardware(best: list[dict], workload: str, series) -> list[go.Figure]:
    """CPU, memory, GPU utilisation and power during the best trials, a figure per panel.

    `series` maps a runs frame to ``{panel: [(label, column, scale)]}`` (the
    PNG plots' choice of columns, :func:`plot._hardware_series`).
    """
    panels: dict[str, go.Figure] = {}
    for b in best:
        rows = b['rows']
        x = pd.to_numeric(rows['accumulated_submission_time'], errors='coerce')
        for panel, lines in series(rows).items():
            fig = panels.setdefault(panel, go.Figure())
            for n, (label, column, scale) in enumerate(lines):
                y = pd.to_numeric(rows[column], errors='coerce') * scale
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        mode='lines',
                        # One colour per submission; its series in a panel differ in dash.
                        line={'color': colour(b['index']), 'dash': DASHES[n % len(DASHES)]},
                        name=f'{b["submission"]}: {label}',
                    )
                )
    return [
        _layout(fig, f'{workload}: {panel.replace(chr(10), " ")}', 'submission time (s)', '', 300)
        for panel, fig in panels.items()
    ]
