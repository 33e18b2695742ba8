"""``score --html OUT.html``: one self-contained page of a scoring (no CDN, no network).

Plotly's JavaScript is embedded once (``plotly.offline.get_plotlyjs``), each
figure is a ``div`` drawn by it; the page opens from disk in any browser.
Sections (``<section id=...>``): ``scores``, ``significance``, ``warnings``,
``profiles``, ``times``, ``energy``, ``curves``, ``hardware``, ``provenance``.
Every number of the tables carries its CSV text in ``data-value`` (and its
column in ``data-col``), so the page can be checked against ``scores.csv``
and ``workload_times.csv`` exactly.
"""

from __future__ import annotations

import datetime
import html
import json
import math
from collections.abc import Sequence

import pandas as pd

from algorithmic_efficiency.analysis import report_data, report_figures, score_intervals, summary
from algorithmic_efficiency.analysis.plot import _hardware_series
from algorithmic_efficiency.analysis.scoring import Submission
from algorithmic_efficiency.storage import files

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#222}
nav{position:sticky;top:0;background:#fff;padding:8px 0;border-bottom:1px solid #ddd;z-index:9}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td.t,th{text-align:left}
.warn{color:#8a4b00}
.sig{font-weight:bold;color:#0a6b0a}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:300px;font-size:12px}
section{margin-bottom:28px}
.wide{overflow-x:auto}
"""


def _e(v) -> str:
    return html.escape(str(v))


def _shown(v, fmt: str) -> str:
    if isinstance(v, bool) or v is None or v == '':
        return '-' if v in (None, '') else str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return '-'
        if math.isinf(v):
            return 'inf'
        return format(v, fmt)
    return str(v)


def _table(df: pd.DataFrame, columns: list[str], formats: dict[str, str], table_id: str) -> str:
    """A table whose numeric cells carry the CSV text of their value (``data-value``)."""
    head = ''.join(f'<th>{_e(c)}</th>' for c in columns)
    body = []
    for row in df.to_dict('records'):
        cells = []
        for c in columns:
            v = row[c]
            if c in formats:
                text = summary.format_value(v)
                shown = _e(_shown(v, formats[c]))
                cells.append(f'<td data-col="{_e(c)}" data-value="{_e(text)}">{shown}</td>')
            else:
                cells.append(f'<td class="t" data-col="{_e(c)}">{_e(_shown(v, ""))}</td>')
        body.append('<tr>' + ''.join(cells) + '</tr>')
    rows = ''.join(body)
    return f'<div class="wide"><table id="{table_id}"><tr>{head}</tr>{rows}</table></div>'


def _figure(fig) -> str:
    if fig is None:
        return ''
    return fig.to_html(
        full_html=False, include_plotlyjs=False, config={'displaylogo': False, 'responsive': True}
    )


def _scores_section(scores: pd.DataFrame, analysis) -> str:
    cols = [c for c in scores.columns]
    fmt = {c: '.4f' for c in cols if c not in ('submission', 'interval')}
    s = analysis.settings if analysis is not None else None
    how = (
        f'{s.confidence:.0%} bootstrap intervals from {s.replicates} replicates (seed {s.seed}): '
        + (
            'studies resampled, then trials within each study.'
            if s.resample == 'trials'
            else "studies resampled (each study's fastest trial)."
        )
        if s is not None and s.replicates
        else 'No intervals (--bootstrap 0).'
    )
    return (
        '<section id="scores"><h2>Scores</h2>'
        '<p>Score: normalised area under the performance profile (1 = fastest on every '
        f'workload). {_e(how)}</p>' + _table(scores, cols, fmt, 'scores-table') + '</section>'
    )


def _significance_section(analysis) -> str:
    if analysis is None or analysis.pairs.empty:
        return (
            '<section id="significance"><h2>Significance</h2>'
            '<p>One submission: no pairs.</p></section>'
        )
    lines = []
    pair_lines = score_intervals.pair_lines(analysis)
    for line, p in zip(pair_lines, analysis.pairs.itertuples(index=False), strict=True):
        cls = ' class="sig"' if p.significant is True else ''
        lines.append(f'<li{cls}>{_e(line)}</li>')
    cols = list(analysis.pairs.columns)
    fmt = {c: '.4f' for c in cols if c not in ('submission_a', 'submission_b')}
    return (
        '<section id="significance"><h2>Significance</h2><ul>'
        + ''.join(lines)
        + '</ul>'
        + _table(analysis.pairs, cols, fmt, 'pairs-table')
        + '</section>'
    )


def _warnings_section(warnings: list[str]) -> str:
    items = ''.join(f'<li class="warn">{_e(w)}</li>' for w in warnings) or '<li>none</li>'
    return f'<section id="warnings"><h2>Warnings</h2><ul>{items}</ul></section>'


def _curves_and_hardware(subs, workloads) -> tuple[str, str]:
    cache: dict = {}
    curves, hardware = [], []
    for w in workloads:
        best = report_data.best_trials(subs, w, cache)
        which = ''.join(f'<li>{_e(b["submission"])}: {_e(b["label"])}</li>' for b in best)
        curves.append(f'<h3>{_e(w)}</h3><ul>{which}</ul>')
        metrics = ['loss'] + sorted(
            {b['target_metric'] for b in best if b['target_metric']} - {'loss'}
        )
        for metric in metrics:
            curves.append(_figure(report_figures.curves(best, metric, w)))
        figs = report_figures.hardware(best, w, _hardware_series)
        hardware.append(f'<h3>{_e(w)}</h3>')
        hardware += [_figure(f) for f in figs] or ['<p>No telemetry in these trials.</p>']
    return (
        '<section id="curves"><h2>Best-trial curves</h2><p>Per workload, each submission\'s '
        'fastest trial to the target over all its studies (or, if none reached it, the one with '
        'the lowest eval loss), against submission time.</p>' + ''.join(curves) + '</section>',
        '<section id="hardware"><h2>Hardware during the best trials</h2>'
        + ''.join(hardware)
        + '</section>',
    )


def _provenance_section(records: list[dict]) -> str:
    parts = []
    for r in records:
        title = f'{r["submission"]}: study {r["study"]}, {r["workload"]} ({r["dir"]})'
        rules = ''.join(
            f'<tr><td class="t">{_e(k)}</td><td class="t">{_e(v)}</td></tr>'
            for k, v in r['rules'].items()
        )
        machine = ''.join(
            f'<tr><td class="t">{_e(k)}</td><td class="t">{_e(v)}</td></tr>'
            for k, v in r['machine'].items()
        )
        flags = json.dumps(r['flags'], indent=1, sort_keys=True, default=str)
        parts.append(
            f'<details><summary>{_e(title)}</summary>'
            f'<h4>Rules</h4><table>{rules}</table>'
            f'<h4>Machine and devices</h4><table>{machine}</table>'
            f'<h4>Flags</h4><pre>{_e(flags)}</pre>'
            f'<h4>Packages</h4><pre>{_e(r["packages"] or "(no packages.txt)")}</pre></details>'
        )
    summary_rows = pd.DataFrame.from_records(
        [
            {
                'submission': r['submission'],
                'study': r['study'],
                'workload': r['workload'],
                'devices': f'{r["machine"].get("devices.count", "?")} x '
                f'{r["machine"].get("devices.kind", "?")}',
                'frameworks': ', '.join(
                    f'{k} {v}' for k, v in (r['machine'].get('framework_versions') or {}).items()
                ),
                'ruleset': r['rules'].get('tuning_ruleset', '-'),
                'trials': r['rules'].get('num_tuning_trials', '-'),
                'target': f'{r["rules"].get("workload.target_metric_name", "?")} >= '
                f'{r["rules"].get("workload.target_value", "?")}',
                'eval_period_s': r['flags'].get('eval_period_time_sec')
                or r['rules'].get('workload.eval_period_time_sec', '-'),
                'max_submission_time_sec': r['flags'].get('max_submission_time_sec'),
            }
            for r in records
        ]
    )
    table = _table(summary_rows, list(summary_rows.columns), {}, 'provenance-table')
    return (
        '<section id="provenance"><h2>Provenance</h2><p>Each sweep scored: its devices, '
        'framework versions and the rules it ran under (eval period: the flag when it '
        "overrode the workload's). Details (all rules, machine, flags, packages) below.</p>"
        + table
        + ''.join(parts)
        + '</section>'
    )


def write(
    path: str,
    subs: Sequence[Submission],
    analysis,
    times: pd.DataFrame,
    scores: pd.DataFrame,
    max_ratio: float,
) -> str:
    """Writes the report to `path` (atomically); returns `path`."""
    from plotly.offline import get_plotlyjs

    workloads = list(dict.fromkeys(times['workload']))
    records = report_data.provenance(subs)
    warnings = (
        analysis.warnings if analysis is not None else []
    ) + report_data.provenance_warnings(records)
    profiles = [
        report_figures.profiles(times, scores, analysis, max_ratio, k) for k in ('time', 'energy')
    ]
    energy_fig = report_figures.to_target(times, 'energy')
    energy_note = (
        ''
        if energy_fig is not None
        else (
            '<p>Energy not measured: no sweep recorded energy.submission_joules (metadata.json '
            'energy.sources is empty where neither NVML nor RAPL is readable).</p>'
        )
    )
    time_cols = list(times.columns)
    time_fmt = {
        c: '.4g' for c in time_cols if c not in ('submission', 'workload', 'framework', 'interval')
    }
    curves, hardware = _curves_and_hardware(subs, workloads)
    sections = [
        _scores_section(scores, analysis),
        _significance_section(analysis),
        _warnings_section(warnings),
        '<section id="profiles"><h2>Performance profiles</h2>'
        + (''.join(_figure(f) for f in profiles if f is not None))
        + ('' if profiles[1] is not None else '<p>Energy profiles: energy not measured.</p>')
        + '</section>',
        '<section id="times"><h2>Time to target per workload</h2>'
        + _figure(report_figures.to_target(times, 'time'))
        + _table(times, time_cols, time_fmt, 'times-table')
        + '</section>',
        '<section id="energy"><h2>Energy to target</h2>'
        + _figure(energy_fig)
        + energy_note
        + '</section>',
        curves,
        hardware,
        _provenance_section(records),
    ]
    nav = ''.join(
        f'<a href="#{s}">{s}</a>'
        for s in (
            'scores',
            'significance',
            'warnings',
            'profiles',
            'times',
            'energy',
            'curves',
            'hardware',
            'provenance',
        )
    )
    made = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    names = ', '.join(s.name for s in subs)
    page = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>Scores: {_e(names)}</title><style>{CSS}</style>'
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f'<h1>Scores: {_e(names)}</h1><p>Made {made}; r_max = {max_ratio:g}; '
        f'{len(workloads)} workload(s).</p><nav>{nav}</nav>' + ''.join(sections) + '</body></html>'
    )
    with files.atomic_write(path) as f:
        f.write(page)
    return path
