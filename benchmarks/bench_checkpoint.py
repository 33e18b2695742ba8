"""What checkpoints cost: steps/s with and without them, one checkpoint's and one restore's time.

    python benchmarks/bench_checkpoint.py [--steps 300] [--rounds 3] [--cifar]

For each workload (MNIST in JAX and PyTorch; ``--cifar`` adds the CIFAR-10
ResNet-18 on 200 random images in the real file format), in one process:

* one checkpoint's write time and size, and one restore's time, of the trial
  state right after set-up (``training.checkpoint``: orbax for JAX,
  ``torch.save`` for PyTorch), the median of 5;
* steps/s of ``trainer.train_once`` (evals only at the first and last step)
  with checkpoints off, at the default ``--checkpoint_interval_sec``, and at
  an interval 100x one checkpoint's time (the 1 % point: every trial longer than
  it checkpoints), alternating round by round (the machine is shared);
  wall-clock steps/s over the whole loop, checkpoint time included.

The figure that matters is the ratio with/without (goal >= 0.99), and
``checkpoint_s / default_interval``, the fraction of training a checkpoint at
the default interval costs.
"""

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

from algorithmic_efficiency.training import checkpoint, checkpointing, trainer  # noqa: E402
from algorithmic_efficiency.training.trial_spec import (  # noqa: E402
    TrialHooks,
    TrialLimits,
    TrialSpec,
)
from algorithmic_efficiency.workloads import registry  # noqa: E402

DEFAULT_INTERVAL = TrialLimits().checkpoint_interval_sec


def load_submission(fw, dataset):
    path = os.path.join(ROOT, f'baselines/{dataset}/{dataset}_{fw}/submission.py')
    spec = importlib.util.spec_from_file_location(f'submission_{dataset}_{fw}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hyperparameters(submission, dataset):
    if dataset == 'cifar':
        return dict(submission.DEFAULTS)
    return {'learning_rate': 1e-3, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8}


def trial_spec(name, fw, hp, steps, interval):
    return TrialSpec(name, fw, run_idx=1, hyperparameters=hp, seed=0,
                     limits=TrialLimits(max_global_steps=steps, eval_period_time_sec=1e9,
                                        progress_interval_sec=0,
                                        checkpoint_interval_sec=interval))


def save_and_restore_times(name, fw, workload, submission, hp, tmp):
    """(write s, restore s, bytes) of a checkpoint of the trial right after set-up."""
    running = trainer._Trial(workload, submission, trial_spec(name, fw, hp, 1, 0), None,  # noqa: SLF001
                             trainer.NullTrialLog(), lambda m: None, None)
    running.set_up(0, None)
    state = running.state
    writes, reads = [], []
    for i in range(5):
        start = time.perf_counter()
        path = checkpoint.write(tmp, i, fw, (state.params, state.model_state,
                                             state.optimizer_state), {'step': i}, keep=1)
        writes.append(time.perf_counter() - start)
        start = time.perf_counter()
        checkpoint.load_model(fw, path, state.params, state.model_state, state.optimizer_state)
        reads.append(time.perf_counter() - start)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return statistics.median(writes), statistics.median(reads), size


def steps_per_sec(name, fw, workload, submission, hp, steps, interval, tmp):  # noqa: PLR0913
    trial = trial_spec(name, fw, hp, steps, interval)
    checkpoints = (checkpointing.TrialCheckpoints(tmp, fw, interval) if interval > 0 else None)
    hooks = TrialHooks(progress=lambda m: None, checkpoints=checkpoints)
    start = time.perf_counter()
    result = trainer.train_once(workload, submission, trial, None, hooks)
    elapsed = time.perf_counter() - start
    assert result.status == 'complete', result.error
    return steps / elapsed, checkpoints.seconds if checkpoints else 0.0


def measure(name, fw, dataset, steps, rounds, data_dir, times_only=False):  # noqa: PLR0913
    workload = registry.load_workload(name, fw)
    workload.prepare_data(data_dir)
    submission = load_submission(fw, dataset)
    if dataset == 'cifar':
        submission.get_batch_size = lambda _: 32
    hp = hyperparameters(submission, dataset)
    with tempfile.TemporaryDirectory() as tmp:
        write_s, read_s, size = save_and_restore_times(name, fw, workload, submission, hp, tmp)
        scaled = 100 * write_s  # the interval at which checkpoints cost 1 %
        if times_only:
            return {'workload': name, 'checkpoint_s': write_s, 'restore_s': read_s,
                    'bytes': size, 'cost_at_default': write_s / DEFAULT_INTERVAL}
        arms = {'off': 0.0, 'default': DEFAULT_INTERVAL, 'at_1pct': scaled}
        rates = {k: [] for k in arms}
        spent = {k: 0.0 for k in arms}
        trainer.train_once(workload, submission, trial_spec(name, fw, hp, 2, 0), None,
                           TrialHooks(progress=lambda m: None))  # warm-up: compiles
        # Long enough for the 1 % arm to checkpoint at least twice.
        rate, _ = steps_per_sec(name, fw, workload, submission, hp, steps, 0, tmp)
        steps = max(steps, int(rate * 2.5 * scaled))
        for _ in range(rounds):
            for arm, interval in arms.items():
                run = os.path.join(tmp, f'{arm}_{len(rates[arm])}')
                rate, n = steps_per_sec(name, fw, workload, submission, hp, steps, interval, run)
                rates[arm].append(rate)
                spent[arm] += n
    return {'workload': name, 'steps': steps, 'checkpoint_s': write_s, 'restore_s': read_s,
            'bytes': size,
            'steps_per_s': {k: statistics.median(v) for k, v in rates.items()},
            'ratio_default': statistics.median(
                d / o for d, o in zip(rates['default'], rates['off'], strict=True)),
            'ratio_at_1pct': statistics.median(
                d / o for d, o in zip(rates['at_1pct'], rates['off'], strict=True)),
            'at_1pct_interval_s': scaled, 'checkpoint_seconds_at_1pct': spent['at_1pct'],
            'cost_at_default': write_s / DEFAULT_INTERVAL}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=300)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--cifar', action='store_true')
    parser.add_argument('--only', default=None,
                        help='comma-separated workloads to run (e.g. mnist_pytorch)')
    parser.add_argument('--times_only', action='store_true',
                        help='one checkpoint and one restore per workload, no steps/s runs')
    args = parser.parse_args()
    cases = [('mnist_jax', 'jax', 'mnist', args.steps, None),
             ('mnist_pytorch', 'pytorch', 'mnist', args.steps, None)]
    tmp = tempfile.mkdtemp()
    if args.cifar:
        from cifar_files import write_python_version  # noqa: PLC0415  (tests' helper)

        write_python_version(tmp, 200, 20, seed=1)
        cases += [(f'cifar10_{fw}', fw, 'cifar', max(args.steps // 30, 6), tmp)
                  for fw in ('jax', 'pytorch')]
    if args.only:
        cases = [c for c in cases if c[0] in args.only.split(',')]
    out = [measure(n, f, d, s, args.rounds, dd, args.times_only) for n, f, d, s, dd in cases]
    print(f'default --checkpoint_interval_sec={DEFAULT_INTERVAL:g}; machine shared and loaded: '
          'ratios from alternating rounds')
    print(f'{"workload":15} {"ckpt_s":>7} {"restore_s":>9} {"MB":>7} {"off/s":>8} '
          f'{"dflt/s":>8} {"ratio":>6} {"1%int_s":>8} {"1%/s":>8} {"ratio":>6} {"cost@dflt":>9}')
    for r in out:
        if 'steps_per_s' not in r:
            print(f'{r["workload"]:15} {r["checkpoint_s"]:7.3f} {r["restore_s"]:9.3f} '
                  f'{r["bytes"] / 2**20:7.2f} {"":>51} {r["cost_at_default"]:9.5f}')
            continue
        s = r['steps_per_s']
        print(f'{r["workload"]:15} {r["checkpoint_s"]:7.3f} {r["restore_s"]:9.3f} '
              f'{r["bytes"] / 2**20:7.2f} {s["off"]:8.1f} {s["default"]:8.1f} '
              f'{r["ratio_default"]:6.3f} {r["at_1pct_interval_s"]:8.1f} {s["at_1pct"]:8.1f} '
              f'{r["ratio_at_1pct"]:6.3f} {r["cost_at_default"]:9.5f}')
    print(json.dumps(out))


if __name__ == '__main__':
    main()
