"""Energy over the timed intervals: RAPL on a fake sysfs tree, NVML with a fake module.

RAPL's ``energy_uj`` is not readable on this machine (and there is no GPU),
so the counters are files the tests write (RAPL) or a fake ``pynvml``
(``tests/fake_nvml.py``). A real sweep with a fake RAPL package then checks
``energy.submission_joules`` row by row, the metadata, the end table, the
status and the summary files.
"""
import csv
import json
import math
import os
import sys

import pytest
from fake_nvml import make_fake_pynvml, two_devices

from algorithmic_efficiency import sweep
from algorithmic_efficiency.analysis import loader, status
from algorithmic_efficiency.telemetry import energy, rapl
from algorithmic_efficiency.telemetry import sampler as telemetry

SGD = 'baselines/mnist/sgd_nesterov'


def read_csv_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def make_domain(root, name, energy_uj, max_range_uj=2**32, label=None):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    if energy_uj is not None:
        with open(os.path.join(d, 'energy_uj'), 'w') as f:
            f.write(f'{energy_uj}\n')
    if max_range_uj is not None:
        with open(os.path.join(d, 'max_energy_range_uj'), 'w') as f:
            f.write(f'{max_range_uj}\n')
    with open(os.path.join(d, 'name'), 'w') as f:
        f.write((label or name) + '\n')
    return os.path.join(d, 'energy_uj')


def set_counter(path, value):
    with open(path, 'w') as f:
        f.write(f'{value}\n')


@pytest.fixture(autouse=True)
def _no_gpu(monkeypatch):
    """No NVML unless a test injects the fake one."""
    telemetry._reset_nvml_for_tests()
    monkeypatch.setitem(sys.modules, 'pynvml', None)
    yield
    telemetry._reset_nvml_for_tests()


def test_counter_delta_wraps_once():
    assert rapl.counter_delta(100, 350, 1000) == 250
    assert rapl.counter_delta(900, 100, 1000) == 200  # 900 -> 1000 -> 0 -> 100
    assert rapl.counter_delta(5, 5, 1000) == 0


def test_only_readable_package_domains(tmp_path):
    root = str(tmp_path)
    make_domain(root, 'intel-rapl:0', 10, label='package-0')
    make_domain(root, 'intel-rapl:0:0', 5, label='core')  # a subdomain: inside package 0
    make_domain(root, 'intel-rapl:1', 20)
    make_domain(root, 'intel-rapl:2', None)  # energy_uj unreadable (root-only on most hosts)
    make_domain(root, 'intel-rapl:3', 7, max_range_uj=None)  # no range: can't unwrap
    make_domain(root, 'intel-rapl-mmio:0', 7)  # the MMIO interface repeats package 0
    domains = rapl.find_domains(root)
    assert [(d.name, d.label) for d in domains] == [
        ('intel-rapl:0', 'package-0'), ('intel-rapl:1', 'intel-rapl:1')]
    assert rapl.find_domains(str(tmp_path / 'missing')) == []


def test_meter_sums_rapl_over_intervals_only(tmp_path):
    root = str(tmp_path)
    p0 = make_domain(root, 'intel-rapl:0', 0, max_range_uj=10_000_000)
    p1 = make_domain(root, 'intel-rapl:1', 1_000_000)
    meter = energy.EnergyMeter(root)
    assert meter.sources == ['rapl'] and meter.joules == 0.0
    meter.begin()
    set_counter(p0, 3_000_000)
    set_counter(p1, 1_500_000)
    assert meter.end() == pytest.approx(3.5)
    # An eval between intervals: its energy must not count.
    set_counter(p0, 9_000_000)
    meter.begin()
    set_counter(p0, 500_000)  # wrapped: 9 -> 10 -> 0 -> 0.5 J = 1.5 J
    set_counter(p1, 2_500_000)  # 1 J
    assert meter.end() == pytest.approx(3.5 + 2.5)
    assert meter.end() == pytest.approx(6.0)  # an end without a begin adds nothing


def test_meter_without_sources_reports_nothing(tmp_path):
    meter = energy.EnergyMeter(str(tmp_path))
    assert meter.sources == [] and meter.joules is None
    meter.begin()
    assert meter.end() is None
    assert energy.sources(str(tmp_path)) == []


def test_meter_adds_gpu_counters(tmp_path, monkeypatch):
    devices = two_devices()
    monkeypatch.setitem(sys.modules, 'pynvml', make_fake_pynvml(devices))
    telemetry._reset_nvml_for_tests()
    p0 = make_domain(str(tmp_path), 'intel-rapl:0', 0)
    meter = energy.EnergyMeter(str(tmp_path))
    assert meter.sources == ['nvml', 'rapl']
    meter.begin()
    set_counter(p0, 2_000_000)
    # The fake counter climbs 5,000 mJ per read: 5 J per GPU per interval.
    assert meter.end() == pytest.approx(2.0 + 2 * 5.0)
    devices[1].fail = True
    meter.begin()
    assert meter.end() == pytest.approx(12.0)  # a failed reading: interval not counted


@pytest.fixture(scope='module')
def rapl_sweep(tmp_path_factory):
    """A real sweep (JAX, SGD, 2 trials) with one fake RAPL package.

    The fake counter climbs 1 J per read and wraps at 2.5 J, so every timed
    interval (one read at its start, one at its end) costs exactly 1 J.
    """
    tmp = tmp_path_factory.mktemp('rapl')
    root, log_dir = str(tmp / 'powercap'), str(tmp / 'logs')
    make_domain(root, 'intel-rapl:0', 0, max_range_uj=2_500_000)
    mp = pytest.MonkeyPatch()
    reads = iter(range(10**6))
    mp.setattr(rapl, 'POWERCAP_ROOT', root)
    mp.setattr(rapl.RaplCounter, 'read', lambda self: [next(reads) * 1_000_000 % 2_500_000])
    telemetry._reset_nvml_for_tests()
    mp.setitem(sys.modules, 'pynvml', None)
    try:
        code = sweep.run(dict(
            workload='mnist_jax', submission_path=f'{SGD}/mnist_jax/submission.py',
            tuning_search_space=f'{SGD}/tuning_search_space.json', num_tuning_trials=2,
            rng_seed=0, max_global_steps=60, log_dir=log_dir))
    finally:
        mp.undo()
        telemetry._reset_nvml_for_tests()
    assert code == 0
    return os.path.join(log_dir, 'mnist_jax')


def test_sweep_records_energy_per_interval(rapl_sweep):
    meta = json.load(open(os.path.join(rapl_sweep, 'metadata.json')))
    assert meta['energy.sources'] == ['rapl']
    for run in ('run_1', 'run_2'):
        rows = read_csv_rows(os.path.join(rapl_sweep, run, 'metrics.csv'))
        # Eval n closes the n-th timed interval: n J so far.
        assert [float(r['energy.submission_joules']) for r in rows] == [
            float(n) for n in range(1, len(rows) + 1)]


def test_energy_beside_time_in_status_and_summary(rapl_sweep):
    trials = loader.load_trials(rapl_sweep)
    for _, t in trials.iterrows():
        rows = read_csv_rows(os.path.join(t['run_dir'], 'metrics.csv'))
        hits = [float(r['energy.submission_joules']) for r in rows if r['goal_reached'] == 'True']
        assert t['submission_energy_joules'] == float(len(rows))
        if hits:
            assert t['energy_to_target'] == hits[0]
        else:
            assert t['energy_to_target'] != t['energy_to_target']  # NaN
    text = status.format_status(rapl_sweep)
    assert 'to_target_J' in text
    st = {r['description']: r['value']
          for r in read_csv_rows(os.path.join(rapl_sweep, 'summary', 'run_status.csv'))}
    reached = trials['energy_to_target'].dropna()
    expected = repr(float(reached.min())) if len(reached) else 'inf'
    assert st['score_energy_to_target_joules'] == expected
    config = read_csv_rows(os.path.join(rapl_sweep, 'summary', 'config_data.csv'))
    header = list(config[0])
    assert header.index('energy_to_target') == header.index('time_to_target') + 1


def test_end_table_energy_column():
    from algorithmic_efficiency.training.results import SweepResult, TrialResult, energy_to_target
    t1 = TrialResult(run_idx=1, hyperparameters={}, seed=1)
    t1.evals = [{'goal_reached': False, 'energy.submission_joules': 1.0},
                {'goal_reached': True, 'energy.submission_joules': 2.5}]
    t1.time_to_target, t1.status, t1.stop_reason = 3.0, 'complete', 'target'
    t2 = TrialResult(run_idx=2, hyperparameters={}, seed=2)
    t2.evals = [{'goal_reached': False, 'energy.submission_joules': 4.0}]
    t2.status, t2.stop_reason = 'complete', 'budget'
    result = SweepResult(trials=[t1, t2])
    # Measured, never reached: no energy to target (NaN), as in trials.csv (scores.py).
    assert energy_to_target(t1) == 2.5 and math.isnan(energy_to_target(t2))
    text = sweep.format_summary('mnist_jax', result)
    assert 'to_target_J' in text.splitlines()[1]
    assert any(line.endswith('least energy to target: 2.5 J') for line in text.splitlines())
    t1.evals = [{'goal_reached': True}]
    assert energy_to_target(t1) is None
    assert 'to_target_J' not in sweep.format_summary('mnist_jax', SweepResult(trials=[t1]))
