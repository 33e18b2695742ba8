"""The table the runner prints when a sweep ends: trials, score, best configuration, files.

::

  mnist_jax: 2 trial(s)
  trial  status    steps  time_s    loss  accuracy  to_target_s  note
      1  complete    238    12.4  0.3346    0.9110            -  budget
      2  complete    364    12.9  0.2889    0.9130            -  budget
  score (fastest time to target): inf (no trial reached the target)
  best: trial 2 (loss 0.2889): learning_rate=0.00123, one_minus_beta_1=0.2364, epsilon=1e-06

Columns are as wide as their widest cell, so long values never shift the rest.
"""

from __future__ import annotations

import math
from typing import Any

from algorithmic_efficiency import scores
from algorithmic_efficiency.training import results

# (header, cell of a TrialResult, right-aligned)
_COLUMNS = (
    ('trial', lambda t: str(t.run_idx), True),
    ('status', lambda t: str(t.status), False),
    ('steps', lambda t: str(t.global_step), True),
    ('time_s', lambda t: _num(t.accumulated_submission_time, '.1f'), True),
    ('loss', lambda t: _num(t.final_eval.get('loss'), '.4f'), True),
    ('accuracy', lambda t: _num(t.final_eval.get('accuracy'), '.4f'), True),
    ('to_target_s', lambda t: _num(t.time_to_target, '.1f'), True),
    ('note', lambda t: str(t.error or t.stop_reason or ''), False),
)
# Shown before `note` when the sweep measured energy (NVML or RAPL).
_ENERGY_COLUMN = ('to_target_J', lambda t: _finite(results.energy_to_target(t), '.1f'), True)


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, (int, float)) else '-'


def _finite(value: Any, fmt: str) -> str:
    return _num(value if isinstance(value, (int, float)) and math.isfinite(value) else None, fmt)


def _table(trials: list[Any], energy: bool = False) -> list[str]:
    columns = _COLUMNS[:-1] + ((_ENERGY_COLUMN,) if energy else ()) + _COLUMNS[-1:]
    cells = [[cell(t) for _, cell, _ in columns] for t in trials]
    widths = [
        max([len(header)] + [len(row[i]) for row in cells])
        for i, (header, _, _) in enumerate(columns)
    ]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if right else v.ljust(w)
            for v, w, (_, _, right) in zip(values, widths, columns, strict=True)
        ]
        return '  '.join(parts).rstrip()

    return [line([h for h, _, _ in columns])] + [line(row) for row in cells]


def _best_loss(trial: Any) -> float:
    losses = [
        r.get('loss')
        for r in trial.evals
        if isinstance(r.get('loss'), (int, float)) and math.isfinite(r.get('loss'))
    ]
    return min(losses) if losses else math.inf


def best_trial(trials: list[Any]) -> Any | None:
    """The trial with the lowest finite eval loss, failed and diverged ones excluded."""
    return scores.incumbent(trials, _best_loss, lambda t: t.status, lambda t: t.run_idx)


def _hparams(hyperparameters: dict[str, Any] | None) -> str:
    if not hyperparameters:
        return 'no hyperparameters (self-tuning)'
    return ', '.join(
        f'{k}={v:.4g}' if isinstance(v, float) else f'{k}={v}' for k, v in hyperparameters.items()
    )


def format_end_table(workload_name: str, sweep: Any) -> str:
    """The end table of `sweep` (a ``SweepResult``), for the console."""
    trials = list(sweep.trials)
    score = sweep.score
    best = best_trial(trials)
    energy_score = results.sweep_energy_score(trials)  # NaN: no energy measured
    energy = not math.isnan(energy_score)
    lines = [f'{workload_name}: {len(trials)} trial(s)']  # scripts match this line
    lines += _table(trials, energy)
    score_line = 'score (fastest time to target): ' + (
        f'{score:.2f} s' if math.isfinite(score) else 'inf (no trial reached the target)'
    )
    if energy and math.isfinite(energy_score):
        score_line += f'; least energy to target: {energy_score:.1f} J'
    lines.append(score_line)
    if best is None:
        lines.append('best: none (no trial that neither failed nor diverged has a finite loss)')
    else:
        lines.append(
            f'best: trial {best.run_idx} (loss {_best_loss(best):.4f}): '
            f'{_hparams(best.hyperparameters)}'
        )
    return '\n'.join(lines)
