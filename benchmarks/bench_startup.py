"""Start-up and peak memory of a one-step run: the runner against the framework floor.

    python benchmarks/bench_startup.py [--rounds 3] [--frameworks jax,pytorch]
                                       [--data sample,full] [--data_dir DIR]

For each framework and data set, alternating process by process (this machine
is shared and noisy), it launches fresh interpreters and measures:

* floor: a bare script that imports the framework, builds the same MLP
  (784-128-sigmoid-10) and Adam, reads the same training images into one uint8
  array (any trainer holds its training set), normalises one batch of 1024 and
  runs one step. Nothing a runner could leave out is in it.
* runner: ``python -m algorithmic_efficiency.submission_runner`` with the
  baseline submission, ``--tuning_ruleset=self --max_global_steps=1`` and a
  ``--log_dir`` (recorder, telemetry sampler, summary: the default run).

For both: launch -> end of step 1 (the parent's clock before ``Popen`` to the
floor's clock after its synchronised step, or to the runner's first row's
``wall_time``: when step 1's interval ended), launch -> exit, and the peak RSS
of that process (``wait4``'s ``ru_maxrss``, the child's own). Medians of the
rounds. The goals: runner step 1 <= floor + 1.0 s; runner peak RSS <= 450 MiB on
full MNIST and <= 1.15x the floor's.

Data: ``sample`` is the embedded 5,000-image sample (no ``--data_dir``);
``full`` is 60,000 / 10,000 IDX files (``.gz``, as downloaded): ``--data_dir``
if given, else written to a temp dir by tiling the sample's images. The
runner's first full-MNIST run builds the data cache next to the files; it is
reported separately ("first run") and the rounds measure the cached path.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH = 1024

# The floor: what a user's own one-step script costs. A trainer must hold its
# training set, so the floor reads it into memory too (uint8, the leanest form,
# straight into one array: no float copy, no cache), then normalises one batch.
_FLOOR_DATA = r'''
import gzip, sys, time
import numpy as np
data_dir = sys.argv[2]
if data_dir:  # the IDX train files (gz or plain)
    op = lambda n: (gzip.open if n.endswith('.gz') else open)(n, 'rb')
    with op(sys.argv[3]) as f:
        n = int.from_bytes(f.read(16)[4:8], 'big')
        images = np.empty((n, 784), np.uint8)
        view, pos = memoryview(images).cast('B'), 0
        while pos < images.size:
            pos += f.readinto(view[pos:])
    with op(sys.argv[4]) as f:
        f.read(8)
        labels = np.frombuffer(f.read(), np.uint8).astype(np.int32)
else:  # the embedded sample's CSV rows (784 pixels, label)
    with gzip.open(sys.argv[3], 'rb') as f:
        rows = np.fromstring(f.read().replace(b'\n', b','), np.int64, sep=',').reshape(-1, 785)
    images, labels = rows[:, :784].astype(np.uint8), rows[:, 784].astype(np.int32)
    del rows
idx = np.random.default_rng(0).permutation(len(labels))[:1024]
x = ((images[idx].astype(np.float32) / 255.0) - 0.1307) / 0.3081
y = labels[idx]
'''

_FLOOR_STEP = {
    'jax': r'''
import flax.linen as nn, jax, jax.numpy as jnp, optax
class MLP(nn.Module):
    @nn.compact
    def __call__(self, v):
        return nn.Dense(10)(nn.sigmoid(nn.Dense(128)(v)))
model = MLP()
# Initial weights drawn in NumPy, as the runner does: flax's eager model.init
# costs ~1.6 s here (one small XLA compilation per op), which no floor needs.
rng = np.random.default_rng(0)
glorot = lambda i, o: rng.uniform(-(6 / (i + o)) ** 0.5, (6 / (i + o)) ** 0.5, (i, o))
params = {'params': {  # flax names the Dense layers in creation order: the outer first
    'Dense_0': {'kernel': glorot(128, 10).astype(np.float32), 'bias': np.zeros(10, np.float32)},
    'Dense_1': {'kernel': glorot(784, 128).astype(np.float32), 'bias': np.zeros(128, np.float32)},
}}
tx = optax.adam(1e-3, b1=0.9, eps=1e-8)
opt_state = tx.init(params)
@jax.jit
def step(params, opt_state, xb, yb):
    def loss_fn(p):
        return optax.softmax_cross_entropy_with_integer_labels(model.apply(p, xb), yb).mean()
    updates, opt_state = tx.update(jax.grad(loss_fn)(params), opt_state, params)
    return optax.apply_updates(params, updates), opt_state
params, opt_state = step(params, opt_state, x, y)
jax.block_until_ready(params)
''',
    'pytorch': r'''
import torch
from torch import nn
model = nn.Sequential(nn.Linear(784, 128), nn.Sigmoid(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
opt.zero_grad(set_to_none=True)
nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y).long()).backward()
opt.step()
''',
}


def floor_code(framework: str) -> str:
    # Data first, as a user's script would; the step prints the time it ended.
    return _FLOOR_DATA + _FLOOR_STEP[framework] + 'print(repr(time.time()))\n'


def embedded_csv() -> str:
    sys.path.insert(0, ROOT)
    from algorithmic_efficiency.workloads.mnist import data  # pylint: disable=import-outside-toplevel

    return data._embedded_csv_path()  # pylint: disable=protected-access


def write_full_mnist(directory: str) -> None:
    """60,000 / 10,000 gzipped IDX files, tiling the embedded sample's images."""
    with gzip.open(embedded_csv(), 'rt') as f:
        rows = [list(map(int, line.split(','))) for line in f if line.strip()]
    pixels = bytes(v for row in rows for v in row[:784])
    labels = bytes(row[784] for row in rows)
    for name, n in (('train', 60000), ('t10k', 10000)):
        reps = -(-n // len(rows))
        with gzip.open(os.path.join(directory, f'{name}-images-idx3-ubyte.gz'), 'wb', 6) as f:
            f.write(struct.pack('>4I', 0x803, n, 28, 28) + (pixels * reps)[: n * 784])
        with gzip.open(os.path.join(directory, f'{name}-labels-idx1-ubyte.gz'), 'wb', 6) as f:
            f.write(struct.pack('>2I', 0x801, n) + (labels * reps)[:n])


def idx_file(directory: str, name: str) -> str:
    for candidate in (name, name + '.gz'):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise SystemExit(f'bench_startup: error: {directory} has no {name}[.gz]; pass a --data_dir '
                     'holding the four MNIST IDX files')


def launch(cmd: list, env: dict) -> tuple:
    """Runs ``cmd``; returns (launch time, exit time, peak RSS MiB, stdout)."""
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        start = time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        end = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f'bench_startup: {cmd[:4]} exited {proc.returncode}:\n{stderr[-3000:]}')
    return start, end, usage.ru_maxrss / 1024, stdout


def run_floor(framework: str, data_dir: str | None, env: dict) -> dict:
    if data_dir:
        files = [idx_file(data_dir, 'train-images-idx3-ubyte'),
                 idx_file(data_dir, 'train-labels-idx1-ubyte')]
    else:
        files = [embedded_csv(), '']
    cmd = [sys.executable, '-c', floor_code(framework), framework, data_dir or '', *files]
    start, end, rss, stdout = launch(cmd, env)
    step1 = float(stdout.strip().splitlines()[-1])
    return {'step1': step1 - start, 'exit': end - start, 'rss': rss}


def run_runner(framework: str, data_dir: str | None, log_dir: str, env: dict,
               extra: tuple = ()) -> dict:
    shutil.rmtree(log_dir, ignore_errors=True)
    cmd = [sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
           f'--workload=mnist_{framework}',
           f'--submission_path={ROOT}/baselines/mnist/mnist_{framework}/submission.py',
           '--tuning_ruleset=self', '--max_global_steps=1', f'--log_dir={log_dir}', *extra]
    if data_dir:
        cmd.append(f'--data_dir={data_dir}')
    start, end, rss, _ = launch(cmd, env)
    with open(os.path.join(log_dir, f'mnist_{framework}', 'run_1', 'metrics.csv'),
              newline='', encoding='utf-8') as f:
        first = next(csv.DictReader(f))
    return {'step1': float(first['wall_time']) - start, 'exit': end - start, 'rss': rss}


# What each round launches, in order: the floor, the runner with its default
# flags (a summary written at the end: pandas), and the runner --nosummary.
KINDS = ('floor', 'runner', 'nosummary')


def run_kind(kind: str, framework: str, data_dir: str | None, log_dir: str, env: dict) -> dict:
    if kind == 'floor':
        return run_floor(framework, data_dir, env)
    return run_runner(framework, data_dir, log_dir, env,
                      ('--nosummary',) if kind == 'nosummary' else ())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--frameworks', default='jax,pytorch')
    parser.add_argument('--data', default='sample,full', help='sample, full or both')
    parser.add_argument('--data_dir', default=None, help='full MNIST IDX files to read')
    args = parser.parse_args()
    frameworks = args.frameworks.split(',')
    datasets = args.data.split(',')
    bad = sorted(set(frameworks) - {'jax', 'pytorch'}) + sorted(set(datasets) - {'sample', 'full'})
    if bad or args.rounds < 1:
        parser.error(f'unknown value(s) {bad or args.rounds}: --frameworks from jax,pytorch, '
                     '--data from sample,full, --rounds >= 1')
    env = {**os.environ, 'PYTHONPATH': ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')}
    with tempfile.TemporaryDirectory(prefix='bench_startup_') as tmp:
        dirs = {'sample': None, 'full': args.data_dir}
        if 'full' in datasets and not args.data_dir:
            dirs['full'] = os.path.join(tmp, 'mnist')
            os.makedirs(dirs['full'])
            write_full_mnist(dirs['full'])
        log_dir = os.path.join(tmp, 'logs')
        results = {}  # (data, fw, kind) -> list of dicts
        first_runs = {}
        # One unmeasured pass first: warms the OS file cache for the frameworks'
        # libraries (the floor profits as much as the runner) and builds the
        # runner's data cache, whose cost is reported as "first run".
        for data in datasets:
            for fw in frameworks:
                run_floor(fw, dirs[data], env)
                first_runs[data, fw] = run_runner(fw, dirs[data], log_dir, env)
        for _ in range(args.rounds):
            for data in datasets:
                for fw in frameworks:
                    for kind in KINDS:
                        r = run_kind(kind, fw, dirs[data], log_dir, env)
                        results.setdefault((data, fw, kind), []).append(r)
    print_tables(results, first_runs, datasets, frameworks, args.rounds)


def print_tables(results, first_runs, datasets, frameworks, rounds) -> None:
    def med(data, fw, kind, key):
        return statistics.median(r[key] for r in results[data, fw, kind])

    print(f'One-step runs: medians of {rounds} alternating rounds. Seconds from launch; '
          'runner = default flags (summary at the end), nosummary = --nosummary')
    print(f"{'data':<7}{'framework':<10}{'floor step1':>12}{'runner step1':>13}{'diff':>8}"
          f"{'floor exit':>11}{'runner exit':>12}{'nosummary exit':>15}")
    for data in datasets:
        for fw in frameworks:
            f1, r1 = med(data, fw, 'floor', 'step1'), med(data, fw, 'runner', 'step1')
            print(f'{data:<7}{fw:<10}{f1:>11.2f}s{r1:>12.2f}s{r1 - f1:>+7.2f}s'
                  f"{med(data, fw, 'floor', 'exit'):>10.2f}s"
                  f"{med(data, fw, 'runner', 'exit'):>11.2f}s"
                  f"{med(data, fw, 'nosummary', 'exit'):>14.2f}s")
    print('Peak RSS of the process (MiB), and its ratio to the floor\'s')
    print(f"{'data':<7}{'framework':<10}{'floor':>7}{'runner':>8}{'ratio':>7}"
          f"{'nosummary':>11}{'ratio':>7}")
    for data in datasets:
        for fw in frameworks:
            fm = med(data, fw, 'floor', 'rss')
            rm, nm = med(data, fw, 'runner', 'rss'), med(data, fw, 'nosummary', 'rss')
            print(f'{data:<7}{fw:<10}{fm:>7.0f}{rm:>8.0f}{rm / fm:>7.2f}{nm:>11.0f}{nm / fm:>7.2f}')
    print('Rounds (step 1, s):')
    for data in datasets:
        for fw in frameworks:
            lists = ', '.join(
                f"{kind} {[round(r['step1'], 2) for r in results[data, fw, kind]]}"
                for kind in KINDS)
            first = first_runs[data, fw]
            print(f'  {data} {fw}: {lists}; first runner run (builds the data cache): '
                  f"step1 {first['step1']:.2f} s, {first['rss']:.0f} MiB")


if __name__ == '__main__':
    main()
