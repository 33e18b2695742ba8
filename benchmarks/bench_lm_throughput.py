"""The language model's steps/s and peak memory through the runner against a hand-written loop.

    python benchmarks/bench_lm_throughput.py [--steps 20] [--rounds 2] [--batch 16]

For each framework, alternating round by round (this machine is shared and
noisy), each measurement in a fresh process so its peak memory is its own:

* hand: what a user would write for the same ``lm_tiny`` model -- the corpus
  bytes in one array, random windows per step, a jitted optax AdamW step
  (JAX) or an eager ``torch.optim.AdamW`` step (PyTorch);
* runner: ``trainer.train_once`` with the AdamW baseline
  (``baselines/lm/lm_<fw>``) and a real ``Recorder`` (metrics.csv,
  telemetry sampler) in a temp dir.

Both time the same number of steps after the first (compiling) step: the
runner from the end of the eval after step 1 to the start of the final eval.
Prints steps/s side by side, runner/hand per round and its median (goal
>= 0.95), and each process's peak RSS (goal: runner <= hand + 10 %).
"""

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

HP = {'learning_rate': 1e-3, 'one_minus_beta1': 0.1, 'beta2': 0.95, 'weight_decay': 0.1,
      'warmup_fraction': 0.05}


def corpus_tokens():
    from algorithmic_efficiency.workloads.lm import corpus

    return corpus.load_corpus()[0]['train'].segments[0]


def batches(tokens, batch, seq, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    offsets = np.arange(seq + 1)
    while True:
        w = tokens[rng.integers(0, len(tokens) - seq - 1, batch)[:, None] + offsets]
        yield w[:, :-1].astype(np.int32), w[:, 1:].astype(np.int32)


def hand_jax(steps, batch):
    import jax
    import jax.numpy as jnp
    import optax

    from algorithmic_efficiency.workloads.lm import config, init
    from algorithmic_efficiency.workloads.lm.lm_jax import models

    cfg = config.TINY
    model = models.Transformer(cfg)
    params = models.to_jax(init.init_params(cfg, 0))
    tx = optax.adamw(HP['learning_rate'], b1=0.9, b2=0.95, weight_decay=0.1)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, x, y):
        def loss_fn(p):
            logits = model.apply({'params': p}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        grads = jax.grad(loss_fn)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    data = batches(corpus_tokens(), batch, cfg.seq_len)
    x, y = next(data)
    params, opt_state = step(params, opt_state, jnp.asarray(x), jnp.asarray(y))
    jax.block_until_ready(params)
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(data)
        params, opt_state = step(params, opt_state, x, y)
    jax.block_until_ready(params)
    return steps / (time.perf_counter() - start)


def hand_pytorch(steps, batch):
    import torch
    import torch.nn.functional as F

    from algorithmic_efficiency.workloads.lm import config, init
    from algorithmic_efficiency.workloads.lm.lm_pytorch import models

    cfg = config.TINY
    model = models.Transformer(cfg)
    state = init.torch_state_dict(init.init_params(cfg, 0), cfg.num_layers)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    opt = torch.optim.AdamW(model.parameters(), lr=HP['learning_rate'], betas=(0.9, 0.95),
                            weight_decay=0.1)
    data = batches(corpus_tokens(), batch, cfg.seq_len)

    def step():
        x, y = (torch.from_numpy(a).long() for a in next(data))
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x).flatten(0, 1), y.flatten()).backward()
        opt.step()

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - start)


class IntervalLog:
    """Wraps a real TrialRecorder and notes when each training interval starts and ends."""

    def __init__(self, inner):
        self.inner, self.starts, self.ends = inner, [], []

    def begin_interval(self):
        self.inner.begin_interval()
        self.starts.append(time.perf_counter())

    def before_eval(self):
        self.ends.append(time.perf_counter())
        self.inner.before_eval()

    def record_eval(self, row):
        self.inner.record_eval(row)

    def heartbeat(self, state):
        self.inner.heartbeat(state)


def runner(fw, steps, batch):
    from algorithmic_efficiency.recording import recorder as recording
    from algorithmic_efficiency.training import trainer
    from algorithmic_efficiency.workloads import registry

    name = f'lm_tiny_{fw}'
    path = os.path.join(ROOT, f'baselines/lm/lm_{fw}/submission.py')
    spec = importlib.util.spec_from_file_location('lm_baseline', path)
    submission = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(submission)
    submission.get_batch_size = lambda workload_name: batch
    workload = registry.load_workload(name, fw)
    workload.use_devices(None)
    workload.max_eval_windows, workload.max_eval_train_windows = 16, 16  # short untimed evals
    workload.prepare_data(None)
    workload.has_reached_goal = lambda metrics: False  # throughput: never stop at the target
    with tempfile.TemporaryDirectory() as tmp:
        rec = recording.Recorder(tmp, name, mode='overwrite')
        rec.prepare()
        inner = rec.start_trial(1, HP, 0)
        log = IntervalLog(inner)
        result = trainer.train_once(workload, name, fw, submission, HP, 1, 0, trial_log=log,
                                    max_global_steps=steps + 1, progress=lambda m: None)
        rec.finish_trial(inner, result)
    assert result.status == 'complete', result.error
    return (result.global_step - 1) / (log.ends[-1] - log.starts[1])


def child(args):
    """One measurement in this process: prints {'rate', 'max_rss_bytes'} as JSON."""
    if args.mode == 'hand':
        rate = {'jax': hand_jax, 'pytorch': hand_pytorch}[args.framework](args.steps, args.batch)
    else:
        rate = runner(args.framework, args.steps, args.batch)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({'rate': rate, 'max_rss_bytes': rss}))


def measure(fw, mode, steps, batch):
    cmd = [sys.executable, os.path.abspath(__file__), '--child', mode, '--framework', fw,
           '--steps', str(steps), '--batch', str(batch)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--batch', type=int, default=16)
    parser.add_argument('--frameworks', default='jax,pytorch')
    parser.add_argument('--child', dest='mode', choices=['hand', 'runner'])
    parser.add_argument('--framework', default='jax')
    args = parser.parse_args()
    if args.mode:
        return child(args)
    print(f'lm_tiny, batch {args.batch}, {args.steps} timed steps, {args.rounds} round(s); '
          'steps/s (peak RSS MB)')
    for fw in args.frameworks.split(','):
        ratios, mem = [], []
        for r in range(args.rounds):
            hand = measure(fw, 'hand', args.steps, args.batch)
            run = measure(fw, 'runner', args.steps, args.batch)
            ratios.append(run['rate'] / hand['rate'])
            mem.append(run['max_rss_bytes'] / hand['max_rss_bytes'])
            print(f"{fw} round {r + 1}: hand {hand['rate']:.3f} "
                  f"({hand['max_rss_bytes'] / 2**20:.0f}), runner {run['rate']:.3f} "
                  f"({run['max_rss_bytes'] / 2**20:.0f}); runner/hand {ratios[-1]:.3f}, "
                  f'memory {mem[-1]:.3f}', flush=True)
        print(f'{fw}: runner/hand steps/s median {statistics.median(ratios):.3f} (goal >= 0.95); '
              f'peak RSS runner/hand median {statistics.median(mem):.3f} (goal <= 1.10)')


if __name__ == '__main__':
    main()
