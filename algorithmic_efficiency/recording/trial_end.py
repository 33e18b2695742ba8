"""A trial's recorded end agrees with its rows, even when the process that ran it could not say.

A trial whose task died (a Ray worker lost, a process killed and given up
on) ends with a result built by someone else, holding no evals:
``trial.json`` said ``global_step: 0, num_evals: 0`` while ``metrics.csv``
held the rows written before the death. :func:`from_rows` takes those
numbers from the rows themselves (the last row: its step, submission time,
loss and accuracy; the count of rows), so every file tells the same story.
"""

from __future__ import annotations

import csv
import math
import os
from typing import Any

from algorithmic_efficiency.layout import METRICS_FILE


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, '') else None
    except ValueError:
        return None
    return value


def rows_summary(run_dir: str) -> dict[str, Any] | None:
    """The last row's numbers and the number of rows of `run_dir`'s metrics.csv (None: none)."""
    path = os.path.join(run_dir, METRICS_FILE)
    try:
        with open(path, encoding='utf-8', errors='replace', newline='') as f:
            rows = [r for r in csv.DictReader(f) if r.get('global_step')]
    except (OSError, csv.Error):
        return None
    if not rows:
        return None
    last = rows[-1]
    step = _number(last.get('global_step'))
    out = {
        'global_step': int(step) if step is not None and math.isfinite(step) else 0,
        'num_evals': len(rows),
        'final_loss': _number(last.get('loss')),
        'final_accuracy': _number(last.get('accuracy')),
    }
    seconds = _number(last.get('accumulated_submission_time'))
    if seconds is not None:
        out['accumulated_submission_time'] = seconds
    return out


def from_rows(run_dir: str, info: dict[str, Any]) -> dict[str, Any]:
    """`info` (trial.json) with its end numbers from the rows when it recorded no eval itself."""
    if info.get('num_evals'):
        return info
    summary = rows_summary(run_dir)
    return {**info, **summary} if summary else info
