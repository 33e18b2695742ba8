"""One training step of a baseline on a global batch, on 1 or N devices; saves the parameters.

A script the multi-device tests run in fresh processes (never imported by a
test module):

  python tests/multidevice_step.py jax N OUT.npz       # N devices of a one-axis mesh
  python tests/multidevice_step.py pytorch 1 OUT.npz   # one process
  torchrun --standalone --nproc_per_node=2 tests/multidevice_step.py pytorch 2 OUT.npz
  python tests/multidevice_step.py jax N OUT.npz cifar DATA_DIR   # CIFAR-10, ResNet width 8

Each saves the parameters after one step of the baseline's ``update_params``
(same seed, same global batch: 1024 MNIST or 16 CIFAR images) and the eval
after it, from rank 0 (every rank for CIFAR under torchrun: ``OUT.rank<r>.npz``).
"""

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from algorithmic_efficiency.workloads import host_devices  # noqa: E402  (framework-free)


def load_baseline(framework, name='mnist'):
    path = os.path.join(ROOT, 'baselines', name, f'{name}_{framework}', 'submission.py')
    module_spec = importlib.util.spec_from_file_location('submission', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def one_step(workload, submission, rng, data_dir=None, batch_size=1024):
    """The parameters (a flat dict of NumPy arrays) and the eval after one step."""
    import numpy as np  # pylint: disable=import-outside-toplevel

    workload.prepare_data(data_dir)
    params, state = workload.init_model_fn(rng)
    opt = submission.init_optimizer_state(workload, params, state, None, rng)
    batch = next(workload.build_input_queue(7, 'train', data_dir, batch_size))
    opt, params, state = submission.update_params(
        workload, params, workload.model_params_types, state, None, batch,
        workload.loss_type, opt, [], 0, rng,
    )  # fmt: skip
    metrics = workload.eval_model(params, state, rng)
    return params, {'loss': np.float64(metrics['loss']), 'accuracy': metrics['accuracy']}


def main(framework, count, out, name='mnist', data_dir=None):
    import numpy as np  # pylint: disable=import-outside-toplevel

    batch_size = 16 if name == 'cifar' else 1024

    if framework == 'jax':
        host_devices.prepare(os.environ, count)  # before JAX starts
        import jax  # pylint: disable=import-outside-toplevel

        if name == 'cifar':
            from algorithmic_efficiency.workloads.cifar.cifar_jax import workload as cifar_jax

            workload = cifar_jax.CifarWorkload(width=8)
        else:
            from algorithmic_efficiency.workloads.mnist.mnist_jax import workload as jax_workload

            workload = jax_workload.MnistWorkload()
        facts = workload.use_devices(count)
        assert facts['devices.count'] == count, facts
        params, metrics = one_step(workload, load_baseline('jax', name), jax.random.PRNGKey(3),
                                   data_dir, batch_size)
        assert {len(p.sharding.device_set) for p in jax.tree_util.tree_leaves(params)} == {count}
        flat = {
            '/'.join(str(getattr(k, 'key', k)) for k in path): np.asarray(leaf)
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        }
    else:
        from algorithmic_efficiency.workloads import pytorch_dist  # pylint: disable=import-outside-toplevel
        processes = pytorch_dist.TorchProcesses() if count > 1 else None
        if name == 'cifar':
            from algorithmic_efficiency.workloads.cifar.cifar_pytorch import workload as cifar_pt

            workload = cifar_pt.CifarWorkload(width=8)
        else:
            from algorithmic_efficiency.workloads.mnist.mnist_pytorch import workload as mnist_pt

            workload = mnist_pt.MnistWorkload()
        facts = workload.use_devices(None, processes)
        assert facts['devices.count'] == count, facts
        if processes is not None:
            processes.begin_trial()
        params, metrics = one_step(workload, load_baseline('pytorch', name), 3, data_dir,
                                   batch_size)
        inner = pytorch_dist.unwrap(params)
        assert (inner is not params) == (count > 1)  # DDP exactly when distributed
        flat = {k: v.detach().cpu().numpy() for k, v in inner.named_parameters()}
        rank = processes.rank if processes else 0
        if processes is not None:
            del params, inner
            processes.end_trial({'failed': False})
            processes.close()
        if rank != 0:
            if name != 'cifar':
                return
            out = f'{out[:-4]}.rank{rank}.npz'  # every rank's parameters, to compare
    np.savez(out, **flat, **{f'metric/{k}': v for k, v in metrics.items()})


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
