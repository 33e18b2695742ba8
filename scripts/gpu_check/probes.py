"""The framework side of the GPU check: small jobs run in a GPU venv, each printing one JSON line.

  python -m gpu_check.probes versions jax|pytorch   # library, CUDA, cuDNN, NCCL versions
  python -m gpu_check.probes sampler SECONDS        # the telemetry Sampler under a matmul load
  torchrun --standalone --nproc_per_node=1 -m gpu_check.probes nccl   # NCCL via the project

The orchestrator (``gpu_check.main``) runs these as subprocesses in the framework's own
venv (``.venv-gpu/jax`` or ``.venv-gpu/pytorch``) and parses the last line of output.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import time


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions_jax() -> dict:
    import jax  # pylint: disable=import-outside-toplevel

    devices = jax.devices()
    return {
        'jax': jax.__version__,
        'jaxlib': _version('jaxlib'),
        'jax-cuda12-plugin': _version('jax-cuda12-plugin'),
        'nvidia-cudnn-cu12': _version('nvidia-cudnn-cu12'),
        'nvidia-nccl-cu12': _version('nvidia-nccl-cu12'),
        'platform': devices[0].platform,
        'platform_version': devices[0].client.platform_version,
        'device_kind': devices[0].device_kind,
        'device_count': len(devices),
    }


def versions_pytorch() -> dict:
    import torch  # pylint: disable=import-outside-toplevel

    available = torch.cuda.is_available()
    return {
        'torch': torch.__version__,
        'torch.version.cuda': torch.version.cuda,  # None: a CPU build was installed
        'cudnn': torch.backends.cudnn.version() if available else None,
        'nccl': '.'.join(map(str, torch.cuda.nccl.version())) if available else None,
        'triton': _version('triton'),
        'cuda_available': available,
        'device_kind': torch.cuda.get_device_name(0) if available else None,
        'device_count': torch.cuda.device_count(),
    }


def sampler(seconds: float) -> dict:
    """The project's telemetry Sampler for ``seconds`` while float32 matmuls keep GPU 0 busy."""
    import torch  # pylint: disable=import-outside-toplevel

    from algorithmic_efficiency.telemetry import sampler as telemetry

    a = torch.randn(8192, 8192, device='cuda')
    b = torch.randn(8192, 8192, device='cuda')
    torch.cuda.synchronize()
    with telemetry.Sampler(interval_sec=0.5) as s:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            for _ in range(10):
                c = a @ b
            torch.cuda.synchronize()  # the clock must see finished work
        row = s.end_interval()
        elapsed = time.monotonic() - start
    del c
    return {'seconds': elapsed, 'row': row}


def nccl() -> dict:
    """Joins torchrun's processes through the project's TorchProcesses (NCCL on CUDA), then
    one all-reduce and one DDP backward step on the GPU."""
    import torch  # pylint: disable=import-outside-toplevel
    import torch.distributed as dist  # pylint: disable=import-outside-toplevel

    from algorithmic_efficiency.workloads import pytorch_dist

    processes = pytorch_dist.TorchProcesses(timeout_sec=60)
    try:
        processes.begin_trial()
        tensor = torch.full((4,), float(processes.rank + 1), device=processes.device)
        total = processes.all_reduce_sum(tensor)
        expected = float(sum(range(1, processes.world_size + 1)))
        model = pytorch_dist.wrap_model(torch.nn.Linear(16, 4).to(processes.device), processes)
        model(torch.randn(8, 16, device=processes.device)).square().mean().backward()
        grad = pytorch_dist.unwrap(model).weight.grad
        result = {
            'backend': processes.backend,
            'world_size': processes.world_size,
            # On a CPU (the tests) TorchProcesses takes gloo; the rule then names that.
            'device': (torch.cuda.get_device_name(processes.device)
                       if processes.device.type == 'cuda' else 'cpu'),
            'nccl_version': ('.'.join(map(str, torch.cuda.nccl.version()))
                             if processes.backend == 'nccl' else None),
            'all_reduce': float(total[0]),
            'expected_all_reduce': expected,
            'ddp_grad_finite': bool(torch.isfinite(grad).all()),
            'dist_backend': dist.get_backend(processes.trial_group),
        }
        processes.end_trial({})
        return result
    finally:
        processes.close()


def main(argv: list[str]) -> int:
    job = argv[1] if len(argv) > 1 else ''
    if job == 'versions' and len(argv) == 3 and argv[2] in ('jax', 'pytorch'):
        out = versions_jax() if argv[2] == 'jax' else versions_pytorch()
    elif job == 'sampler' and len(argv) == 3:
        out = sampler(float(argv[2]))
    elif job == 'nccl':
        out = nccl()
    else:
        print('usage: probes versions jax|pytorch | sampler SECONDS | nccl', file=sys.stderr)
        return 2
    print(json.dumps(out, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
