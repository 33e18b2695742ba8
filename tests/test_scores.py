"""The results' definitions (algorithmic_efficiency/scores.py), and that every reader uses them.

The trainer's rows hold numbers, status reads metrics.csv as text, the loader
parses it with pandas: the same rows must give the same numbers in all three.
"""

import csv
import math

import pytest

from algorithmic_efficiency import scores
from algorithmic_efficiency.analysis import live, loader, summary
from algorithmic_efficiency.training import results
from algorithmic_efficiency.training.end_table import best_trial

E = scores.ENERGY_COLUMN
REACHED = [
    {'global_step': 1, 'accumulated_submission_time': 1.5, 'goal_reached': False, E: 10.0,
     'loss': 0.9, 'accuracy': 0.5},
    {'global_step': 2, 'accumulated_submission_time': 3.25, 'goal_reached': True, E: 20.5,
     'loss': 0.4, 'accuracy': 0.98},
    {'global_step': 3, 'accumulated_submission_time': 5.0, 'goal_reached': True, E: 30.0,
     'loss': 0.3, 'accuracy': 0.99},
]
NEVER = [{**row, 'goal_reached': False} for row in REACHED]
UNMEASURED = [{k: v for k, v in row.items() if k != E} for row in NEVER]


def as_text(rows):
    """The rows as metrics.csv holds them (what status reads)."""
    return [{k: str(v) for k, v in row.items()} for row in rows]


@pytest.mark.parametrize('convert', [list, as_text], ids=['numbers', 'text'])
def test_time_and_energy_to_target_at_the_first_eval_at_target(convert):
    assert scores.time_to_target(convert(REACHED)) == 3.25
    assert scores.energy_to_target(convert(REACHED)) == 20.5
    # Never reached: no value (NaN), measured or not.
    assert math.isnan(scores.time_to_target(convert(NEVER)))
    assert math.isnan(scores.energy_to_target(convert(NEVER)))
    assert scores.energy_measured(convert(NEVER))
    assert not scores.energy_measured(convert(UNMEASURED))


def test_sweep_scores_inf_when_none_reached_none_when_unmeasured():
    assert scores.time_score([math.nan, 7.0, None, 3.0]) == 3.0
    assert scores.time_score([None, math.nan]) == math.inf
    assert scores.energy_score([math.nan, 20.5, 40.0], measured=True) == 20.5
    assert scores.energy_score([math.nan], measured=True) == math.inf
    assert scores.energy_score([math.nan], measured=False) is None


def test_incumbent_skips_failed_and_diverged_and_takes_the_first_on_ties():
    trials = [(1, 'failed', 0.1), (2, 'complete', 0.5), (3, 'diverged', 0.2),
              (4, 'complete', 0.5), (5, 'running', math.nan)]
    best = scores.incumbent(trials, lambda t: t[2], lambda t: t[1], lambda t: t[0])
    assert best == (2, 'complete', 0.5)
    assert scores.incumbent(trials[:1], lambda t: t[2], lambda t: t[1], lambda t: t[0]) is None


def _trial(run_idx, rows, status='complete'):
    trial = results.TrialResult(run_idx=run_idx, hyperparameters={}, seed=run_idx,
                                status=status)
    trial.evals = [dict(r) for r in rows]
    trial.time_to_target = scores.time_to_target(rows) if scores.first_at_target(rows) else None
    return trial


def _write_sweep(tmp_path, trials):
    """A log directory with one sweep whose trials wrote these rows."""
    sweep = tmp_path / 'logs' / 'mnist_jax'
    for idx, rows in trials:
        run = sweep / f'run_{idx}'
        run.mkdir(parents=True)
        header = ['run_idx', *rows[0]]
        with open(run / 'metrics.csv', 'w', newline='') as f:
            writer = csv.DictWriter(f, header)
            writer.writeheader()
            writer.writerows({'run_idx': idx, **row} for row in rows)
        (run / 'trial.json').write_text(f'{{"run_idx": {idx}, "status": "complete"}}')
    return tmp_path / 'logs'


@pytest.mark.parametrize('trials, energy', [
    ([(1, NEVER), (2, REACHED)], 20.5),  # one reached
    ([(1, NEVER), (2, NEVER)], math.inf),  # measured, none reached
    ([(1, UNMEASURED)], None),  # nothing measured
])
def test_trainer_status_and_loader_agree(tmp_path, trials, energy):
    log_dir = _write_sweep(tmp_path, trials)
    # The trainer: the end table's numbers.
    ran = [_trial(idx, rows) for idx, rows in trials]
    trainer_energy = results.sweep_energy_score(ran)
    assert (math.isnan(trainer_energy) if energy is None else trainer_energy == energy)
    # status (standard library) and the summary (the loader's frames).
    numbers = live.numbers(live.read_sweeps(str(log_dir))[0])
    frame = loader.load_trials(str(log_dir))
    status = summary.run_status(frame)
    assert numbers['score_energy_to_target_joules'] == energy
    assert status['score_energy_to_target_joules'] == energy
    expected_time = 3.25 if energy == 20.5 else math.inf
    assert results.sweep_score(ran) == expected_time
    assert numbers['score_time_to_target_sec'] == status['score_time_to_target_sec']
    assert numbers['score_time_to_target_sec'] == expected_time
    # Per trial: never reached is NaN in trials.csv's frame, status and the trainer alike.
    live_trials = live.read_sweeps(str(log_dir))[0].trials
    for trial, live_trial in zip(ran, live_trials, strict=True):
        got = frame.loc[frame['run_idx'] == trial.run_idx, 'energy_to_target'].iloc[0]
        want = results.energy_to_target(trial)
        assert (math.isnan(got) and (want is None or math.isnan(want))) or got == want
        assert (math.isnan(got) and math.isnan(live_trial.energy_to_target)
                or got == live_trial.energy_to_target)
    # The incumbent: the same trial everywhere.
    assert numbers['best_loss_run_idx'] == status['best_loss_run_idx']
    assert numbers['best_loss_run_idx'] == best_trial(ran).run_idx
