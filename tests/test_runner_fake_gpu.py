"""A real PyTorch sweep on the CPU with a FAKE NVML, through the whole recorder.

No GPU is lent on this machine, so NVML is faked at its import boundary
(``sys.modules['pynvml']``, see fake_nvml.py); everything else is real:
training, the telemetry sampler, the recorder, the CSV writer.
"""

import json
import os
import sys

import pandas as pd
import pytest
from fake_nvml import make_fake_pynvml, two_devices

from algorithmic_efficiency import submission_runner
from algorithmic_efficiency.telemetry import sampler as telemetry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# update_params flips device 1 into failure for the first step only, so the
# first row has no GPU readings and the final one does: an NVML error in
# the middle of a trial, then a recovery that brings new columns.
FLAKY_GPU_SUBMISSION = '''
import os, runpy, sys
_base = runpy.run_path(os.path.join({root!r}, 'baselines/mnist/mnist_pytorch/submission.py'))
get_batch_size = _base['get_batch_size']
data_selection = _base['data_selection']
init_optimizer_state = _base['init_optimizer_state']

def update_params(workload, params, types, state, hp, batch, loss_type, opt, evals, step, rng):
    sys.modules['pynvml'].devices[1].fail = step < 1
    return _base['update_params'](workload, params, types, state, hp, batch, loss_type, opt,
                                  evals, step, rng)
'''


@pytest.fixture
def flags(tmp_path):
    sub = tmp_path / 'submission.py'
    sub.write_text(FLAKY_GPU_SUBMISSION.format(root=ROOT))
    values = {name: submission_runner.FLAGS[name].default
              for name in submission_runner.RUNNER_FLAGS}
    space = os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json')
    values.update(framework='pytorch', workload='mnist_pytorch', submission_path=str(sub),
                  tuning_search_space=space,
                  num_tuning_trials=1, max_global_steps=3, log_dir=str(tmp_path / 'logs'),
                  rng_seed=0, telemetry_interval_sec=0.05)
    return values


def test_fake_gpu_columns_error_and_recovery(flags, monkeypatch):
    devices = two_devices()
    module = make_fake_pynvml(devices)
    module.devices = devices
    monkeypatch.setitem(sys.modules, 'pynvml', module)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '1')  # only the H100 is ours
    telemetry._reset_nvml_for_tests()
    try:
        assert submission_runner.run(flags) == 0
    finally:
        telemetry._reset_nvml_for_tests()
    wdir = os.path.join(flags['log_dir'], 'mnist_pytorch')
    meta = json.load(open(os.path.join(wdir, 'metadata.json')))
    assert meta['gpu_count'] == 1
    assert meta['gpu_model_name'] == 'NVIDIA H100 80GB HBM3'
    assert meta['gpu_driver'] == '550.54.15'
    assert sorted(os.listdir(os.path.join(wdir, 'run_1'))) == ['metrics.csv', 'trial.json']
    df = pd.read_csv(os.path.join(wdir, 'run_1', 'metrics.csv'))
    assert df['global_step'].tolist() == [1, 3]
    assert df['gpu.count'].tolist() == [1, 1]
    # Row 1: NVML failed for our device -> its columns are empty, the trial went on.
    first, last = df.iloc[0], df.iloc[1]
    assert pd.isna(first['gpu.0.compute.util']) and pd.isna(first['gpu.0.mem.used'])
    # Row 2: device 1's values, under index 0 (its place in CUDA_VISIBLE_DEVICES), in
    # the guide's units: fractions for utilisation, MiB for memory.
    assert last['gpu.0.compute.util'] == pytest.approx(0.9)
    assert last['gpu.0.mem.util'] == pytest.approx(0.1)
    assert last['gpu.0.mem.total'] == 81920 and last['gpu.0.mem.used'] == 8192
    assert last['gpu.0.mem.free'] == 81920 - 8192
    assert last['gpu.0.temp.current'] == 70
    assert last['gpu.0.power.current_watts'] == pytest.approx(300)
    assert last['gpu.0.energy.trial_joules'] > 0
    assert last['gpu.avg.compute.util'] == pytest.approx(0.9)
    assert not [c for c in df.columns if c.startswith('gpu.1.')]
    # The guide's GPU columns sit after gpu.count, in its order.
    cols = list(df.columns)
    assert cols.index('gpu.count') < cols.index('gpu.0.compute.util') < cols.index(
        'gpu.0.mem.util') < cols.index('gpu.0.mem.total')
    assert json.load(open(os.path.join(wdir, 'run_1', 'trial.json')))['status'] == 'complete'
