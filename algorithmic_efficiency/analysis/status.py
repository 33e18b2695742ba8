"""A readable status of the sweeps in a log directory (also while they run).

Per sweep: a header (trials done of planned, the score, submission time), a
table of trials (status, current step, evals, best loss, latest accuracy,
submission time, time to target, stop reason or error), the best config and
the failures with their error's first line. Several sweeps end with their
key numbers side by side.
"""

from __future__ import annotations

import math
import os
from typing import Any

import pandas as pd

from algorithmic_efficiency.analysis import loader, summary
from algorithmic_efficiency.layout import ERROR_FILE, TRIAL_FILE
from algorithmic_efficiency.storage import files

COLUMNS = [
    # (header, width, trial column, format)
    ('trial', 5, 'run_idx', 'd'),
    ('status', 11, 'status', 's'),
    ('step', 6, 'global_step', 'd'),
    ('evals', 5, 'num_evals', 'd'),
    ('best_loss', 9, 'best_loss', '.4f'),
    ('accuracy', 8, 'final_accuracy', '.4f'),
    ('time_s', 7, 'accumulated_submission_time', '.1f'),
    ('to_target_s', 11, 'time_to_target', '.1f'),
]
# Beside to_target_s when the sweep measured energy (energy.submission_joules).
ENERGY_COLUMN = ('to_target_J', 11, 'energy_to_target', '.1f')


def _cell(v: Any, fmt: str) -> str:
    v = summary.scalar(v)
    if v == '' or (isinstance(v, float) and math.isnan(v)):
        return '-'
    if isinstance(v, float) and math.isinf(v):
        return 'inf'
    if fmt == 'd':
        return str(int(v))
    if fmt == 's':
        return str(v)
    return format(float(v), fmt)


def _error_line(t: pd.Series) -> str:
    """trial.json's first line of the error; else the exception line of error.txt."""
    err = t.get('error')
    if isinstance(err, str) and err:
        return err
    path = os.path.join(str(t.get('run_dir')), ERROR_FILE)
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return 'unknown error (no trial.json error, no error.txt)'
    return lines[-1] if lines else 'unknown error (empty error.txt)'


def _note(t: pd.Series) -> str:
    if t['status'] == 'failed':
        return _error_line(t)
    if t['status'] == 'interrupted':
        return 'stopped while running (killed?); --resume re-runs it'
    if t['status'] == 'running':
        node = _node(t)
        return f'running on {node}' if node else 'running'
    return str(t.get('stop_reason') or '')


def _node(t: pd.Series) -> str | None:
    """The ``node.id`` in the trial's trial.json (Ray sweeps only), else None."""
    try:
        info = files.read_json_object(os.path.join(str(t.get('run_dir')), TRIAL_FILE))
    except (OSError, ValueError):
        return None
    node = (info or {}).get('node.id')
    return node if isinstance(node, str) else None


def _measured_energy(trials: pd.DataFrame) -> bool:
    return bool(trials['submission_energy_joules'].notna().any())


def _trials_table(trials: pd.DataFrame) -> list[str]:
    columns = COLUMNS + [ENERGY_COLUMN] if _measured_energy(trials) else COLUMNS
    header = '  '.join(h.rjust(w) if f != 's' else h.ljust(w) for h, w, _, f in columns)
    lines = [header + '  note']
    for _, t in trials.sort_values('run_idx').iterrows():
        cells = []
        for _, w, col, f in columns:
            c = _cell(t.get(col), f)
            cells.append(c.ljust(w) if f == 's' else c.rjust(w))
        lines.append('  '.join(cells) + '  ' + _note(t))
    return lines


def _hparams(t: pd.Series) -> str:
    parts = []
    for col, v in t.items():
        if str(col).startswith('hparam.') and summary.scalar(v) != '':
            # Readable here (4 significant digits); the summary files keep every digit.
            text = f'{v:.4g}' if isinstance(v, float) else summary.format_value(v)
            parts.append(f'{col[len("hparam.") :]}={text}')
    return ', '.join(parts) or 'no hyperparameters'


def _score(st: dict) -> str:
    s = st['score_time_to_target_sec']
    energy = st.get('score_energy_to_target_joules')
    if isinstance(s, float) and math.isfinite(s):
        text = f'{s:.2f} s (trial {st["score_run_idx"]})'
        if energy is not None:
            text += f' | energy to target: {_cell(energy, ".1f")} J'
        return text
    target = st['target_metric'], _cell(st['target_value'], 'g')
    return f'inf (target {target[0]} {target[1]} not reached)'


def format_sweep(sweep: loader.SweepInfo, trials: pd.DataFrame) -> str:
    """One sweep's block of the status."""
    fw = f' ({sweep.framework})' if sweep.framework else ''
    lines = [f'== {sweep.key}{fw}: {sweep.dir}']
    if not len(trials):
        lines.append('no trial started yet')
        return '\n'.join(lines)
    st = summary.run_status(trials, sweep.metadata)
    counts = ', '.join(
        f'{st[f"trials_{s}"]} {s}'
        for s in ('complete', 'diverged', 'failed', 'running', 'interrupted')
        if st[f'trials_{s}']
    )
    planned = st['trials_planned']
    of = f' of {planned}' if planned else ''
    lines.append(
        f'{st["trials_sampled"]}{of} trials: {counts} | score: {_score(st)} | '
        f'submission time {st["total_submission_time_sec"]:.1f} s'
    )
    lines += _trials_table(trials)
    best = summary.best_trial(trials)
    if best is None:
        lines.append('best: none yet (no trial that neither failed nor diverged has a finite loss)')
    else:
        lines.append(
            f'best: trial {int(best["run_idx"])} (best loss {best["best_loss"]:.4f}, best '
            f'accuracy {_cell(best["best_accuracy"], ".4f")}): {_hparams(best)}'
        )
    failed = trials[trials['status'] == 'failed'].sort_values('run_idx')
    if len(failed):
        lines.append('failures:')
        for _, t in failed.iterrows():
            lines.append(
                f'  trial {int(t["run_idx"])}: {_error_line(t)} '
                f'(traceback: {os.path.join(str(t["run_dir"]), ERROR_FILE)})'
            )
    return '\n'.join(lines)


SIDE_BY_SIDE = [
    # (label, run_status key, format)
    ('trials', 'trials_sampled', 'd'),
    ('complete', 'trials_complete', 'd'),
    ('diverged', 'trials_diverged', 'd'),
    ('failed', 'trials_failed', 'd'),
    ('running', 'trials_running', 'd'),
    ('best loss', 'best_loss', '.4f'),
    ('best loss trial', 'best_loss_run_idx', 'd'),
    ('best accuracy', 'best_accuracy', '.4f'),
    ('score (s)', 'score_time_to_target_sec', '.2f'),
    ('energy score (J)', 'score_energy_to_target_joules', '.1f'),
    ('submission time (s)', 'total_submission_time_sec', '.1f'),
]


def format_comparison(trials: pd.DataFrame, sweeps: list[loader.SweepInfo]) -> str:
    """Key numbers of several sweeps side by side (one column per sweep)."""
    table = summary.comparison(trials, sweeps).set_index('description')
    names = list(table.columns)
    width = max(12, *(len(n) for n in names))
    label_w = max(len(label) for label, _, _ in SIDE_BY_SIDE)
    lines = ['== side by side', ' ' * label_w + '  ' + '  '.join(n.rjust(width) for n in names)]
    for label, key, fmt in SIDE_BY_SIDE:
        cells = [_cell(table.at[key, n], fmt).rjust(width) for n in names]
        lines.append(label.ljust(label_w) + '  ' + '  '.join(cells))
    return '\n'.join(lines)


def format_status(log_dir: str) -> str:
    """The status of every sweep in `log_dir` (itself, or its children), as text.

    Raises:
      LogDirError: `log_dir` holds no sweep.
    """
    _, trials, sweeps = loader.load(log_dir, metadata=False)
    blocks = [format_sweep(s, trials[trials['sweep'] == s.key]) for s in sweeps]
    if len(sweeps) > 1:
        blocks.append(format_comparison(trials, sweeps))
    return '\n\n'.join(blocks) + '\n'
