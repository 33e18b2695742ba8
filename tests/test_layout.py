"""The output schema: layout.py's definitions, who derives from them, and the pinned files.

The header of metrics.csv and the keys of metadata.json are what users'
scripts read, so a real capped sweep with a fixed --rng_seed (conftest's
``guide_sweeps``) is pinned here column by column, in order, per framework.
"""

import csv
import json
import os

import psutil
import pytest

from algorithmic_efficiency import layout
from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.recording import recorder

# The header of a guide sweep's metrics.csv on this project's test machines (CPU only).
# The readings a machine may not offer are marked; see expected_header().
PINNED_HEADER = [
    'framework', 'workload', 'run_idx', 'accumulated_submission_time', 'global_step',
        'epoch',
    'accuracy', 'loss', 'batch_size',
    'hparam.learning_rate', 'hparam.one_minus_beta_1', 'hparam.epsilon',
    'workload.eval_period_time_sec', 'workload.max_allowed_runtime_sec',
    'workload.num_eval_examples', 'workload.num_train_examples', 'workload.target_value',
    'workload.train_mean', 'workload.train_stddev', 'workload.target_metric_name',
    'steps_per_epoch', 'global_start_time', 'wall_time', 'goal_reached', 'eval_time_sec',
    'status',
    'checkpoint.seconds', 'trial.resumed_from_step',
    'throughput.examples_per_sec',
    'cpu.util.avg_percent_since_last',
    'cpu.freq.current',  # if psutil.cpu_freq() reports one
    'TEMPERATURES',  # temp.<sensor>.current for each of psutil.sensors_temperatures()
    'mem.total', 'mem.available', 'mem.used', 'mem.percent_used',
    'disk.read_bytes_since_boot', 'disk.write_bytes_since_boot',  # if psutil has disk counters
    'net.bytes_sent_since_boot', 'net.bytes_recv_since_boot',  # if psutil has net counters
    'gpu.count',
    'proc.rss_bytes', 'proc.num_threads', 'proc.cpu.avg_percent_since_last',
    'cpu.util.interval_mean_percent', 'cpu.util.interval_max_percent',
    'exp', 'owner',
]  # fmt: skip
PINNED_METADATA_KEYS = [
    'workload', 'framework', 'log_dir', 'datetime', 'python_version', 'python_compiler',
    'os_platform', 'git_branch', 'git_commit_hash', 'git_dirty', 'cpu_model_name', 'cpu_count',
    'cpu_count_physical', 'mem_total_bytes', 'gpu_count',
    'devices.count', 'devices.kind', 'distributed.world_size', 'distributed.backend',
    'devices.peak_flops', 'devices.peak_flops_source', 'devices.peak_flops_dtype',
    'energy.sources',
    'workload.eval_period_time_sec', 'workload.max_allowed_runtime_sec',
    'workload.num_eval_examples', 'workload.num_train_examples', 'workload.target_value',
    'workload.train_mean', 'workload.train_stddev', 'workload.target_metric_name',
    'framework_versions', 'rng_seed', 'tuning_ruleset', 'num_tuning_trials', 'search_algorithm',
    'search_space', 'submission.api', 'flags',
    'data.source', 'data.description', 'data.path', 'data.num_train_examples',
    'data.num_eval_examples', 'data.comparable_to_full_mnist',
    'exp', 'owner',
]  # fmt: skip
PINNED_FLAGS = [
    'framework', 'workload', 'submission_path', 'tuning_ruleset', 'tuning_search_space',
    'num_tuning_trials', 'search_algorithm', 'data_dir', 'log_dir', 'record_extra_metadata',
    'rng_seed', 'max_global_steps', 'max_submission_time_sec', 'overwrite', 'resume', 'fsync',
    'telemetry_interval_sec', 'summary', 'tensorboard', 'num_devices', 'num_studies',
    'progress_interval_sec', 'eval_period_time_sec',
    'checkpoint_interval_sec', 'keep_checkpoints', 'checkpoint_at_eval',
]  # fmt: skip


def expected_header():
    """PINNED_HEADER with this machine's answer to the readings it may not offer."""
    freq = psutil.cpu_freq()
    sensors = getattr(psutil, 'sensors_temperatures', lambda: {})()
    temps = sorted(f'temp.{name}.current' for name, entries in sensors.items() if entries)
    out = []
    for name in PINNED_HEADER:
        if name == 'TEMPERATURES':
            out.extend(temps)
        elif name == 'cpu.freq.current' and not (freq and freq.current):
            continue
        elif name.startswith('disk.') and psutil.disk_io_counters() is None:
            continue
        elif name.startswith('net.') and psutil.net_io_counters() is None:
            continue
        else:
            out.append(name)
    return out


def header(path):
    with open(path, newline='') as f:
        return next(csv.reader(f))


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_metrics_csv_header_is_pinned(guide_sweeps, fw):
    log_dir, _ = guide_sweeps
    meta = json.load(open(os.path.join(log_dir, f'mnist_{fw}', 'metadata.json')))
    assert meta['gpu_count'] == 0  # pinned for machines without GPUs (no gpu.<i>.* columns)
    for run in (1, 2):
        got = header(os.path.join(log_dir, f'mnist_{fw}', f'run_{run}', 'metrics.csv'))
        assert got == expected_header(), (fw, run)


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_metadata_json_keys_are_pinned(guide_sweeps, fw):
    log_dir, _ = guide_sweeps
    meta = json.load(open(os.path.join(log_dir, f'mnist_{fw}', 'metadata.json')))
    assert list(meta) == PINNED_METADATA_KEYS
    assert list(meta['flags']) == PINNED_FLAGS


def test_header_follows_the_schema_order(guide_sweeps):
    """Each column sits in its schema entry's place (a second, independent reading)."""
    log_dir, _ = guide_sweeps
    got = header(os.path.join(log_dir, 'mnist_jax', 'run_1', 'metrics.csv'))

    def place(column):
        for i, entry in enumerate(layout.METRICS_SCHEMA):
            if isinstance(entry, layout.Column) and entry.name == column:
                return i
        if column in ('accuracy', 'loss'):
            return layout.METRICS_SCHEMA.index(layout.EVAL_METRICS)
        prefixes = {'hparam.': layout.HPARAMS, 'workload.': layout.WORKLOAD_PROPERTIES,
                    'framework.': layout.FRAMEWORK_MEMORY, 'throughput.': layout.THROUGHPUT}
        for prefix, group in prefixes.items():
            if column.startswith(prefix):
                return layout.METRICS_SCHEMA.index(group)
        if column in ('exp', 'owner'):
            return layout.METRICS_SCHEMA.index(layout.EXTRA_METADATA)
        return layout.METRICS_SCHEMA.index(layout.TELEMETRY)

    places = [place(c) for c in got]
    assert places == sorted(places), list(zip(got, places, strict=False))


def test_schema_derivations():
    assert layout.BUILTIN_COLUMNS == (
        'framework', 'workload', 'run_idx', 'accumulated_submission_time', 'global_step',
        'epoch',
        'accuracy', 'loss', 'batch_size', 'steps_per_epoch', 'global_start_time', 'wall_time',
        'goal_reached', 'eval_time_sec', 'status', 'checkpoint.seconds',
        'trial.resumed_from_step',
    )  # fmt: skip
    assert layout.NUMERIC_COLUMNS == (
        'run_idx', 'accumulated_submission_time', 'global_step', 'epoch', 'accuracy', 'loss',
        'batch_size', 'steps_per_epoch', 'global_start_time', 'wall_time', 'eval_time_sec',
        'checkpoint.seconds', 'trial.resumed_from_step',
    )  # fmt: skip
    # The trainer's part ends where the recorder's telemetry begins: framework memory, the
    # checkpoint columns, then throughput.
    assert layout.TRAINER_SCHEMA[-4] is layout.FRAMEWORK_MEMORY
    assert layout.TRAINER_SCHEMA[-1] is layout.THROUGHPUT
    assert layout.METRICS_SCHEMA[len(layout.TRAINER_SCHEMA):] == (
        layout.TELEMETRY, layout.EXTRA_METADATA)


def test_recorder_and_loader_use_the_schema():
    assert recorder.BUILTIN_COLUMNS == frozenset(layout.BUILTIN_COLUMNS)
    assert recorder.TELEMETRY_ORDER == layout.TELEMETRY_ORDER
    assert loader.NUMERIC_COLUMNS == layout.NUMERIC_COLUMNS
    # An extra-metadata key may not shadow any built-in column, wall_time included.
    for name in layout.BUILTIN_COLUMNS:
        with pytest.raises(ValueError, match=f"key '{name}' collides"):
            recorder.parse_extra_metadata([f'{name}=1'])


def test_run_directory_beyond_int64_is_not_a_run():
    assert layout.RUN_DIR_RE.match('run_' + '9' * 18)
    assert not layout.RUN_DIR_RE.match('run_' + '9' * 20)
