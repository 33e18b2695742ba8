"""Steps/s of the multi-device paths against the single-device path they replace.

    python benchmarks/bench_multidevice.py [--steps 200] [--rounds 10]

Prints, in one run (each part in its own process, since JAX fixes its device
count at start-up and torchrun starts its own processes):

* JAX, one device: the baseline's step through the sharded path (parameters
  replicated on a one-device mesh; NumPy batches, which ``jit`` places on the
  one device) against the single-device path it replaced (parameters from
  ``jnp.asarray``), alternating round by round in one process; the overhead
  is the figure that matters (goal <= 5 %). For information, the mesh path
  with an explicit ``device_put`` of every batch, as with several devices.
* JAX, two simulated CPU devices (``--xla_force_host_platform_device_count=2``),
  for information: on a 2-core machine the devices share the cores.
* PyTorch, one process (the path is unchanged: no DDP without torchrun) and
  two ``torchrun`` processes on gloo, reading the batch two ways: each rank
  gathers its own rows of the global batch (what the workload does), or rank
  0 gathers the whole batch and broadcasts it (what the peer does).

Each figure is the median over rounds of ``steps`` baseline steps (Adam, global
batch 1024) on the embedded MNIST sample, timed from the first step after a
warm-up to a device sync after the last.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from algorithmic_efficiency.workloads import host_devices  # noqa: E402  (framework-free)

BATCH = 1024


def load_baseline(framework):
    path = os.path.join(ROOT, 'baselines', 'mnist', f'mnist_{framework}', 'submission.py')
    module_spec = importlib.util.spec_from_file_location(f'submission_{framework}', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def timed_steps(workload, submission, params, opt, queue, steps, sync):
    """Seconds for ``steps`` baseline steps (after one warm-up step), and the new state."""
    state = None
    opt, params, state = submission.update_params(
        workload, params, None, state, None, next(queue), workload.loss_type, opt, [], 0, None)
    sync(params)
    start = time.perf_counter()
    for step in range(steps):
        opt, params, state = submission.update_params(
            workload, params, None, state, None, next(queue), workload.loss_type, opt, [],
            step, None)  # fmt: skip
    sync(params)
    return time.perf_counter() - start, params, opt


# --- JAX (run in a child process per device count).


def jax_worker(devices, steps, rounds):
    host_devices.prepare(os.environ, devices)
    import jax  # pylint: disable=import-outside-toplevel
    import jax.numpy as jnp  # pylint: disable=import-outside-toplevel

    from algorithmic_efficiency.workloads import jax_utils
    from algorithmic_efficiency.workloads.mnist import workload as mnist_base
    from algorithmic_efficiency.workloads.mnist.mnist_jax import workload as jax_workload

    class SingleDevice(jax_workload.MnistWorkload):
        """The path before the mesh: parameters from jnp.asarray, NumPy batches into jit."""

        def init_model_fn(self, rng):
            numpy_params = mnist_base.init_mlp_params(jax_workload.seed_from_key(rng))
            params = jax.tree_util.tree_map(jnp.asarray, {'params': numpy_params})
            self._param_shapes = jax_utils.param_shapes(params)
            self._param_types = jax_utils.param_types(params)
            return params, None

        def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
            for batch in self.numpy_train_batches(data_rng, data_dir, global_batch_size,
                                                  normalise=False):
                yield {'inputs': self._normalise(batch['inputs']), 'targets': batch['targets']}

    class DevicePutEveryBatch(jax_workload.MnistWorkload):
        """The mesh path with an explicit ``device_put`` of every batch even on one device."""

        def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
            for batch in self.numpy_train_batches(data_rng, data_dir, global_batch_size,
                                                  normalise=False):
                batch = self.mesh.shard_batch(batch)
                yield {'inputs': self._normalise(batch['inputs']), 'targets': batch['targets']}

    submission = load_baseline('jax')
    variants = {'sharded': jax_workload.MnistWorkload()}
    if devices == 1:
        variants['single_device'] = SingleDevice()
        variants['device_put'] = DevicePutEveryBatch()
    for workload in variants.values():
        workload.use_devices(devices)
        workload.prepare_data(None)
    rates = {name: [] for name in variants}
    for r in range(rounds):
        # Alternating, in ABBA order: the machine is shared and noisy.
        order = list(variants.items())
        for name, workload in order if r % 2 == 0 else order[::-1]:
            params, _ = workload.init_model_fn(jax.random.PRNGKey(0))
            opt = submission.init_optimizer_state(workload, params, None, None, None)
            queue = workload.build_input_queue(0, 'train', None, BATCH)
            seconds, _, _ = timed_steps(workload, submission, params, opt, queue, steps,
                                        jax.block_until_ready)
            rates[name].append(steps / seconds)
    print(json.dumps({'devices': len(jax.devices()), 'rates': rates}))


# --- PyTorch (one process, or each torchrun rank).


def pytorch_worker(steps, rounds):
    import torch  # pylint: disable=import-outside-toplevel
    import torch.distributed as dist  # pylint: disable=import-outside-toplevel

    from algorithmic_efficiency.sweep import devices
    from algorithmic_efficiency.workloads import pytorch_dist
    from algorithmic_efficiency.workloads.mnist.mnist_pytorch import workload as torch_workload

    world = devices.launched_world_size(os.environ)
    processes = pytorch_dist.TorchProcesses() if world > 1 else None
    submission = load_baseline('pytorch')

    class Broadcast(torch_workload.MnistWorkload):
        """Rank 0 gathers the whole global batch and broadcasts it; each rank keeps its rows."""

        def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
            p = self._processes
            rows = pytorch_dist.shard_slice(global_batch_size, p.rank, p.world_size)
            batches = self.numpy_train_batches(data_rng, data_dir, global_batch_size)
            x = torch.empty(global_batch_size, 28 * 28)
            y = torch.empty(global_batch_size, dtype=torch.int32)
            while True:
                if p.rank == 0:
                    batch = next(batches)
                    x.copy_(torch.from_numpy(batch['inputs']).reshape(global_batch_size, -1))
                    y.copy_(torch.from_numpy(batch['targets']))
                dist.broadcast(x, 0, group=p.trial_group)
                dist.broadcast(y, 0, group=p.trial_group)
                yield {'inputs': x[rows].clone(), 'targets': y[rows].long()}

    variants = {'own_rows': torch_workload.MnistWorkload()}
    if processes is not None:
        variants['rank0_broadcast'] = Broadcast()
    for workload in variants.values():
        workload.use_devices(None, processes)
        workload.prepare_data(None)
    rates = {name: [] for name in variants}
    for r in range(rounds):
        order = list(variants.items())
        for name, workload in order if r % 2 == 0 else order[::-1]:
            if processes is not None:
                processes.begin_trial()
            params, _ = workload.init_model_fn(0)
            opt = submission.init_optimizer_state(workload, params, None, None, None)
            queue = workload.build_input_queue(0, 'train', None, BATCH)
            seconds, params, opt = timed_steps(
                workload, submission, params, opt, queue, steps, workload.sync_device)
            if processes is not None:
                seconds = processes.agree_max([seconds])[0]
                del params, opt, queue
                processes.end_trial({'failed': False})
            rates[name].append(steps / seconds)
    if processes is None or processes.rank == 0:
        print(json.dumps({'processes': world, 'threads': torch.get_num_threads(),
                          'rates': rates}))
    if processes is not None:
        processes.close()


# --- The parent: runs the parts, prints the table.


def child(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if proc.returncode != 0:
        sys.exit(f'{" ".join(cmd)} failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=200)
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--worker', choices=['jax', 'pytorch'], help=argparse.SUPPRESS)
    parser.add_argument('--devices', type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == 'jax':
        return jax_worker(args.devices, args.steps, args.rounds)
    if args.worker == 'pytorch':
        return pytorch_worker(args.steps, args.rounds)

    me = [sys.executable, os.path.abspath(__file__), f'--steps={args.steps}',
          f'--rounds={args.rounds}']
    env = {k: v for k, v in os.environ.items() if k not in ('XLA_FLAGS', 'PJRT_NPROC')}
    jax1 = child([*me, '--worker=jax', '--devices=1'], env)
    jax2 = child([*me, '--worker=jax', '--devices=2'], env)
    # One thread, as torchrun gives each of its processes (OMP_NUM_THREADS=1): on a
    # shared 2-core machine two intra-op threads mostly wait for each other.
    torch1 = child([*me, '--worker=pytorch'], {**env, 'OMP_NUM_THREADS': '1'})
    torchrun = os.path.join(os.path.dirname(sys.executable), 'torchrun')
    torch2 = child([torchrun, '--standalone', '--nproc_per_node=2', *me[1:],
                    '--worker=pytorch'], env)

    single, sharded = median(jax1['rates']['single_device']), median(jax1['rates']['sharded'])
    # Paired by round (both variants ran back to back): drift in the load cancels.
    ratio = median([s / b for s, b in zip(jax1['rates']['sharded'],
                                          jax1['rates']['single_device'], strict=True)])
    print(f'{args.rounds} rounds of {args.steps} steps (global batch {BATCH}), medians; '
          f'{os.cpu_count()} CPU cores')
    print(f'{"path":<58} {"steps/s":>8}')
    print(f'{"JAX 1 device, single-device path (before)":<58} {single:>8.1f}')
    print(f'{"JAX 1 device, sharded path (mesh of 1)":<58} {sharded:>8.1f}')
    print(f'{"   sharded / single-device (median of per-round ratios)":<58} {ratio:>8.3f}'
          f'   overhead {100 * (1 - ratio):+.1f} % (goal <= 5 %)')
    put = median([p / b for p, b in zip(jax1['rates']['device_put'],
                                        jax1['rates']['single_device'], strict=True)])
    print(f'{"   (device_put of every batch on 1 device) / single-device":<58} {put:>8.3f}')
    print(f'{"JAX 2 simulated CPU devices, sharded path":<58} '
          f'{median(jax2["rates"]["sharded"]):>8.1f}')
    print(f'{"PyTorch 1 process ({} threads)".format(torch1["threads"]):<58} '
          f'{median(torch1["rates"]["own_rows"]):>8.1f}')
    threads = torch2['threads']
    print(f'{f"PyTorch 2 torchrun processes, gloo ({threads} thread each), own rows":<58} '
          f'{median(torch2["rates"]["own_rows"]):>8.1f}')
    print(f'{"PyTorch 2 torchrun processes, gloo, rank 0 broadcasts":<58} '
          f'{median(torch2["rates"]["rank0_broadcast"]):>8.1f}')
    own_vs_broadcast = median([a / b for a, b in zip(torch2['rates']['own_rows'],
                                                     torch2['rates']['rank0_broadcast'],
                                                     strict=True)])
    print(f'{"   own rows / rank 0 broadcasts (median of per-round ratios)":<58} '
          f'{own_vs_broadcast:>8.3f}')
    print('all rounds:', json.dumps({'jax1': jax1['rates'], 'jax2': jax2['rates'],
                                     'torch1': torch1['rates'], 'torch2': torch2['rates']}))


if __name__ == '__main__':
    main()
