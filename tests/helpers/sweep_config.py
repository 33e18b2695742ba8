"""A small in-process sweep's ``RunConfig``, and a snapshot of a directory's files."""

import os

from sweeps import ROOT, SPACE

from algorithmic_efficiency import sweep

PT_SUBMISSION = os.path.join(ROOT, 'baselines', 'mnist', 'mnist_pytorch', 'submission.py')


def config(log_dir, **overrides):
    """A small PyTorch sweep's RunConfig (2 trials of 3 steps, seed 7)."""
    base = dict(workload='mnist_pytorch', submission_path=PT_SUBMISSION,
                tuning_search_space=SPACE, num_tuning_trials=2, max_global_steps=3,
                log_dir=str(log_dir), rng_seed=7, summary=False)
    return sweep.RunConfig(**{**base, **overrides})


def tree(path):
    """Every file below `path` with its bytes: to prove a refused run touched nothing."""
    out = {}
    for dirpath, _, names in os.walk(path):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, 'rb') as f:
                out[os.path.relpath(full, path)] = f.read()
    return out
