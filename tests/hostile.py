"""Hostile submissions and small sweeps for the tests of issue 29 (a plain helper module).

A hostile submission is the PyTorch MNIST baseline with one function replaced
by a snippet: the rest trains for real.
"""

import json
import os
import textwrap

from sweeps import ROOT, SPACE

from algorithmic_efficiency import sweep

PT_SUBMISSION = os.path.join(ROOT, 'baselines', 'mnist', 'mnist_pytorch', 'submission.py')


def submission(tmp_path, code, name='hostile.py'):
    """The baseline's source followed by `code` (which redefines what it wants)."""
    path = tmp_path / name
    with open(PT_SUBMISSION, encoding='utf-8') as f:
        base = f.read()
    path.write_text(base + '\n\n' + textwrap.dedent(code), encoding='utf-8')
    return str(path)


def config(log_dir, **overrides):
    """A small PyTorch sweep's RunConfig (2 trials of 2 steps, seed 7, no summary)."""
    base = dict(workload='mnist_pytorch', submission_path=PT_SUBMISSION,
                tuning_search_space=SPACE, num_tuning_trials=2, max_global_steps=2,
                log_dir=str(log_dir), rng_seed=7, summary=False, telemetry_interval_sec=60.0)
    return sweep.RunConfig(**{**base, **overrides})


def args(log_dir, *extra, submission_path=PT_SUBMISSION, trials=2, steps=2):
    """The same sweep as command-line flags."""
    return ['--workload=mnist_pytorch', f'--submission_path={submission_path}',
            f'--tuning_search_space={SPACE}', f'--num_tuning_trials={trials}',
            f'--max_global_steps={steps}', '--rng_seed=7', f'--log_dir={log_dir}',
            '--nosummary', '--telemetry_interval_sec=60', *extra]


def trial_json(log_dir, n, workload='mnist_pytorch'):
    with open(os.path.join(str(log_dir), workload, f'run_{n}', 'trial.json')) as f:
        return json.load(f)
