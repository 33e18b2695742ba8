"""Framework memory columns (framework.<i>.mem.*): the allocator's view next to NVML's.

Neither framework keeps allocator statistics on the CPU, so on this machine
the columns are absent (checked for real); the GPU code paths are checked
with fake devices at the framework boundary (no GPU is lent here).
"""
import types

import jax
import torch

from algorithmic_efficiency.workloads import jax_utils, pytorch_utils


def test_cpu_reports_no_framework_memory():
    assert jax.local_devices()[0].memory_stats() is None  # XLA's CPU client
    assert jax_utils.memory_stats() == {}
    assert pytorch_utils.memory_stats(torch.device('cpu')) == {}


def test_jax_columns_from_device_memory_stats(monkeypatch):
    stats = {'bytes_in_use': 1000, 'peak_bytes_in_use': 5000, 'bytes_limit': 80_000,
             'num_allocs': 7}
    devices = [types.SimpleNamespace(memory_stats=lambda: stats),
               types.SimpleNamespace(memory_stats=lambda: None)]
    monkeypatch.setattr(jax, 'local_devices', lambda: devices)
    assert jax_utils.memory_stats() == {
        'framework.0.mem.in_use_bytes': 1000,
        'framework.0.mem.peak_bytes': 5000,
        'framework.0.mem.limit_bytes': 80_000,
    }


def test_pytorch_cuda_columns(monkeypatch):
    calls = []
    fake = {'memory_allocated': 100, 'max_memory_allocated': 300, 'memory_reserved': 2048,
            'max_memory_reserved': 4096}
    for name, value in fake.items():
        monkeypatch.setattr(torch.cuda, name, lambda device, v=value: v)
    monkeypatch.setattr(torch.cuda, 'reset_peak_memory_stats', lambda d: calls.append(d))
    monkeypatch.setattr(torch.cuda, 'empty_cache', lambda: calls.append('empty_cache'))
    device = torch.device('cuda', 1)
    assert pytorch_utils.memory_stats(device) == {
        'framework.1.mem.in_use_bytes': 100,
        'framework.1.mem.peak_bytes': 300,
        'framework.1.mem.reserved_bytes': 2048,
        'framework.1.mem.peak_reserved_bytes': 4096,
    }
    pytorch_utils.reset_peak(device)
    pytorch_utils.reset_peak(torch.device('cpu'))
    # The previous trial's cached blocks go back to the driver before the peaks restart.
    assert calls == ['empty_cache', device]


def test_jax_workload_reports_the_allocator_view(monkeypatch):
    # Through the workload, as the trainer reads it: a workload that does not
    # forward to the helper (spec.Workload's default) reports nothing.
    from algorithmic_efficiency.workloads.mnist.mnist_jax import workload as mnist_jax

    w = mnist_jax.MnistWorkload()
    assert w.memory_stats() == {}  # XLA's CPU client: no statistics
    stats = {'bytes_in_use': 1000, 'peak_bytes_in_use': 5000}
    monkeypatch.setattr(jax, 'local_devices', lambda: [types.SimpleNamespace(
        memory_stats=lambda: stats)])
    assert w.memory_stats() == {'framework.0.mem.in_use_bytes': 1000,
                                'framework.0.mem.peak_bytes': 5000}


def test_pytorch_workload_reports_its_own_devices_view(monkeypatch):
    from algorithmic_efficiency.workloads.mnist.mnist_pytorch import workload as mnist_pytorch

    assert mnist_pytorch.MnistWorkload(torch.device('cpu')).memory_stats() == {}
    asked = []
    for name, value in (('memory_allocated', 100), ('max_memory_allocated', 300),
                        ('memory_reserved', 2048), ('max_memory_reserved', 4096)):
        monkeypatch.setattr(torch.cuda, name,
                            lambda device, v=value: asked.append(device) or v)
    device = torch.device('cuda', 1)
    assert mnist_pytorch.MnistWorkload(device).memory_stats() == {
        'framework.1.mem.in_use_bytes': 100,
        'framework.1.mem.peak_bytes': 300,
        'framework.1.mem.reserved_bytes': 2048,
        'framework.1.mem.peak_reserved_bytes': 4096,
    }
    assert asked == [device] * 4  # the workload's device, not another one
