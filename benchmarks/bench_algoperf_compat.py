"""What the AlgoPerf compatibility layer costs: steps/s, peer-API submission vs our baseline.

    python benchmarks/bench_algoperf_compat.py [--steps 300] [--rounds 11] [--clock cpu|wall]

Both are PyTorch Adam on the MNIST MLP at batch 1024, run through the real
trial loop (``trainer.train_once``) with a real ``Recorder`` (metrics.csv,
1 Hz telemetry sampler) in a temp dir, alternating round by round in one
process (this machine is shared and noisy; the order flips every round):

* native: ``baselines/mnist/mnist_pytorch/submission.py`` (dict hyperparameters);
* algoperf: ``tests/algoperf_submissions/mnist_pytorch_adam.py``, written to
  the peer's API and loaded through ``import algoperf`` (the layer): attribute
  hyperparameters, the dict loss, ``train_state`` (updated every step),
  ``prepare_for_eval`` before each eval and ``workload.metrics_logger`` (a row
  every 10 steps, with ``loss.item()``).

steps/s is measured over submission time (what the runner accounts, between
the eval after step 1, which warms the caches, and the last eval), so evals
and recording are not in it. Each round runs the two back to back and gives
one ratio; the median of the rounds' ratios is the figure (it cancels the
machine's drift between rounds). Goal: algoperf/native >= 0.98.

The runner's clock is injectable: ``--clock cpu`` (the default) times with
this process's CPU time and PyTorch on one thread (``--threads 1``), so
other processes on a shared, oversubscribed machine don't add their time to
either side; ``--clock wall`` is the runner's own ``time.perf_counter`` (use
it on a quiet machine, with ``--threads 0`` for PyTorch's default).
"""

import argparse
import importlib.util
import logging
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from algorithmic_efficiency import compat  # noqa: E402
from algorithmic_efficiency.recording import recorder as recorder_lib  # noqa: E402
from algorithmic_efficiency.training import trainer  # noqa: E402
from algorithmic_efficiency.training.trial_spec import (  # noqa: E402
    TrialHooks,
    TrialLimits,
    TrialSpec,
)
from algorithmic_efficiency.workloads import registry  # noqa: E402

SUBMISSIONS = {
    'native': ('baselines/mnist/mnist_pytorch/submission.py',
               {'learning_rate': 1e-3, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8}),
    'algoperf': ('tests/algoperf_submissions/mnist_pytorch_adam.py',
                 {'learning_rate': 1e-3, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8}),
}


def load(path):
    module_spec = importlib.util.spec_from_file_location(
        os.path.basename(os.path.dirname(path)) or 'submission', os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def rate(workload, submission, hparams, steps, log_dir, run_idx, clock):
    """Steps/s over submission time, from the second eval row to the last."""
    recorder = recorder_lib.Recorder(log_dir, 'mnist_pytorch', mode='overwrite')
    recorder.prepare()
    trial_log = recorder.start_trial(run_idx, hparams, 0)
    trial = TrialSpec('mnist_pytorch', 'pytorch', run_idx=run_idx, hyperparameters=hparams,
                      seed=0, limits=TrialLimits(max_global_steps=steps + 1))
    result = trainer.train_once(workload, submission, trial, trial_log,
                                TrialHooks(clock=clock, progress=lambda m: None))
    recorder.finish_trial(trial_log, result)
    assert result.status == 'complete', result.error
    first, last = result.evals[0], result.evals[-1]
    return ((last['global_step'] - first['global_step'])
            / (last['accumulated_submission_time'] - first['accumulated_submission_time']))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--rounds', type=int, default=11)
    parser.add_argument('--clock', choices=('cpu', 'wall'), default='cpu')
    parser.add_argument('--threads', type=int, default=1, help='PyTorch threads (0: default)')
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import torch  # after the arguments: --help needs no torch

    if args.threads:
        torch.set_num_threads(args.threads)
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    compat.prepare('pytorch')  # what the runner does before loading a submission
    submissions = {name: (load(path), hp) for name, (path, hp) in SUBMISSIONS.items()}
    workload = registry.load_workload('mnist_pytorch', 'pytorch')
    workload.prepare_data(None)
    rates = {name: [] for name in submissions}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = list(submissions) if i % 2 == 0 else list(reversed(submissions))
            for name in order:
                submission, hp = submissions[name]
                rates[name].append(rate(workload, submission, hp, args.steps, tmp, i + 1, clock))
    native, algoperf = (statistics.median(rates[n]) for n in ('native', 'algoperf'))
    ratios = [a / n for a, n in zip(rates['algoperf'], rates['native'], strict=True)]
    print(f'PyTorch MNIST MLP, Adam, batch 1024, {args.steps} timed steps, medians of '
          f'{args.rounds} alternating rounds (steps/s over submission time, {args.clock} clock, '
          f'{torch.get_num_threads()} PyTorch thread(s))')
    print(f"{'submission':<40}{'steps/s':>10}")
    print(f"{'native (baselines/mnist/mnist_pytorch)':<40}{native:>10.1f}")
    print(f"{'algoperf API (through the layer)':<40}{algoperf:>10.1f}")
    print(f'algoperf / native, median of the rounds\' ratios: {statistics.median(ratios):.3f} '
          f'(goal >= 0.98; ratios {[round(r, 3) for r in ratios]})')
    for name, values in rates.items():
        print(f'  {name} rounds: {[round(v, 1) for v in values]}')


if __name__ == '__main__':
    main()
