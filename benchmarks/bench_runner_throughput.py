"""Steps/s through the runner against a hand-written loop of the same model and batch.

    python benchmarks/bench_runner_throughput.py [--steps 1500] [--rounds 3]

For each framework, in one process and alternating round by round (this
machine is shared and noisy), it times:

* hand: a plain loop a user would write -- per-epoch NumPy shuffle, slice,
  jitted/eager Adam step -- on the same normalised 4,000-image sample;
* runner: ``trainer.train_once`` with the baseline submission and a real
  ``Recorder`` (metrics.csv, telemetry sampler at 1 Hz) in a temp dir.

Both are timed over the same number of steps after a warm-up (the runner's
first step, which compiles, is excluded the same way as the hand loop's
warm-up step). The figure that matters is the ratio runner/hand (goal >= 0.95).
"""

import argparse
import importlib.util
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from algorithmic_efficiency.recording import recorder as logging_utils  # noqa: E402
from algorithmic_efficiency.training import trainer  # noqa: E402
from algorithmic_efficiency.workloads import registry  # noqa: E402

BATCH = 1024
HP = {'learning_rate': 1e-3, 'one_minus_beta_1': 0.1, 'epsilon': 1e-8}


def hand_batches(x, y):
    """What a user's loop does: a NumPy permutation per epoch, sliced into batches."""
    rng = np.random.default_rng(0)
    n = len(y)
    while True:
        perm = rng.permutation(n)
        for i in range(0, n - BATCH + 1, BATCH):
            idx = perm[i:i + BATCH]
            yield x[idx], y[idx]


def hand_jax(x, y, steps):
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import optax

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, v):
            return nn.Dense(10)(nn.sigmoid(nn.Dense(128)(v)))

    model = MLP()
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 784)))
    tx = optax.adam(1e-3, b1=0.9, eps=1e-8)
    opt_state = tx.init(params)

    def step(params, opt_state, xb, yb):
        def loss_fn(p):
            logits = model.apply(p, xb)
            return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

        grads = jax.grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    step = jax.jit(step, donate_argnums=(0, 1))
    it = hand_batches(x, y)
    params, opt_state = step(params, opt_state, *next(it))  # compile
    jax.block_until_ready(params)
    start = time.perf_counter()
    for _ in range(steps):
        params, opt_state = step(params, opt_state, *next(it))
    jax.block_until_ready(params)
    return steps / (time.perf_counter() - start)


def hand_pytorch(x, y, steps):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(784, 128), nn.Sigmoid(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    it = hand_batches(x, y)

    def step():
        xb, yb = (torch.from_numpy(a) for a in next(it))
        yb = yb.long()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xb), yb).backward()
        opt.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


class TimedRecorder:
    """Wraps a real TrialRecorder and notes when each eval row is written."""

    def __init__(self, inner):
        self.inner, self.times = inner, []

    def begin_interval(self):
        self.inner.begin_interval()
        self.times.append(time.perf_counter())

    def before_eval(self):
        self.inner.before_eval()

    def record_eval(self, row):
        self.inner.record_eval(row)


def runner_rate(fw, workload, submission, steps, log_dir):
    recorder = logging_utils.Recorder(log_dir, f'mnist_{fw}', mode='overwrite')
    recorder.prepare()
    inner = recorder.start_trial(1, HP, 0)
    timed = TimedRecorder(inner)
    result = trainer.train_once(workload, f'mnist_{fw}', fw, submission, HP, 1, 0,
                                trial_log=timed, max_global_steps=steps + 1,
                                progress=lambda m: None)
    end = time.perf_counter()
    recorder.finish_trial(inner, result)
    assert result.status == 'complete', result.error
    # timed.times[1] is when training resumed after the eval that followed
    # step 1 (the compiling step); ``end`` includes the final eval and row.
    return steps / (end - timed.times[1])


def load_submission(fw):
    path = os.path.join(ROOT, f'baselines/mnist/mnist_{fw}/submission.py')
    spec = importlib.util.spec_from_file_location(f'submission_{fw}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(fw, steps, rounds):
    """Alternating rounds of hand loop and runner for one framework, in this process."""
    with tempfile.TemporaryDirectory() as tmp:
        workload = registry.load_workload(f'mnist_{fw}', fw)
        workload.prepare_data(None)
        # A user's loop keeps the whole set normalised in memory (float32).
        x, y = workload.normalise(workload._train_x), workload._train_y
        submission = load_submission(fw)
        hand = {'jax': hand_jax, 'pytorch': hand_pytorch}[fw]
        rates = {'hand': [], 'runner': []}
        for _ in range(rounds):
            rates['hand'].append(hand(x, y, steps))
            rates['runner'].append(runner_rate(fw, workload, submission, steps, tmp))
    return rates


def launch_cost(fw):
    """Seconds from launching the CLI to its exit after one step, and its peak RSS (MiB).

    A fresh intermediate process reads RUSAGE_CHILDREN, so the figure is the
    runner's own peak, not the largest of the benchmark's earlier children.
    """
    cmd = [sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
           f'--workload=mnist_{fw}',
           f'--submission_path={ROOT}/baselines/mnist/mnist_{fw}/submission.py',
           '--tuning_ruleset=self', '--max_global_steps=1']
    probe = ('import resource, subprocess, sys, time; t = time.perf_counter(); '
             'subprocess.run(sys.argv[1:], check=True, capture_output=True); '
             'print(time.perf_counter() - t, '
             'resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
    out = subprocess.run([sys.executable, '-c', probe] + cmd, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=1500)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--frameworks', default='jax,pytorch')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.child:
        print(json.dumps(measure(args.frameworks, args.steps, args.rounds)))
        return
    rows = []
    for fw in args.frameworks.split(','):
        steps = args.steps if fw == 'jax' else max(args.steps // 3, 100)
        # One process per framework: JAX's idle runtime threads stall
        # PyTorch's 2-thread OpenMP pool when they share a process here.
        out = subprocess.run([sys.executable, __file__, '--child', '--frameworks', fw,
                              '--steps', str(steps), '--rounds', str(args.rounds)],
                             capture_output=True, text=True, check=True).stdout
        rates = json.loads(out.strip().splitlines()[-1])
        h, r = statistics.median(rates['hand']), statistics.median(rates['runner'])
        rows.append((fw, steps, h, r, rates))
    print(f'MNIST MLP, batch {BATCH}, embedded 4,000-image train split, medians of '
          f'{args.rounds} alternating rounds')
    print(f"{'framework':<10}{'steps':>7}{'hand steps/s':>14}{'runner steps/s':>16}"
          f"{'runner/hand':>13}")
    for fw, steps, h, r, _ in rows:
        print(f'{fw:<10}{steps:>7}{h:>14.1f}{r:>16.1f}{r / h:>13.3f}')
    for fw, _, _, _, rates in rows:
        print(f"  {fw} rounds: hand {[round(v) for v in rates['hand']]}, "
              f"runner {[round(v) for v in rates['runner']]}")
    print('Launch to exit for one step (CLI, no --log_dir), and peak memory of that process:')
    for fw in args.frameworks.split(','):
        seconds, peak_mib = launch_cost(fw)
        print(f'  {fw:<8} {seconds:5.1f} s   peak RSS {peak_mib:6.0f} MiB')


if __name__ == '__main__':
    main()
