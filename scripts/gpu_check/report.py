"""The GPU check's one report, ``gpu_check/report.md``: machine, versions, every check, speeds.

Plain Markdown, written once at the end (and rewritten whole by a second check), so it can
be pasted into an issue as it is.
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from gpu_check.checks import Check, format_rate
from gpu_check.smi import GpuInfo

REPORT_FILE = 'report.md'
# What the issue asks of the whole check on one H100, installs included.
BUDGET_SEC = 8 * 60


def failures(checks: list[Check]) -> list[str]:
    """One line per check that did not hold, naming it and what failed."""
    return [c.line() for c in checks if not c.ok]


def _cell(value: Any) -> str:
    return str(value).replace('|', '\\|').replace('\n', ' ')


def _table(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(_cell(v) for v in row) + ' |' for row in rows]
    return lines


def render(info: GpuInfo, versions: dict[str, dict], checks: list[Check],
           rates: dict[str, float | None], timings: dict[str, float],
           notes: list[str] | tuple[str, ...] = ()) -> str:
    """The report's text.

    Args:
      info: the GPU as nvidia-smi reports it.
      versions: per venv (``jax``, ``pytorch``), what its probe printed (or ``{'error': ...}``).
      checks: every check, in the order run.
      rates: steps/s per workload (None: not measurable).
      timings: wall seconds per phase (``install``, ``total``, each run's label).
      notes: what was skipped and why (not failures).
    """
    failed = failures(checks)
    total = timings.get('total', 0.0)
    verdict = 'PASS' if not failed else f'FAIL ({len(failed)} of {len(checks)} checks)'
    lines = [
        '# GPU check',
        '',
        f'- Result: **{verdict}**',
        f'- When: {time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}',
        f'- Wall time: {total:.0f} s in all (budget {BUDGET_SEC} s on one H100), of which '
        f'installs {timings.get("install", 0.0):.0f} s'
        + ('' if total <= BUDGET_SEC else ' -- OVER BUDGET'),
        '',
        '## Machine (nvidia-smi)',
        '',
        *_table(('field', 'value'), [(k, v) for k, v in dataclasses.asdict(info).items()]),
        '',
        '## Libraries',
        '',
    ]
    for venv, found in versions.items():
        lines += [f'`.venv-gpu/{venv}`:', '']
        lines += _table(('name', 'version'), sorted(found.items()))
        lines.append('')
    lines += ['## Checks', '', *[f'- {note}' for note in notes], *([''] if notes else [])]
    lines += _table(('result', 'check', 'detail'),
                    [('PASS' if c.ok else 'FAIL', c.name, c.detail) for c in checks])
    lines += ['', '## Steps per second', '',
              'Between each run\'s first and last eval (the first step, with its compilation, '
              'excluded). One trial per run, on the machine as it was: a smoke number, not a '
              'benchmark.', '']
    lines += _table(('workload', 'steps/s', 'run wall s'),
                    [(w, format_rate(r), f'{timings.get(w, 0.0):.0f}')
                     for w, r in rates.items()])
    lines += ['', '## Files', '',
              '- `logs/`: every command\'s output (installs, probes, runs)',
              '- `sweeps/`: the runs\' log dirs (metadata.json, run_1/metrics.csv, summary/)',
              '']
    if failed:
        lines += ['## Failed', '', *[f'- {line}' for line in failed], '']
    return '\n'.join(lines)


def write(out_dir: str, text: str) -> str:
    """Writes ``out_dir/report.md`` (through a temporary file: never half a report)."""
    path = os.path.join(out_dir, REPORT_FILE)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)
    return path
