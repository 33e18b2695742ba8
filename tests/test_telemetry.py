"""Tests of the telemetry collectors: readings (psutil, NVML) and the background Sampler.

psutil tests use this machine's real readings (no sensors, no GPU here).
GPU tests inject a FAKE ``pynvml`` module at the import boundary
(``sys.modules['pynvml']``): no GPU is lent on this machine. Sampler tests
inject its clock and its wait (and fake ``psutil.cpu_times`` on that clock),
so they take their samples without sleeping; one test samples for real.
"""
import collections
import logging
import math
import subprocess
import sys
import threading
import time
import types

import psutil
import pytest
from fake_nvml import MIB, FakeDevice, make_fake_pynvml, two_devices  # noqa: F401

from algorithmic_efficiency.telemetry import readings
from algorithmic_efficiency.telemetry import sampler as telemetry


def _burn(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def _assert_clean(row):
    for key, value in row.items():
        assert isinstance(value, (int, float)), key
        assert math.isfinite(value), key


@pytest.fixture(autouse=True)
def _fresh_nvml():
    telemetry._reset_nvml_for_tests()
    yield
    telemetry._reset_nvml_for_tests()


# ----------------------------------------------------------------- psutil ---


def test_snapshot_real_readings():
    telemetry.snapshot()  # Sets the "previous call" baseline.
    _burn(0.3)
    row = telemetry.snapshot()
    _assert_clean(row)
    assert row['mem.total'] == psutil.virtual_memory().total
    assert 0 <= row['mem.percent_used'] <= 100
    assert 0 < row['mem.available'] <= row['mem.total']
    assert 0 < row['cpu.util.avg_percent_since_last'] <= 100
    assert row['proc.cpu.avg_percent_since_last'] > 0
    for key in ('disk.read_bytes_since_boot', 'disk.write_bytes_since_boot',
                'net.bytes_sent_since_boot', 'net.bytes_recv_since_boot',
                'proc.rss_bytes', 'proc.num_threads', 'mem.used'):
        assert isinstance(row[key], int) and row[key] >= 0, key
    assert row['gpu.count'] == 0
    assert not [k for k in row if k.startswith('gpu.') and k != 'gpu.count']
    if psutil.sensors_temperatures() == {}:
        assert not [k for k in row if k.startswith('temp.')]


def test_snapshot_first_call_has_no_since_last(monkeypatch):
    monkeypatch.setattr(readings, '_snap_prev', None)
    row = telemetry.snapshot()
    assert 'cpu.util.avg_percent_since_last' not in row
    assert 'proc.cpu.avg_percent_since_last' not in row


def test_fake_temperature_sensors(monkeypatch):
    shwtemp = collections.namedtuple('shwtemp', 'label current high critical')
    monkeypatch.setattr(psutil, 'sensors_temperatures', lambda: {
        'coretemp': [shwtemp('Core 0', 41.0, 80, 100),
                     shwtemp('Core 1', 55.5, 80, 100)],
        'acpi tz/0': [shwtemp('', 30.0, None, None)],
    })
    row = telemetry.snapshot()
    assert row['temp.coretemp.current'] == 55.5
    assert row['temp.acpi_tz_0.current'] == 30.0


def test_no_temperature_function(monkeypatch):
    monkeypatch.delattr(psutil, 'sensors_temperatures', raising=False)
    row = telemetry.snapshot()
    assert not [k for k in row if k.startswith('temp.')]
    assert 'mem.total' in row


@pytest.mark.parametrize('freq, expected', [
    (None, None),
    (types.SimpleNamespace(current=0.0, min=0.0, max=0.0), None),
    (types.SimpleNamespace(current=2400.0, min=0.0, max=0.0), 2.4),
])
def test_cpu_freq(monkeypatch, freq, expected):
    monkeypatch.setattr(psutil, 'cpu_freq', lambda: freq)
    row = telemetry.snapshot()
    assert row.get('cpu.freq.current') == expected


def test_failing_psutil_reader_drops_only_its_keys(monkeypatch):
    def boom():
        raise PermissionError('no /proc/diskstats in this container')
    monkeypatch.setattr(psutil, 'disk_io_counters', boom)
    monkeypatch.setattr(psutil, 'net_io_counters', lambda: None)
    row = telemetry.snapshot()
    assert not [k for k in row if k.startswith(('disk.', 'net.'))]
    assert 'mem.total' in row and row['gpu.count'] == 0


def test_import_starts_nothing():
    code = ('import sys, threading\n'
            'before = threading.active_count()\n'
            'import algorithmic_efficiency.telemetry.sampler\n'
            'print(before, threading.active_count(), "pynvml" in sys.modules)\n')
    out = subprocess.run([sys.executable, '-c', code], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0] == out[1]
    assert out[2] == 'False'


# ---------------------------------------------------------------- Sampler ---


def test_sampler_real_cpu_interval_stats():
    with telemetry.Sampler(interval_sec=0.05) as sampler:
        cpu0, wall0 = time.process_time(), time.monotonic()
        _burn(0.3)
        busy = sampler.end_interval()
        own_busy = 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
        sampler.begin_interval()
        time.sleep(0.3)
        idle = sampler.end_interval()
    for row in (busy, idle):
        _assert_clean(row)
        assert 0 <= row['cpu.util.interval_mean_percent'] <= 100
        assert (row['cpu.util.interval_max_percent'] >=
                row['cpu.util.interval_mean_percent'])
        assert 0 <= row['cpu.util.avg_percent_since_last'] <= 100
        assert row['gpu.count'] == 0
    # This process: what process_time() saw while burning (under 100 % when
    # other jobs share this 2-core box), ~0 while sleeping. The system-wide
    # figures depend on whatever else runs here, so only loose checks there.
    assert busy['proc.cpu.avg_percent_since_last'] == pytest.approx(
        own_busy, abs=15)
    assert idle['proc.cpu.avg_percent_since_last'] < 10
    assert (busy['proc.cpu.avg_percent_since_last'] >
            idle['proc.cpu.avg_percent_since_last'])
    assert busy['cpu.util.avg_percent_since_last'] > 20
    assert (idle['cpu.util.interval_mean_percent'] <=
            busy['cpu.util.interval_mean_percent'] + 15)
    assert sampler.cpu_seconds > 0


class FakeTime:
    """A monotonic clock the test advances, and psutil.cpu_times() that follows it.

    The CPU is ``busy`` (a fraction) of the time that passes.
    """

    fields = collections.namedtuple('scputimes', 'user system idle iowait')

    def __init__(self, busy=1.0):
        self.now = 1000.0
        self.busy = busy
        self.user = self.idle = 0.0
        self.waits = []

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.user += seconds * self.busy
        self.idle += seconds * (1 - self.busy)
        self.now += seconds

    def cpu_times(self):
        return self.fields(self.user, 0.0, self.idle, 0.0)


@pytest.fixture
def fake_time(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(psutil, 'cpu_times', fake.cpu_times)
    return fake


def no_thread(timeout):
    """A Sampler wait that stops its thread at once: the test takes the samples."""
    return True


def manual_sampler(fake_time, interval=1.0):
    sampler = telemetry.Sampler(interval, clock=fake_time, wait=no_thread).start()
    sampler._thread.join(5)
    return sampler


def test_begin_interval_resets_stats(fake_time):
    sampler = manual_sampler(fake_time, interval=0.5)
    for _ in range(3):
        fake_time.advance(0.5)
        sampler.sample()
    busy = sampler.end_interval()
    fake_time.busy = 0.25
    sampler.begin_interval()
    for _ in range(4):
        fake_time.advance(0.5)
        sampler.sample()
    fake_time.busy = 0.75
    fake_time.advance(0.5)
    sampler.sample()
    quiet = sampler.end_interval()
    sampler.stop()
    assert busy['cpu.util.interval_mean_percent'] == pytest.approx(100)
    assert busy['cpu.util.avg_percent_since_last'] == pytest.approx(100)
    assert quiet['cpu.util.interval_mean_percent'] == pytest.approx(35)  # (4*25 + 75) / 5
    assert quiet['cpu.util.interval_max_percent'] == pytest.approx(75)
    assert quiet['cpu.util.avg_percent_since_last'] == pytest.approx(35)
    assert sampler._n_samples == 8


def test_short_interval_still_has_stats(fake_time):
    """An eval sooner than one interval: the closing sample alone gives the statistics."""
    sampler = manual_sampler(fake_time, interval=30)
    fake_time.busy = 0.5
    fake_time.advance(0.1)
    row = sampler.end_interval()
    sampler.stop()
    assert sampler._n_samples == 0
    assert row['cpu.util.interval_mean_percent'] == pytest.approx(50)
    assert row['cpu.util.avg_percent_since_last'] == pytest.approx(50)


def test_sampler_thread_keeps_its_schedule_without_bursts(fake_time):
    """Samples every interval on the injected clock; after oversleeping, one sample, no burst."""

    def wait(timeout):
        fake_time.waits.append(timeout)
        fake_time.advance(timeout + (2.5 if len(fake_time.waits) == 3 else 0.0))
        return len(fake_time.waits) > 6  # then stop

    sampler = telemetry.Sampler(1.0, clock=fake_time, wait=wait).start()
    sampler._thread.join(5)
    assert not sampler._thread.is_alive()
    assert fake_time.waits == [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]
    assert sampler._n_samples == 6
    assert sampler.cpu_seconds > 0  # its own thread's CPU time
    row = sampler.end_interval()
    sampler.stop()
    assert row['cpu.util.interval_mean_percent'] == pytest.approx(100)


def test_stop_is_prompt_and_idempotent():
    sampler = telemetry.Sampler(interval_sec=5.0).start()
    thread = sampler._thread
    assert thread.daemon and thread.is_alive()
    t0 = time.monotonic()
    sampler.stop()
    assert time.monotonic() - t0 < 1.0
    assert not thread.is_alive()
    sampler.stop()


def test_stop_ends_a_thread_whose_wait_never_says_stop(fake_time):
    waits = threading.Semaphore(0)

    def wait(timeout):
        waits.release()
        time.sleep(0.001)  # a real wait, so the thread yields
        return False

    sampler = telemetry.Sampler(1.0, clock=fake_time, wait=wait).start()
    assert waits.acquire(timeout=5)
    sampler.stop()
    assert sampler._thread is None


def test_invalid_interval():
    with pytest.raises(ValueError):
        telemetry.Sampler(interval_sec=0)


# ------------------------------------------------------------- fake NVML ---


@pytest.fixture
def fake_nvml(monkeypatch):
    """Installs a fake pynvml with two GPUs; returns (module, devices)."""
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    devices = two_devices()
    module = make_fake_pynvml(devices)
    monkeypatch.setitem(sys.modules, 'pynvml', module)
    return module, devices


def test_fake_two_gpus_snapshot(fake_nvml):
    module, _ = fake_nvml
    row = telemetry.snapshot()
    _assert_clean(row)
    assert row['gpu.count'] == 2
    assert row['gpu.0.compute.util'] == pytest.approx(0.30)
    assert row['gpu.1.compute.util'] == pytest.approx(0.90)
    assert row['gpu.0.mem.util'] == pytest.approx(1024 / 40960)
    assert row['gpu.1.mem.total'] == pytest.approx(81920)
    assert row['gpu.1.mem.used'] == pytest.approx(8192)
    assert row['gpu.1.mem.free'] == pytest.approx(81920 - 8192)
    assert row['gpu.0.temp.current'] == 50
    assert row['gpu.1.power.current_watts'] == pytest.approx(300)
    assert row['gpu.avg.compute.util'] == pytest.approx(0.60)
    assert row['gpu.avg.temp.current'] == pytest.approx(60)
    assert row['gpu.avg.mem.used'] == pytest.approx((1024 + 8192) / 2)
    assert row['gpu.total.power.current_watts'] == pytest.approx(400)
    assert 'gpu.0.energy.trial_joules' not in row  # Sampler only.
    telemetry.snapshot()
    assert module.calls['init'] == 1  # nvmlInit once per process.


def test_fake_gpu_info(fake_nvml):
    assert telemetry.gpu_info() == {
        'gpu_count': 2,
        'gpu_model_name': 'NVIDIA A100-SXM4-40GB, NVIDIA H100 80GB HBM3',
        'gpu_driver': '550.54.15',
    }


def test_fake_gpu_info_same_model(monkeypatch):
    devices = two_devices()
    devices[1].name = devices[0].name
    monkeypatch.setitem(sys.modules, 'pynvml', make_fake_pynvml(devices))
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    assert telemetry.gpu_info()['gpu_model_name'] == 'NVIDIA A100-SXM4-40GB'


@pytest.mark.parametrize('env, expected', [
    ('1', [1]),
    ('1,0', [1, 0]),
    (' 0 , 1 ', [0, 1]),
    ('GPU-bbbb', [1]),
    ('GPU-bbbb2222-0000,0', [1, 0]),
    ('0,7,1', [0]),  # CUDA stops at the first invalid entry.
    ('0,0', [0]),
    ('', []),
    ('-1', []),
    ('-1,0', []),
    ('GPU-', []),  # Ambiguous prefix.
    ('GPU-cccc', []),
    ('nvidia0', []),
])
def test_cuda_visible_devices(fake_nvml, monkeypatch, env, expected):
    _, devices = fake_nvml
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', env)
    row = telemetry.snapshot()
    assert row['gpu.count'] == len(expected)
    for i, physical in enumerate(expected):
        assert row[f'gpu.{i}.compute.util'] == devices[physical].util / 100
    assert f'gpu.{len(expected)}.compute.util' not in row
    assert telemetry.gpu_info()['gpu_count'] == len(expected)


def test_mig_uuid_resolved_by_nvml(fake_nvml, monkeypatch):
    module, devices = fake_nvml
    devices.append(FakeDevice('MIG-1234-5678', 'A100 MIG 1g.5gb', 10, 1, 5000,
                              40, 20_000))
    # MIG instances are not enumerated by index, only found by UUID.
    monkeypatch.setattr(module, 'nvmlDeviceGetCount', lambda: 2)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', 'MIG-1234-5678')
    row = telemetry.snapshot()
    assert row['gpu.count'] == 1
    assert row['gpu.0.compute.util'] == pytest.approx(0.10)


def test_not_supported_reading_is_absent(fake_nvml, monkeypatch):
    module, _ = fake_nvml

    def no_temp(handle, sensor):
        raise module.NVMLError_NotSupported()

    monkeypatch.setattr(module, 'nvmlDeviceGetTemperature', no_temp)
    row = telemetry.snapshot()
    assert 'gpu.0.temp.current' not in row and 'gpu.avg.temp.current' not in row
    assert row['gpu.0.compute.util'] == pytest.approx(0.30)


def test_nvml_init_failure(monkeypatch, caplog):
    module = make_fake_pynvml(two_devices(),
                              init_error=lambda m: m.NVMLError_LibraryNotFound())
    monkeypatch.setitem(sys.modules, 'pynvml', module)
    with caplog.at_level(logging.INFO):
        assert telemetry.snapshot()['gpu.count'] == 0
        assert telemetry.gpu_info() == {'gpu_count': 0}
        telemetry.snapshot()
    init_logs = [r for r in caplog.records
                 if r.message.startswith('NVML unavailable')]
    assert len(init_logs) == 1 and init_logs[0].levelno == logging.INFO
    # gpu_info() adds its own single line saying why it reports 0 GPUs.
    info_logs = [r for r in caplog.records if r.message.startswith('gpu_info')]
    assert len(info_logs) == 1 and 'NVML unavailable' in info_logs[0].message
    assert module.calls['init'] == 1


def test_pynvml_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pynvml', None)  # import -> ModuleNotFound
    assert telemetry.gpu_info() == {'gpu_count': 0}
    assert telemetry.snapshot()['gpu.count'] == 0


def test_fake_sampler_interval_stats_and_energy_counter(fake_nvml, fake_time):
    _, devices = fake_nvml
    sampler = manual_sampler(fake_time, interval=0.5)
    for _ in range(3):
        fake_time.advance(0.5)
        sampler.sample()
    devices[0].util = 70  # Only the closing sample sees this.
    row = sampler.end_interval()
    sampler.begin_interval()
    row2 = sampler.end_interval()
    sampler.stop()
    _assert_clean(row)
    assert row['gpu.count'] == 2
    assert row['gpu.0.compute.util.interval_max'] == pytest.approx(0.70)
    assert row['gpu.0.compute.util.interval_mean'] == pytest.approx((3 * 0.30 + 0.70) / 4)
    assert row['gpu.1.compute.util.interval_mean'] == pytest.approx(0.90)
    assert row['gpu.1.power.interval_mean_watts'] == pytest.approx(300)
    assert row['gpu.1.power.interval_max_watts'] == pytest.approx(300)
    # Counter: baseline at start(), +5000 mJ per read -> 5 J, then 10 J.
    assert row['gpu.0.energy.trial_joules'] == pytest.approx(5.0)
    assert row2['gpu.0.energy.trial_joules'] == pytest.approx(10.0)
    assert row['gpu.total.energy.trial_joules'] == pytest.approx(10.0)
    assert row['gpu.avg.energy.trial_joules'] == pytest.approx(5.0)
    assert row['gpu.avg.compute.util.interval_mean'] == pytest.approx(
        (row['gpu.0.compute.util.interval_mean'] + 0.90) / 2)
    # A fresh interval with no thread sample yet: just the closing sample.
    assert row2['gpu.0.compute.util.interval_mean'] == pytest.approx(0.70)


def test_fake_energy_power_integration_fallback(monkeypatch, fake_time):
    devices = two_devices()
    devices[0].energy_mj = None  # Counter raises NVMLError_NotSupported.
    devices[0].power_mw = 150_000
    monkeypatch.setitem(sys.modules, 'pynvml', make_fake_pynvml(devices))
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES', raising=False)
    sampler = manual_sampler(fake_time, interval=1.0)
    for _ in range(2):
        fake_time.advance(1.0)
        sampler.sample()
    devices[0].power_mw = 250_000  # the trapezoid of the last 0.5 s: (150 + 250) / 2 W
    fake_time.advance(0.5)
    row = sampler.end_interval()
    sampler.stop()
    assert row['gpu.0.energy.trial_joules'] == pytest.approx(150 * 2.0 + 200 * 0.5)
    assert row['gpu.1.energy.trial_joules'] == pytest.approx(5.0)  # Counter.


def test_fake_nvml_error_mid_run(fake_nvml, caplog, fake_time):
    _, devices = fake_nvml
    sampler = manual_sampler(fake_time, interval=0.5)

    def interval():
        sampler.begin_interval()
        for _ in range(2):
            fake_time.advance(0.5)
            sampler.sample()
        return sampler.end_interval()

    ok = interval()
    devices[0].fail = True
    with caplog.at_level(logging.WARNING):
        broken = interval()
        still_broken = interval()
    devices[0].fail = False
    recovered = interval()
    sampler.stop()
    assert 'gpu.0.compute.util' in ok
    for row in (broken, still_broken):
        assert row['gpu.count'] == 2
        assert not [k for k in row if k.startswith('gpu.0.')]
        assert row['gpu.1.compute.util'] == pytest.approx(0.90)
        assert row['gpu.avg.compute.util'] == pytest.approx(0.90)  # GPU 1 only.
        assert 'mem.total' in row
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'visible GPU 0' in warnings[0].message
    assert recovered['gpu.0.compute.util'] == pytest.approx(0.30)
    assert recovered['gpu.0.compute.util.interval_mean'] == pytest.approx(0.30)
    assert 'gpu.0.energy.trial_joules' in recovered


def test_fake_nvml_no_visible_gpu_sampler(fake_nvml, monkeypatch, fake_time):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '')
    sampler = manual_sampler(fake_time)
    fake_time.advance(1.0)
    sampler.sample()
    row = sampler.end_interval()
    sampler.stop()
    assert row['gpu.count'] == 0
    assert not [k for k in row if k.startswith('gpu.') and k != 'gpu.count']


# -------------------------------------------------------------- real NVML ---


def test_real_nvml_reports_no_gpu(monkeypatch):
    """The real pynvml is installed here, but there is no driver/GPU."""
    monkeypatch.delitem(sys.modules, 'pynvml', raising=False)
    assert telemetry.gpu_info() == {'gpu_count': 0}
    assert telemetry.snapshot()['gpu.count'] == 0


def test_interval_without_a_clock_tick_keeps_its_columns(monkeypatch):
    """A too-short interval reads None (an empty CSV field), not a missing key.

    A key that comes and goes with timing would change the CSV header from
    one row to the next (seen with a 3 ms first step in CI).
    """
    frozen = readings.read_cpu()
    monkeypatch.setattr(readings, 'read_cpu', lambda: frozen)
    sampler = telemetry.Sampler(60.0).start()
    try:
        sampler.begin_interval()
        row = sampler.end_interval()
    finally:
        sampler.stop()
    assert row['cpu.util.avg_percent_since_last'] is None
    for key in ('proc.cpu.avg_percent_since_last', 'cpu.util.interval_mean_percent',
                'cpu.util.interval_max_percent'):
        assert key in row
