"""Steps/s through the runner against a hand-written loop of the same model and batch.

    python benchmarks/bench_runner_throughput.py [--steps 1500] [--rounds 3]
    python benchmarks/bench_runner_throughput.py --workload cifar10 [--batch 32] [--steps 8]
        [--data_dir DIR]

For each framework, in one process and alternating round by round (this
machine is shared and noisy), it times:

* hand: a plain loop a user would write -- per-epoch NumPy shuffle, slice,
  jitted/eager Adam step -- on the same normalised 4,000-image sample;
* runner: ``trainer.train_once`` with the baseline submission and a real
  ``Recorder`` (metrics.csv, telemetry sampler at 1 Hz) in a temp dir.

Both are timed over the same number of steps after a warm-up (the runner's
first step, which compiles, is excluded the same way as the hand loop's
warm-up step). The figure that matters is the ratio runner/hand (goal >= 0.95).

``--workload cifar10`` does the same for the real CIFAR ResNet-18 (images/s,
SGD-Nesterov with batch-norm statistics; the hand loop augments with the same
NumPy functions, inline), timing the runner's training intervals only (its
evals are untimed anyway), and adds the input pipeline's images/s alone
(augment + normalise on one thread, no model), which must be >= 5x what the
model consumes. Without ``--data_dir`` it writes 400 random images in the
CIFAR-10 python format (the model's speed doesn't depend on the pixels; few
images keep the runner's evals short). Rates are also given per CPU second of
the process, which a machine shared with other jobs disturbs far less than
wall time; runner/hand is the median of per-round ratios.
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
from algorithmic_efficiency.training.trial_spec import (  # noqa: E402
    TrialHooks,
    TrialLimits,
    TrialSpec,
)
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

    def heartbeat(self, state):  # trial.json every few seconds: part of the measured cost
        self.inner.heartbeat(state)


def runner_rate(fw, workload, submission, steps, log_dir):
    recorder = logging_utils.Recorder(log_dir, f'mnist_{fw}', mode='overwrite')
    recorder.prepare()
    inner = recorder.start_trial(1, HP, 0)
    timed = TimedRecorder(inner)
    # Throughput, not time to target: the sample's target is reachable within
    # the steps timed, and stopping there would time fewer steps.
    workload.has_reached_goal = lambda metrics: False
    try:
        trial = TrialSpec(f'mnist_{fw}', fw, run_idx=1, hyperparameters=HP, seed=0,
                          limits=TrialLimits(max_global_steps=steps + 1))
        result = trainer.train_once(workload, submission, trial, timed,
                                    TrialHooks(progress=lambda m: None))
    finally:
        del workload.has_reached_goal
    end = time.perf_counter()
    recorder.finish_trial(inner, result)
    assert result.status == 'complete', result.error
    # timed.times[1] is when training resumed after the eval that followed
    # step 1 (the compiling step); ``end`` includes the final eval and row.
    # The steps actually run: on a loaded machine the budget may end it first.
    return (result.global_step - 1) / (end - timed.times[1])


def load_submission(fw, dataset='mnist'):
    path = os.path.join(ROOT, f'baselines/{dataset}/{dataset}_{fw}/submission.py')
    spec = importlib.util.spec_from_file_location(f'submission_{dataset}_{fw}', path)
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


# --- CIFAR-10 ResNet-18 -----------------------------------------------------------


def clocks():
    """(wall, CPU of this process) seconds: CPU time is steadier on a shared machine."""
    return np.array([time.perf_counter(), time.process_time()])


def rates(images, start, end):
    """[images per wall second, images per CPU second of the process]."""
    return (images / (end - start)).tolist()


def write_random_cifar(directory, num_train=400, num_test=40):
    """Random images in the CIFAR-10 python-version layout (pickled batches)."""
    import pickle

    rng = np.random.default_rng(0)
    folder = os.path.join(directory, 'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    names = [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch']
    sizes = [num_train // 5] * 5 + [num_test]
    for name, n in zip(names, sizes, strict=True):
        batch = {'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 'labels': rng.integers(0, 10, n).tolist()}
        with open(os.path.join(folder, name), 'wb') as f:
            pickle.dump(batch, f, protocol=4)
    return directory


def cifar_hand_batches(workload, batch):
    """What a user's loop does: permute per epoch, augment and normalise inline, slice."""
    from algorithmic_efficiency.workloads.cifar import input_pipeline as ip

    x, y = workload._train_x, workload._train_y
    scale, offset = workload.normalisation
    rng = np.random.default_rng(0)
    while True:
        perm = rng.permutation(len(y))
        for i in range(0, len(y) - batch + 1, batch):
            idx = perm[i:i + batch]
            yield ip.normalise(ip.random_crop_flip(x[idx], rng), scale, offset), y[idx]


def cifar_hand_jax(workload, batch, steps):
    import jax
    import jax.numpy as jnp
    import optax

    from algorithmic_efficiency.workloads.cifar.cifar_jax.models import ResNet18

    model = ResNet18()
    params, stats = jax.tree_util.tree_map(jnp.asarray, workload.init_variables(0))
    tx = optax.chain(optax.add_decayed_weights(5e-4), optax.trace(0.9, nesterov=True),
                     optax.scale(-0.1))
    opt_state = tx.init(params)

    def step(params, stats, opt_state, xb, yb):
        def loss_fn(p):
            logits, new = model.apply({'params': p, 'batch_stats': stats}, xb, train=True,
                                      mutable=['batch_stats'])
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
            return loss, new['batch_stats']

        grads, stats = jax.grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), stats, opt_state

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    it = cifar_hand_batches(workload, batch)
    params, stats, opt_state = step(params, stats, opt_state, *next(it))  # compile
    jax.block_until_ready(params)
    start = clocks()
    for _ in range(steps):
        params, stats, opt_state = step(params, stats, opt_state, *next(it))
    jax.block_until_ready(params)
    return rates(steps * batch, start, clocks())


def cifar_hand_pytorch(workload, batch, steps):
    import torch

    model, _ = workload.init_model_fn(0)  # the workload's ResNet-18, channels-last
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    it = cifar_hand_batches(workload, batch)

    def step():
        xb, yb = next(it)
        xb = torch.from_numpy(xb).permute(0, 3, 1, 2)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(xb), torch.from_numpy(yb).long()).backward()
        opt.step()

    step()  # warm-up
    start = clocks()
    for _ in range(steps):
        step()
    return rates(steps * batch, start, clocks())


class IntervalRecorder(TimedRecorder):
    """Notes both clocks when each training interval starts and ends (the eval's start)."""

    def __init__(self, inner):
        super().__init__(inner)
        self.starts, self.ends = [], []

    def begin_interval(self):
        self.inner.begin_interval()
        self.starts.append(clocks())

    def before_eval(self):
        self.ends.append(clocks())
        self.inner.before_eval()


def cifar_runner_rate(fw, workload, submission, batch, steps, log_dir):
    name = f'cifar10_{fw}'
    recorder = logging_utils.Recorder(log_dir, name, mode='overwrite')
    recorder.prepare()
    hp = dict(submission.DEFAULTS)
    inner = recorder.start_trial(1, hp, 0)
    timed = IntervalRecorder(inner)
    trial = TrialSpec(name, fw, run_idx=1, hyperparameters=hp, seed=0,
                      limits=TrialLimits(max_global_steps=steps + 1))
    result = trainer.train_once(workload, submission, trial, timed,
                                TrialHooks(progress=lambda m: None))
    recorder.finish_trial(inner, result)
    assert result.status == 'complete', result.error
    # From the end of the eval after step 1 (which compiled) to the start of
    # the final eval: steps 2..steps+1, the loop, the queue, the recorder's sampler.
    return rates(steps * batch, timed.starts[1], timed.ends[-1])


def pipeline_rate(workload, batch, seconds=3.0):
    """Images/s of augment + normalise alone, on this thread (no model)."""
    it = workload.numpy_train_batches(1, None, batch)
    next(it)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(it)
        count += batch
    return count / (time.perf_counter() - start)


def measure_cifar(fw, batch, steps, rounds, data_dir):
    with tempfile.TemporaryDirectory() as tmp:
        workload = registry.load_workload(f'cifar10_{fw}', fw)
        workload.prepare_data(data_dir or write_random_cifar(os.path.join(tmp, 'data')))
        submission = load_submission(fw, 'cifar')
        submission.get_batch_size = lambda name: batch
        hand = {'jax': cifar_hand_jax, 'pytorch': cifar_hand_pytorch}[fw]
        out = {'hand': [], 'runner': [], 'pipeline': [],
               'train_examples': workload.num_train_examples}
        for _ in range(rounds):
            out['hand'].append(hand(workload, batch, steps))
            out['runner'].append(cifar_runner_rate(fw, workload, submission, batch, steps,
                                                   os.path.join(tmp, 'logs')))
            out['pipeline'].append(pipeline_rate(workload, batch))
    return out


def main_cifar(args):
    rows = []
    for fw in args.frameworks.split(','):
        cmd = [sys.executable, __file__, '--child', '--workload', 'cifar10', '--frameworks', fw,
               '--batch', str(args.batch), '--steps', str(args.steps), '--rounds',
               str(args.rounds)] + (['--data_dir', args.data_dir] if args.data_dir else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows.append((fw, json.loads(out.strip().splitlines()[-1])))
    n = rows[0][1]['train_examples']
    med = statistics.median
    print(f'CIFAR-10 ResNet-18, batch {args.batch}, {n:,} training images '
          f'({args.data_dir or "random, python format"}), medians of {args.rounds} '
          f'alternating rounds of {args.steps} timed steps')
    print(f"{'framework':<10}{'hand img/s':>12}{'runner img/s':>14}{'runner/hand':>13}"
          f"{'(per CPU s)':>13}{'pipeline img/s':>16}{'pipeline/model':>16}")
    for fw, r in rows:
        hand = [med(v[i] for v in r['hand']) for i in (0, 1)]
        runner = [med(v[i] for v in r['runner']) for i in (0, 1)]
        # Per-round ratios (each runner round against the hand round just before it).
        ratio = [med(b[i] / a[i] for a, b in zip(r['hand'], r['runner'], strict=True))
                 for i in (0, 1)]
        pipeline = med(r['pipeline'])
        print(f'{fw:<10}{hand[0]:>12.1f}{runner[0]:>14.1f}{ratio[0]:>13.3f}{ratio[1]:>13.3f}'
              f'{pipeline:>16.0f}{pipeline / runner[0]:>15.0f}x')
    for fw, r in rows:
        print(f"  {fw} rounds (img/s wall | per CPU s): "
              f"hand {[(round(a, 1), round(b, 1)) for a, b in r['hand']]}, "
              f"runner {[(round(a, 1), round(b, 1)) for a, b in r['runner']]}, "
              f"pipeline {[round(v) for v in r['pipeline']]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workload', choices=['mnist', 'cifar10'], default='mnist')
    parser.add_argument('--steps', type=int, help='timed steps (default 1500 MNIST, 8 CIFAR)')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--frameworks', default='jax,pytorch')
    parser.add_argument('--batch', type=int, default=32, help='CIFAR batch size')
    parser.add_argument('--data_dir', help='CIFAR-10 to read (default: random images)')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.workload == 'cifar10':
        args.steps = args.steps or 8
        if args.child:
            rates = measure_cifar(args.frameworks, args.batch, args.steps, args.rounds,
                                  args.data_dir)
            print(json.dumps(rates))
        else:
            main_cifar(args)
        return
    args.steps = args.steps or 1500
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
