"""Framework memory columns (framework.<i>.mem.*): the allocator's view next to NVML's.

Neither framework keeps allocator statistics on the CPU, so on this machine
the columns are absent (checked for real); the GPU code paths are checked
with fake devices at the framework boundary (no GPU is lent here).
"""
import types

import jax
import pytest
import torch

from algorithmic_efficiency.workloads import jax_utils

from algorithmic_efficiency.workloads import pytorch_utils


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
    device = torch.device('cuda', 1)
    assert pytorch_utils.memory_stats(device) == {
        'framework.1.mem.in_use_bytes': 100,
        'framework.1.mem.peak_bytes': 300,
        'framework.1.mem.reserved_bytes': 2048,
        'framework.1.mem.peak_reserved_bytes': 4096,
    }
    pytorch_utils.reset_peak(device)
    pytorch_utils.reset_peak(torch.device('cpu'))
    assert calls == [device]


@pytest.mark.parametrize('name', ['mnist_jax', 'mnist_pytorch'])
def test_workloads_forward_to_the_helpers(name):
    from algorithmic_efficiency.workloads import registry
    w = registry.load_workload(name, name.split('_')[1])
    assert w.memory_stats() == {}  # CPU here
