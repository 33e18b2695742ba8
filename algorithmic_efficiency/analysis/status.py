"""A readable status of the sweeps in a log directory (also while they run).

Per sweep: a header (trials done of planned, the score, submission time), a
table of trials (status, current step, evals, best loss, latest accuracy,
submission time, time to target, stop reason or error; a running trial's
live step, budget used, steps/s and ETA from its heartbeat), the best config
and the failures with their error's first line. Several sweeps end with their
key numbers side by side. No pandas (:mod:`.live` reads the files), so it
answers in well under a second.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

from algorithmic_efficiency import layout
from algorithmic_efficiency.analysis import live
from algorithmic_efficiency.layout import ERROR_FILE

COLUMNS = [
    # (header, width, trial attribute, format)
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
# Last when the rows carry throughput.mfu (the language models): over the last interval.
MFU_COLUMN = ('mfu', 6, 'mfu', '.3f')


def _cell(v: Any, fmt: str) -> str:
    if v is None or v == '' or (isinstance(v, float) and math.isnan(v)):
        return '-'
    if isinstance(v, float) and math.isinf(v):
        return 'inf'
    if fmt == 'd':
        return str(int(v))
    if fmt == 's':
        return str(v)
    return format(float(v), fmt)


def _error_line(t: live.Trial) -> str:
    """trial.json's first line of the error; else the exception line of error.txt."""
    if isinstance(t.error, str) and t.error:
        return t.error
    path = os.path.join(t.run_dir, ERROR_FILE)
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return 'unknown error (no trial.json error, no error.txt)'
    return lines[-1] if lines else 'unknown error (empty error.txt)'


def _duration(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    if s < 60:
        return f'{s} s'
    if s < 3600:
        return f'{s // 60} min {s % 60:02d} s'
    return f'{s // 3600} h {s % 3600 // 60:02d} min'


def _running_note(t: live.Trial, now: float) -> str:
    """``running: 42% of 60 s, 85.1 steps/s, ETA 35 s, heartbeat 3 s ago`` (what is known)."""
    beat = t.heartbeat or {}
    parts = []
    budget, spent = beat.get('budget_sec'), beat.get('accumulated_submission_time')
    if isinstance(budget, (int, float)) and budget > 0 and isinstance(spent, (int, float)):
        parts.append(f'{100 * spent / budget:.0f}% of {budget:g} s')
    rate, eta = beat.get('steps_per_sec'), beat.get('eta_sec')
    if isinstance(rate, (int, float)):
        parts.append(f'{rate:.1f} steps/s')
    if isinstance(eta, (int, float)):
        parts.append(f'ETA {_duration(eta)}')
    when = beat.get('wall_time')
    if isinstance(when, (int, float)):
        parts.append(f'heartbeat {_duration(now - when)} ago')
    where = f'running on {t.node}' if t.node else 'running'
    return where + (': ' + ', '.join(parts) if parts else '')


def _resume_note(t: live.Trial) -> str:
    """What --resume will do: continue from the newest checkpoint, or re-run from step 0."""
    root = os.path.join(t.run_dir, layout.CHECKPOINTS_DIR)
    names = os.listdir(root) if os.path.isdir(root) else []
    steps = sorted(int(m.group(1)) for m in map(layout.CHECKPOINT_STEP_RE.match, names) if m)
    return f'--resume resumes at step {steps[-1]}' if steps else '--resume re-runs it'


def _note(t: live.Trial, now: float) -> str:
    if t.status == 'failed':
        return _error_line(t)
    if t.status == 'interrupted':
        return 'stopped by Ctrl-C; ' + _resume_note(t)
    if t.status == 'preempted':
        return 'preempted (SIGTERM/SIGUSR1); ' + _resume_note(t)
    if t.status == 'stale':
        return 'no heartbeat and its process is gone (killed?); ' + _resume_note(t)
    if t.status == 'running':
        return _running_note(t, now)
    return str(t.stop_reason or '')


def _trials_table(trials: list[live.Trial], now: float) -> list[str]:
    measured = any(math.isfinite(t.submission_energy_joules) for t in trials)
    columns = COLUMNS + [ENERGY_COLUMN] if measured else COLUMNS
    if any(math.isfinite(t.mfu) for t in trials):
        columns = columns + [MFU_COLUMN]
    header = '  '.join(h.rjust(w) if f != 's' else h.ljust(w) for h, w, _, f in columns)
    lines = [header + '  note']
    for t in sorted(trials, key=lambda t: t.run_idx):
        cells = []
        for _, w, attr, f in columns:
            c = _cell(getattr(t, attr), f)
            cells.append(c.ljust(w) if f == 's' else c.rjust(w))
        lines.append('  '.join(cells) + '  ' + _note(t, now))
    return lines


def _hparams(hyperparameters: dict[str, Any]) -> str:
    parts = []
    for name, v in hyperparameters.items():
        if v is None or v == '':
            continue
        # Readable here (4 significant digits); the summary files keep every digit.
        text = f'{v:.4g}' if isinstance(v, float) else str(v)
        parts.append(f'{name}={text}')
    return ', '.join(parts) or 'no hyperparameters'


def _score(st: dict) -> str:
    s = st['score_time_to_target_sec']
    energy = st.get('score_energy_to_target_joules')
    if isinstance(s, float) and math.isfinite(s):
        text = f'{s:.2f} s (trial {st["score_run_idx"]})'
        if energy is not None:
            text += f' | energy to target: {_cell(energy, ".1f")} J'
        return text
    if st['target_metric'] is None:
        return 'inf (target not reached)'
    return f'inf (target {st["target_metric"]} {_cell(st["target_value"], "g")} not reached)'


def rules_note(metadata: dict[str, Any]) -> str | None:
    """A line when the sweep did not follow the workload's rules (--eval_period_time_sec)."""
    flags = metadata.get('flags') if isinstance(metadata.get('flags'), dict) else {}
    period = flags.get('eval_period_time_sec')
    if period is None:
        return None
    own = metadata.get('workload.eval_period_time_sec')
    own = f" (the workload's: {own:g} s)" if isinstance(own, (int, float)) else ''
    return (
        f'note: run with --eval_period_time_sec={period:g}{own}: evals are not on the '
        "workload's schedule, so times are not comparable"
    )


def format_sweep(sweep: live.Sweep, now: float | None = None) -> str:
    """One sweep's block of the status."""
    now = time.time() if now is None else now
    fw = f' ({sweep.framework})' if sweep.framework else ''
    lines = [f'== {sweep.key}{fw}: {sweep.dir}']
    note = rules_note(sweep.metadata)
    if note:
        lines.append(note)
    trials = sweep.trials
    if not trials:
        lines.append('no trial started yet')
        return '\n'.join(lines)
    st = live.numbers(sweep)
    counts = ', '.join(
        f'{st[f"trials_{s}"]} {s}'
        for s in ('complete', 'diverged', 'failed', 'running', 'interrupted', 'preempted',
                  'stale')
        if st[f'trials_{s}']
    )
    planned = st['trials_planned']
    of = f' of {planned}' if planned else ''
    lines.append(
        f'{st["trials_sampled"]}{of} trials: {counts} | score: {_score(st)} | '
        f'submission time {st["total_submission_time_sec"]:.1f} s'
    )
    lines += _trials_table(trials, now)
    best = live.best_trial(trials)
    if best is None:
        lines.append('best: none yet (no trial that neither failed nor diverged has a finite loss)')
    else:
        lines.append(
            f'best: trial {best.run_idx} (best loss {best.best_loss:.4f}, best '
            f'accuracy {_cell(best.best_accuracy, ".4f")}): {_hparams(best.hyperparameters)}'
        )
    failed = sorted((t for t in trials if t.status == 'failed'), key=lambda t: t.run_idx)
    if failed:
        lines.append('failures:')
        for t in failed:
            lines.append(
                f'  trial {t.run_idx}: {_error_line(t)} '
                f'(traceback: {os.path.join(t.run_dir, ERROR_FILE)})'
            )
    return '\n'.join(lines)


SIDE_BY_SIDE = [
    # (label, key of live.numbers, format)
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


def format_comparison(sweeps: list[live.Sweep]) -> str:
    """Key numbers of several sweeps side by side (one column per sweep)."""
    names = [s.key for s in sweeps]
    table = [live.numbers(s) for s in sweeps]
    width = max(12, *(len(n) for n in names))
    label_w = max(len(label) for label, _, _ in SIDE_BY_SIDE)
    lines = ['== side by side', ' ' * label_w + '  ' + '  '.join(n.rjust(width) for n in names)]
    for label, key, fmt in SIDE_BY_SIDE:
        cells = [_cell(st[key], fmt).rjust(width) for st in table]
        lines.append(label.ljust(label_w) + '  ' + '  '.join(cells))
    return '\n'.join(lines)


def format_status(log_dir: str) -> str:
    """The status of every sweep in `log_dir` (itself, or its children), as text.

    Raises:
      LogDirError: `log_dir` holds no sweep.
    """
    sweeps = live.read_sweeps(log_dir)
    now = time.time()
    blocks = [format_sweep(s, now) for s in sweeps]
    if len(sweeps) > 1:
        blocks.append(format_comparison(sweeps))
    return '\n\n'.join(blocks) + '\n'
