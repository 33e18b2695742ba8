"""TensorBoard output end to end: a real sweep, a real ``tensorboard`` server, its HTTP API.

A real 3-trial PyTorch sweep is turned into event files by
``python -m algorithmic_efficiency.tensorboard`` (twice: the same bytes), a
real TensorBoard server (default settings, as users start it) is queried
through the HParams plugin's HTTP API, and what it shows is compared with the
trials' metrics.csv and trial.json. The live writer is fed the same rows
through the runner's writer interface. Every Logger method's output is read
back from its event files.
"""

import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image
from pyrun import run_module
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

from algorithmic_efficiency.analysis import tensorboard_export as tb_cli
from algorithmic_efficiency.recording import trial_context
from algorithmic_efficiency.recording.tb import events as tb_writer
from algorithmic_efficiency.recording.tb.logger import Logger
from algorithmic_efficiency.storage import csv_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE = os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json')
SEARCHED = {'learning_rate', 'one_minus_beta_1', 'epsilon'}
NUM_TRIALS = 3
ALL_STATUSES = ['STATUS_UNKNOWN', 'STATUS_SUCCESS', 'STATUS_FAILURE', 'STATUS_RUNNING']




@pytest.fixture(scope='module')
def sweep(pytorch_sweep, tmp_path_factory):
    """conftest's real sweep (mnist_pytorch, 3 Halton trials of 20 steps, as the README runs it),
    copied without its summary/ (as with --nosummary): the tests write event files into it."""
    log_dir = tmp_path_factory.mktemp('tb') / 'logs'
    shutil.copytree(pytorch_sweep, log_dir)
    shutil.rmtree(log_dir / 'mnist_pytorch' / 'summary')
    return log_dir


def own_files(root):
    found = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if tb_writer.OWN_FILE_RE.match(n):
                path = os.path.join(dirpath, n)
                with open(path, 'rb') as f:
                    found[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def accumulate(directory):
    acc = event_accumulator.EventAccumulator(
        str(directory), size_guidance={k: 0 for k in event_accumulator.DEFAULT_SIZE_GUIDANCE}
    )
    acc.Reload()
    return acc


def f32(x):
    return float(np.float32(x))


# ---------------------------------------------------------------------------
# A real TensorBoard server
# ---------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http(port, path, body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f'http://127.0.0.1:{port}{path}', data=data, headers={'Content-Type': 'application/json'}
    )
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def session_groups(port):
    return http(
        port,
        '/data/plugin/hparams/session_groups',
        {
            'experimentName': '',
            'allowedStatuses': ALL_STATUSES,
            'colParams': [],
            'startIndex': 0,
            'sliceSize': 1000,
        },
    )['sessionGroups']


def tensorboard_command(log_dir, port):
    script = os.path.join(os.path.dirname(sys.executable), 'tensorboard')
    cmd = [script] if os.path.exists(script) else [sys.executable, '-m', 'tensorboard.main']
    return cmd + ['--logdir', str(log_dir), '--host', '127.0.0.1', '--port', str(port)]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except (urllib.error.URLError, ConnectionError, OSError) as e:
            last = e
        time.sleep(0.5)
    raise AssertionError(f'timed out after {timeout} s waiting for {what} (last error: {last})')


def stop(proc):
    """Stops the server we started, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_cli_then_tensorboard_server_shows_every_trial(sweep, tmp_path):
    workload_dir = sweep / 'mnist_pytorch'
    # Files that are not ours: never touched by a rebuild.
    foreign = workload_dir / 'run_1' / 'eval' / 'notes.txt'
    foreign.parent.mkdir(parents=True, exist_ok=True)
    foreign.write_text('mine')

    proc = run_module('algorithmic_efficiency.tensorboard', sweep)
    assert proc.returncode == 0, proc.stderr
    assert f'tensorboard --logdir {sweep}' in proc.stdout
    first = own_files(sweep)
    expected = {'events', 'incumbent'} | {
        f'run_{i}/{sub}' for i in range(1, NUM_TRIALS + 1) for sub in ('', 'eval', 'telemetry')
    }
    dirs = {os.path.dirname(os.path.relpath(p, 'mnist_pytorch')) or 'events' for p in first}
    assert {d.rstrip('/') for d in dirs} == {d.rstrip('/') for d in expected}
    proc = run_module('algorithmic_efficiency.tensorboard', sweep, '-q')
    assert proc.returncode == 0 and proc.stdout == '', proc.stderr
    assert own_files(sweep) == first  # idempotent: the same files, the same bytes
    assert foreign.read_text() == 'mine'
    foreign.unlink()

    trials = {}
    for i in range(1, NUM_TRIALS + 1):
        run_dir = workload_dir / f'run_{i}'
        rows = csv_io.read_metrics_csv(str(run_dir / 'metrics.csv'))
        info = json.loads((run_dir / 'trial.json').read_text())
        assert info['status'] == 'complete'
        trials[f'run_{i} (mnist_pytorch)'] = (rows, info)

    port = free_port()
    log = open(tmp_path / 'tensorboard.log', 'w')  # noqa: SIM115
    server = subprocess.Popen(
        tensorboard_command(sweep, port), stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    try:
        listing = wait_for(lambda: http(port, '/data/plugins_listing'), 60, 'the server')
        assert 'hparams' in listing and 'scalars' in listing

        def complete():
            groups = session_groups(port)
            done = len(groups) == NUM_TRIALS and all(
                {m['name']['tag'] for m in g['metricValues']} >= {'loss', 'accuracy'}
                for g in groups
            )
            return groups if done else None

        groups = wait_for(complete, 60, 'every trial with its metrics in the HParams plugin')
        experiment = http(port, '/data/plugin/hparams/experiment', {'experimentName': ''})
    finally:
        stop(server)
        log.close()

    # The experiment: exactly the searched hparams, with the search space's domains.
    infos = {h['name']: h for h in experiment['hparamInfos']}
    assert set(infos) == SEARCHED  # not batch_size, workload properties, ...
    assert infos['learning_rate']['domainInterval'] == {'minValue': 3e-4, 'maxValue': 3e-2}
    assert infos['epsilon']['domainDiscrete'] == [1e-8, 1e-6]
    metrics = {(m['name']['group'], m['name']['tag']) for m in experiment['metricInfos']}
    assert {('eval', 'loss'), ('eval', 'accuracy')} <= metrics

    # One session group per trial, its hparams, status and last metric values.
    assert sorted(g['name'] for g in groups) == sorted(trials)
    for group in groups:
        rows, info = trials[group['name']]
        last = rows.iloc[-1]
        run = re.fullmatch(r'(run_\d+) \(mnist_pytorch\)', group['name']).group(1)
        assert [s['name'] for s in group['sessions']] == [f'mnist_pytorch/{run}']
        assert group['sessions'][0]['status'] == 'STATUS_SUCCESS'
        assert group['hparams'] == info['hyperparameters']
        assert set(group['hparams']) == SEARCHED
        values = {m['name']['tag']: m for m in group['metricValues']}
        # TensorBoard keeps scalars as float32: equal to the CSV's last row at that precision.
        assert values['loss']['value'] == f32(last['loss'])
        assert values['accuracy']['value'] == f32(last['accuracy'])
        assert values['loss']['trainingStep'] == last['global_step']
        assert values['best_loss']['value'] == f32(rows['loss'].min())
        assert info['final_loss'] == last['loss']


def test_live_writer_through_the_writer_interface(sweep, tmp_path):
    """Rows fed one by one as the recorder does; readable after each; same as a rebuild."""
    source = sweep / 'mnist_pytorch' / 'run_2'
    run_dir = tmp_path / 'logs' / 'mnist_pytorch' / 'run_2'
    run_dir.mkdir(parents=True)
    for name in ('metrics.csv', 'trial.json'):
        shutil.copy(source / name, run_dir / name)
    info = json.loads((run_dir / 'trial.json').read_text())
    rows = csv_io.read_metrics_csv(str(run_dir / 'metrics.csv')).to_dict('records')
    assert len(rows) >= 2

    searched = tb_writer.searched_hparams(json.loads(open(SPACE).read()))
    assert set(searched) == SEARCHED
    writer = tb_writer.TrialTensorBoardWriter(str(run_dir), info['hyperparameters'], searched)
    for n, row in enumerate(rows, start=1):
        writer.write_row(row)
        scalars = accumulate(run_dir / 'eval').Scalars('loss')  # readable while running
        assert [s.value for s in scalars] == [f32(r['loss']) for r in rows[:n]]
        assert [s.step for s in scalars] == [r['global_step'] for r in rows[:n]]
    writer.close()
    writer.close()  # twice: no second end status
    assert not writer.disabled

    session = accumulate(run_dir)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        session.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    assert start.group_name == 'run_2 (mnist_pytorch)'
    assert {k: v.number_value for k, v in start.hparams.items()} == info['hyperparameters']
    ends = session.Tensors(hparams_metadata.SESSION_END_INFO_TAG)
    assert len(ends) == 1
    end = hparams_metadata.parse_session_end_info_plugin_data(
        session.SummaryMetadata(hparams_metadata.SESSION_END_INFO_TAG).plugin_data.content
    )
    assert end.status == api_pb2.STATUS_SUCCESS

    telemetry = accumulate(run_dir / 'telemetry')
    tags = telemetry.Tags()['scalars']
    assert {'cpu/util.avg_percent_since_last', 'mem/used', 'mem/percent_used'} <= set(tags)
    assert 'proc/rss_bytes' in tags and 'mem/total' not in tags and 'gpu/count' not in tags
    assert [s.value for s in telemetry.Scalars('mem/used')] == [f32(r['mem.used']) for r in rows]

    # A rebuild from the files writes the same bytes (wall times come from the rows).
    live = {p: open(os.path.join(run_dir, p), 'rb').read() for p in own_files(run_dir)}
    assert len(live) == 3
    assert tb_cli.build_from_logs(str(tmp_path / 'logs'))
    assert {p: open(os.path.join(run_dir, p), 'rb').read() for p in own_files(run_dir)} == live


def test_writer_failure_never_raises(tmp_path, caplog, monkeypatch):
    row = {'global_step': 1, 'loss': 0.5, 'accuracy': 0.9, 'status': 'running'}
    # The eval run's directory can't be made (a file is in the way; works as root too).
    run_dir = tmp_path / 'w' / 'run_1'
    run_dir.mkdir(parents=True)
    (run_dir / 'eval').write_text('in the way')
    with caplog.at_level(logging.WARNING):
        writer = tb_writer.TrialTensorBoardWriter(str(run_dir), {'lr': 0.1}, ['lr'])
        for _ in range(3):
            writer.write_row(row)
        writer.close()
    assert writer.disabled
    warnings = [r for r in caplog.records if 'TensorBoard output' in r.getMessage()]
    assert len(warnings) == 1 and 'the trial goes on' in warnings[0].getMessage()

    # The trial's directory itself can't be made.
    caplog.clear()
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with caplog.at_level(logging.WARNING):
        writer = tb_writer.TrialTensorBoardWriter(str(blocker / 'run_1'), {'lr': 0.1})
        writer.write_row(row)
        writer.close()
    assert writer.disabled and len(caplog.records) == 1

    # Anything failing mid-trial (here the encoder).
    writer = tb_writer.TrialTensorBoardWriter(str(tmp_path / 'x' / 'run_1'), {'lr': 0.1})
    writer.write_row(row)
    monkeypatch.setattr(tb_writer, 'encode_events', lambda events: 1 / 0)
    writer.write_row(row)
    writer.close()
    assert writer.disabled

    # The sweep-level hooks never raise either.
    assert tb_cli.write_incumbent(str(tmp_path / 'missing')) == []
    assert tb_cli.write_experiment_config(str(blocker / 'sweep')) == []


def test_telemetry_tags_with_gpus(tmp_path):
    """GPU utilisation and power (from a GPU machine's columns) are drawn; constants are not."""
    row = {
        'global_step': 7,
        'loss': 0.5,
        'gpu.count': 2,
        'gpu.0.compute.util': 0.75,
        'gpu.0.power.current_watts': 210.5,
        'gpu.0.mem.total': 81559,
        'gpu.avg.compute.util': 0.5,
        'gpu.total.energy.trial_joules': 1234.5,
        'framework.0.mem.in_use_bytes': 1e9,
        'framework.0.mem.limit_bytes': 8e10,
        'disk.read_bytes_since_boot': 1e12,
        'net.bytes_sent_since_boot': 1e9,
        'mem.total': 2.5e10,
        'temp.coretemp.current': 55.0,
        'cpu.freq.current': None,  # not measured on this machine: no scalar
        'workload.target_value': 0.97,
        'hparam.learning_rate': 0.1,
    }
    writer = tb_writer.TrialTensorBoardWriter(str(tmp_path / 'w' / 'run_1'), {}, [])
    writer.write_row(row)
    writer.close()
    acc = accumulate(tmp_path / 'w' / 'run_1' / 'telemetry')
    values = {tag: acc.Scalars(tag)[0].value for tag in acc.Tags()['scalars']}
    assert values == {
        'gpu/0.compute.util': 0.75,
        'gpu/0.power.current_watts': 210.5,
        'gpu/avg.compute.util': 0.5,
        'gpu/total.energy.trial_joules': 1234.5,
        'framework/0.mem.in_use_bytes': 1e9,
        'temp/coretemp.current': 55.0,
    }
    assert acc.Scalars('gpu/0.power.current_watts')[0].step == 7
    end = accumulate(tmp_path / 'w' / 'run_1').SummaryMetadata(
        hparams_metadata.SESSION_END_INFO_TAG
    )
    status = hparams_metadata.parse_session_end_info_plugin_data(end.plugin_data.content).status
    assert status == api_pb2.STATUS_FAILURE  # no closing row: the trial raised


def test_other_eval_splits_are_drawn_beside_the_target_split(tmp_path):
    """CIFAR-10's train./test. columns become train/... and test/... tags of the eval run."""
    row = {
        'global_step': 3,
        'accumulated_submission_time': 1.5,
        'accuracy': 0.25,
        'loss': 2.0,
        'train.accuracy': 0.3,
        'train.loss': 1.9,
        'test.accuracy': 0.2,
        'test.loss': 2.1,
        'test.num_examples': 10000,  # not a metric drawn
    }
    writer = tb_writer.TrialTensorBoardWriter(str(tmp_path / 'w' / 'run_1'), {}, [])
    writer.write_row(row)
    writer.close()
    acc = accumulate(tmp_path / 'w' / 'run_1' / 'eval')
    values = {tag: acc.Scalars(tag)[0].value for tag in acc.Tags()['scalars']}
    assert values == pytest.approx({
        'loss': 2.0, 'accuracy': 0.25, 'best_loss': 2.0, 'accumulated_submission_time': 1.5,
        'train/accuracy': 0.3, 'train/loss': 1.9, 'test/accuracy': 0.2, 'test/loss': 2.1,
    })


def make_trial(workload_dir, run_idx, status, losses, hparams):
    run_dir = workload_dir / f'run_{run_idx}'
    run_dir.mkdir(parents=True)
    lines = [
        'run_idx,global_step,loss,accuracy,global_start_time,accumulated_submission_time,status'
    ]
    for i, loss in enumerate(losses, start=1):
        last = i == len(losses) and status in ('complete', 'diverged')
        lines.append(
            f'{run_idx},{i * 10},{loss},0.5,{1000 + run_idx},{i},{status if last else "running"}'
        )
    (run_dir / 'metrics.csv').write_text('\n'.join(lines) + '\n')
    info = {
        'run_idx': run_idx,
        'status': status,
        'hyperparameters': hparams,
        'started': 1000.0 + run_idx,
    }
    (run_dir / 'trial.json').write_text(json.dumps(info))


def test_incumbent_config_and_fixed_trials(tmp_path):
    """Hand-made sweeps for what a short real run can't produce: failed and diverged trials,
    a list of fixed trials, two sweeps with different spaces in one LOG_DIR."""
    log_dir = tmp_path / 'logs'
    a = log_dir / 'sweep_a'
    trials = [{'lr': 0.1, 'opt': 'adam', 'bs': 8}, {'lr': 0.2, 'opt': 'sgd', 'bs': 8}]
    trials += [{'lr': 0.3, 'opt': 'sgd', 'bs': 8}, {'lr': 0.4, 'opt': 'adam', 'bs': 8}]
    a.mkdir(parents=True)
    (a / 'metadata.json').write_text(
        json.dumps({'search_space': trials, 'datetime': '2026-01-02T03:04:05'})
    )
    make_trial(a, 1, 'complete', [0.9, 0.6], trials[0])
    make_trial(a, 2, 'failed', [0.1], trials[1])  # lower, but failed: never the incumbent
    make_trial(a, 3, 'diverged', [0.2, 'nan'], trials[2])
    make_trial(a, 4, 'complete', [0.5, 0.7], trials[3])
    b = log_dir / 'sweep_b'
    b.mkdir()
    space_b = {'lr': {'min': 0.05, 'max': 0.5, 'scaling': 'log'}, 'wd': {'feasible_points': [0, 1]}}
    (b / 'metadata.json').write_text(json.dumps({'search_space': space_b, 'gpu_count': 1}))
    make_trial(b, 1, 'complete', [0.4], {'lr': 0.06, 'wd': 1})

    assert tb_writer.searched_hparams(trials) == ['lr', 'opt']  # bs never varies
    paths = tb_cli.build_from_logs(str(log_dir))
    assert all(os.path.exists(p) for p in paths)

    inc = accumulate(a / 'incumbent')
    by_trial = [(s.step, s.value) for s in inc.Scalars('incumbent/best_loss_by_trial')]
    assert by_trial == [(1, f32(0.6)), (2, f32(0.6)), (3, f32(0.6)), (4, f32(0.5))]
    by_eval = [(s.step, s.value) for s in inc.Scalars('incumbent/best_loss_by_eval')]
    # Evals of the failed and diverged trials count, but never improve it.
    assert by_eval == [(n, f32(v)) for n, v in enumerate([0.9, 0.6, 0.6, 0.6, 0.6, 0.5, 0.5], 1)]
    # One rule (analysis.incumbent): the summary's trajectory and the plot agree with it.
    from algorithmic_efficiency.analysis import load_runs, load_trials, plot, summary

    trajectory = summary.incumbent_trajectory(load_trials(str(a)))
    assert [(int(t['run_idx']), f32(t['best_loss'])) for t in trajectory] == [
        (1, f32(0.6)),
        (4, f32(0.5)),
    ]
    assert [(int(n), f32(v)) for n, v in plot.incumbent(load_runs(str(a)))[['evals', 'best_loss']]
            .itertuples(index=False)] == by_eval

    # Statuses, and the diverged trial's NaN loss is shown as it was measured.
    def end_status(run_dir):
        acc = accumulate(run_dir)
        if hparams_metadata.SESSION_END_INFO_TAG not in acc.Tags()['tensors']:
            return None
        content = acc.SummaryMetadata(hparams_metadata.SESSION_END_INFO_TAG).plugin_data.content
        return hparams_metadata.parse_session_end_info_plugin_data(content).status

    assert end_status(a / 'run_1') == api_pb2.STATUS_SUCCESS
    assert end_status(a / 'run_2') == api_pb2.STATUS_FAILURE
    assert end_status(a / 'run_3') == api_pb2.STATUS_FAILURE
    assert math.isnan(accumulate(a / 'run_3' / 'eval').Scalars('loss')[-1].value)
    assert accumulate(a / 'run_3' / 'eval').Scalars('best_loss')[-1].value == f32(0.2)

    # Each sweep's config covers both sweeps' searched hparams (TensorBoard over LOG_DIR
    # picks one config); GPU energy is a metric because sweep_b saw a GPU.
    for sweep_dir in (a, b):
        acc = accumulate(sweep_dir)
        content = acc.SummaryMetadata(hparams_metadata.EXPERIMENT_TAG).plugin_data.content
        experiment = hparams_metadata.parse_experiment_plugin_data(content)
        infos = {h.name: h for h in experiment.hparam_infos}
        assert set(infos) == {'lr', 'opt', 'wd'}
        assert list(infos['opt'].domain_discrete) == ['adam', 'sgd']
        interval = infos['lr'].domain_interval
        assert (interval.min_value, interval.max_value) == (0.05, 0.5)
        tags = [f'{m.name.group}/{m.name.tag}' for m in experiment.metric_infos]
        assert tags == list(tb_cli.DEFAULT_METRICS) + [tb_cli.ENERGY_METRIC]
    start = hparams_metadata.parse_session_start_info_plugin_data(
        accumulate(a / 'run_1')
        .SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG)
        .plugin_data.content
    )
    assert set(start.hparams) == {'lr', 'opt'} and start.hparams['opt'].string_value == 'adam'


def test_cli_bad_input(tmp_path):
    for path in (tmp_path / 'missing', tmp_path):
        proc = run_module('algorithmic_efficiency.tensorboard', path)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith('tensorboard: error: '), proc.stderr


def test_no_framework_imported():
    code = (
        'import sys, numpy as np\n'
        'from algorithmic_efficiency import tensorboard\n'
        'from algorithmic_efficiency.recording.tb import events, logger\n'
        'from algorithmic_efficiency.tensorboard import Logger, TrialTensorBoardWriter\n'
        'import tempfile\n'
        'd = tempfile.mkdtemp()\n'
        'with Logger(d, "x") as lg:\n'
        '    lg.add_scalar("a", 1.0); lg.add_image("i", np.zeros((2, 2)))\n'
        'w = TrialTensorBoardWriter(d + "/w/run_1", {"lr": 1.0})\n'
        'w.write_row({"global_step": 1, "loss": 1.0}); w.close()\n'
        'tensorboard.write_incumbent(d); tensorboard.write_experiment_config(d)\n'
        'bad = sorted(m for m in sys.modules if m.split(".")[0] in '
        '("jax", "jaxlib", "flax", "optax", "torch", "tensorflow"))\n'
        'print(bad)\n'
    )
    proc = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[]'


# ---------------------------------------------------------------------------
# Logger
# ---------------------------------------------------------------------------
def read_png(acc, tag):
    (event,) = acc.Tensors(tag)
    width, height, png = tensor_util.make_ndarray(event.tensor_proto)
    pixels = np.asarray(Image.open(io.BytesIO(png)))
    assert pixels.shape[:2] == (int(height), int(width))
    return event.step, pixels


def test_logger_every_method_read_back(tmp_path):
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    grey = rng.random((10, 12))
    rgb = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    raw = rng.normal(size=(6, 10))  # needs equalize
    batch = rng.normal(size=(5, 4, 3)) * np.arange(1, 6)[:, None, None]
    weights = rng.normal(size=1000)
    with Logger(str(tmp_path), 'trial1') as logger:
        assert logger.logdir == str(tmp_path / 'trial1')
        for step in range(3):
            logger.add_scalar('Accuracy/Train', 0.5 + step / 10, step)
            logger.add_scalars('Accuracy', {'train': 0.1 * step, 'test': 0.2 * step}, step)
        logger.add_scalar('auto', 1.0)
        logger.add_scalar('auto', 2.0)  # steps 0, 1 without a step argument
        logger.add_image('grey', grey, 5)
        logger.add_image('rgb', rgb, 5)
        logger.add_image('eq', raw, 5, equalize=True)
        logger.add_images('grid', batch, 5, equalize=True)
        logger.add_images('grid_each', batch, 5, equalize_per_image=True)
        logger.add_histogram('weights', weights, 5, bins=20)
        fig = plt.figure(figsize=(2, 1.5), dpi=50)
        plt.plot([1, 2, 3])
        logger.add_figure('fig', fig, 5)
        assert fig.number not in plt.get_fignums()  # closed
        logger.add_parameters(
            {'lr': np.float32(0.25), 'opt': 'adam', 'bn': True}, {'accuracy': 0.875}
        )
    with pytest.raises(ValueError, match='closed'):
        logger.add_scalar('late', 1.0)

    acc = accumulate(tmp_path / 'trial1')
    assert [(s.step, s.value) for s in acc.Scalars('Accuracy/Train')] == [
        (i, f32(0.5 + i / 10)) for i in range(3)
    ]
    assert [(s.step, s.value) for s in acc.Scalars('auto')] == [(0, 1.0), (1, 2.0)]
    for key, scale in (('train', 0.1), ('test', 0.2)):
        sub = accumulate(tmp_path / 'trial1' / f'Accuracy_{key}')
        assert [(s.step, s.value) for s in sub.Scalars('Accuracy')] == [
            (i, f32(scale * i)) for i in range(3)
        ]

    step, pixels = read_png(acc, 'grey')
    assert step == 5 and pixels.shape == (10, 12)
    np.testing.assert_array_equal(pixels, np.rint(grey * 255).astype(np.uint8))
    _, pixels = read_png(acc, 'rgb')
    np.testing.assert_array_equal(pixels, rgb)
    _, pixels = read_png(acc, 'eq')
    expected = np.rint((raw - raw.min()) / (raw.max() - raw.min()) * 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels, expected)
    assert pixels.min() == 0 and pixels.max() == 255

    # 5 images of 4x3 in a grid of 3 columns, 2 rows, 1 px apart.
    _, grid = read_png(acc, 'grid')
    assert grid.shape == (2 * 5 - 1, 3 * 4 - 1)
    def tile(g, i):
        return g[(i // 3) * 5 : (i // 3) * 5 + 4, (i % 3) * 4 : (i % 3) * 4 + 3]

    lo, hi = batch.min(), batch.max()
    for i in range(5):
        np.testing.assert_array_equal(
            tile(grid, i), np.rint((batch[i] - lo) / (hi - lo) * 255).astype(np.uint8)
        )
    assert grid[4, :].max() == 0 and grid[:, 3].max() == 0  # the padding
    _, each = read_png(acc, 'grid_each')
    for i in range(5):
        assert tile(each, i).min() == 0 and tile(each, i).max() == 255

    (event,) = acc.Tensors('weights')
    buckets = tensor_util.make_ndarray(event.tensor_proto)
    counts, edges = np.histogram(weights, bins=20)
    assert buckets.shape == (20, 3)
    np.testing.assert_allclose(buckets[:, 0], edges[:-1])
    np.testing.assert_allclose(buckets[:, 1], edges[1:])
    np.testing.assert_array_equal(buckets[:, 2], counts)
    assert buckets[:, 2].sum() == 1000

    _, figure = read_png(acc, 'fig')
    assert figure.shape[:2] == (75, 100)  # 1.5 x 2 inches at 50 dpi

    start = hparams_metadata.parse_session_start_info_plugin_data(
        acc.SummaryMetadata(hparams_metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    assert start.hparams['lr'].number_value == 0.25
    assert start.hparams['opt'].string_value == 'adam' and start.hparams['bn'].bool_value
    assert start.group_name == f'trial1 ({tmp_path})'
    assert [(s.step, s.value) for s in acc.Scalars('accuracy')] == [(5, 0.875)]


def test_logger_default_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Logger() as logger:
        logger.add_scalar('x', 1.0)
    parent, name = os.path.split(logger.logdir)
    assert parent == 'runs'
    # A random suffix, never the host name (issue 29: no output names the machine).
    assert re.fullmatch(r'[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_[0-9a-f]{8}', name)
    assert socket.gethostname() not in name
    assert accumulate(tmp_path / logger.logdir).Scalars('x')[0].value == 1.0


BAD_INPUTS = [
    (
        lambda lg: lg.add_image('i', np.zeros((3, 8, 8))),
        ValueError,
        r'channels-first.*transpose\(1, 2, 0\)',
    ),
    (
        lambda lg: lg.add_image('i', np.zeros((8, 8, 2))),
        ValueError,
        r'expected shape \(H, W\) or \(H, W, C\)',
    ),
    (lambda lg: lg.add_image('i', np.zeros(8)), ValueError, r'got \(8,\)'),
    (
        lambda lg: lg.add_image('i', np.full((2, 2), 1.5)),
        ValueError,
        r'\[0, 1\].*max 1.5.*equalize=True',
    ),
    (lambda lg: lg.add_image('i', np.full((2, 2), -1)), ValueError, r'\[0, 255\].*min -1'),
    (lambda lg: lg.add_image('i', np.full((2, 2), np.nan)), ValueError, 'NaN or infinite'),
    (lambda lg: lg.add_image('i', np.zeros((0, 2))), ValueError, 'empty'),
    (lambda lg: lg.add_image('i', [['a']]), TypeError, 'expected numbers'),
    (lambda lg: lg.add_images('i', np.zeros((8, 8))), ValueError, r'\(N, H, W\)'),
    (lambda lg: lg.add_images('i', np.zeros((2, 3, 8, 8))), ValueError, r'transpose\(0, 2, 3, 1\)'),
    (lambda lg: lg.add_scalar('s', [1, 2]), TypeError, 'one number'),
    (lambda lg: lg.add_scalar('s', 1.0, step=1.5), TypeError, 'step must be an integer'),
    (lambda lg: lg.add_scalars('s', {}), ValueError, 'non-empty dict'),
    (lambda lg: lg.add_histogram('h', [1.0, np.inf]), ValueError, 'NaN or infinite'),
    (lambda lg: lg.add_histogram('h', [1.0], bins=0), ValueError, 'bins'),
    (lambda lg: lg.add_figure('f', np.zeros((2, 2))), TypeError, 'matplotlib Figure'),
    (lambda lg: lg.add_parameters({'a': 1}, {}), ValueError, 'at least one metric.*5476'),
    (lambda lg: lg.add_parameters({'a': [1]}, {'m': 1}), TypeError, r"params\['a'\]"),
]


@pytest.mark.parametrize('call, error, message', BAD_INPUTS)
def test_logger_bad_input_is_a_clear_error(tmp_path, call, error, message):
    with Logger(str(tmp_path), 'x') as logger:
        with pytest.raises(error, match=message):
            call(logger)


def test_logger_add_parameters_once(tmp_path):
    with Logger(str(tmp_path), 'x') as logger:
        logger.add_parameters({'a': 1}, {'m': 1.0})
        with pytest.raises(ValueError, match='once per run'):
            logger.add_parameters({'a': 2}, {'m': 2.0})


def test_logger_for_trial_follows_the_recorded_trial(tmp_path):
    """The recorder hands the trial over (trial_context); its end closes the trial's Logger."""
    run_dir = tmp_path / 'mnist' / 'run_1'
    run_dir.mkdir(parents=True)
    assert trial_context.current_trial_dir() is None
    with trial_context.trial(str(run_dir)):
        logger = Logger.for_trial()
        assert Logger.for_trial() is logger  # the same trial, the same Logger
        assert logger.logdir == str(run_dir / 'submission')
        logger.add_scalar('train/lr', 0.1, 3)
        assert accumulate(run_dir / 'submission').Scalars('train/lr')[0].step == 3
        with pytest.raises(ValueError, match='already records'):
            logger.add_parameters({'a': 1}, {'m': 1.0})
        with pytest.raises(ValueError, match=r'\[0, 1\]'):  # a caller's bug still raises
            logger.add_image('i', np.full((2, 2), 2.0))
        # A thread starts with an empty context: it finds the trial through the environment.
        seen = []
        thread = threading.Thread(target=lambda: seen.append(Logger.for_trial()))
        thread.start()
        thread.join()
        assert seen == [logger]
    assert logger.closed and trial_context.current_trial_dir() is None
    assert len(os.listdir(run_dir / 'submission')) == 1


def test_logger_for_trial_in_a_child_process(tmp_path):
    """A process the submission starts inherits AE_TRIAL_DIR and logs into the same trial."""
    run_dir = tmp_path / 'mnist' / 'run_1'
    code = (
        'from algorithmic_efficiency.tensorboard import Logger\n'
        'Logger.for_trial().add_scalar("child/x", 2.5, 7)\n'
    )
    with trial_context.trial(str(run_dir)):
        proc = subprocess.run(
            [sys.executable, '-c', code], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
    assert proc.returncode == 0, proc.stderr
    assert 'AE_TRIAL_DIR' not in os.environ
    scalars = accumulate(run_dir / 'submission').Scalars('child/x')
    assert [(s.step, s.value) for s in scalars] == [(7, 2.5)]


def test_logger_for_trial_from_the_environment_or_nothing(tmp_path, monkeypatch, caplog):
    """In a child process only AE_TRIAL_DIR names the trial; another trial closes the previous."""
    run_dir = tmp_path / 'mnist' / 'run_1'
    run_dir.mkdir(parents=True)
    monkeypatch.setenv('AE_TRIAL_DIR', str(run_dir))
    logger = Logger.for_trial()
    assert Logger.for_trial() is logger
    logger.add_scalar('train/lr', 0.1, 3)
    assert accumulate(run_dir / 'submission').Scalars('train/lr')[0].step == 3

    # The next trial closes the previous one; I/O errors only warn.
    run_2 = tmp_path / 'mnist' / 'run_2'
    run_2.mkdir()
    (run_2 / 'submission').write_text('in the way')
    with caplog.at_level(logging.WARNING):
        second = Logger.for_trial(str(run_2))
        second.add_scalar('x', 1.0)
        second.add_scalar('x', 2.0)
    assert logger.closed and len(caplog.records) == 1

    # Outside a trial (no --log_dir): checks its input, writes nothing.
    monkeypatch.delenv('AE_TRIAL_DIR')
    quiet = Logger.for_trial()
    quiet.add_scalar('x', 1.0)
    quiet.add_image('i', np.zeros((2, 2)))
    assert quiet.logdir is None
    with pytest.raises(ValueError):
        quiet.add_image('i', np.zeros((3, 2, 2)))
    quiet.close()


LOGGING_SUBMISSION = '''
import os, runpy
from algorithmic_efficiency.recording.trial_context import current_trial_dir
from algorithmic_efficiency.tensorboard import Logger
_base = runpy.run_path(os.path.join({root!r}, 'baselines/mnist/mnist_pytorch/submission.py'))
get_batch_size = _base['get_batch_size']
data_selection = _base['data_selection']
init_optimizer_state = _base['init_optimizer_state']

def update_params(workload, params, types, state, hp, batch, loss_type, opt, evals, step, rng):
    # A submission logging its own scalar into its trial's directory.
    logger = Logger.for_trial()
    assert logger is Logger.for_trial()
    assert logger.logdir == os.path.join(current_trial_dir(), 'submission')
    logger.add_scalar('submission/step_seen', float(step), step)
    return _base['update_params'](workload, params, types, state, hp, batch, loss_type, opt,
                                  evals, step, rng)
'''


def test_runner_flag_writes_what_the_cli_rebuilds(tmp_path):
    """--tensorboard during the sweep == the CLI from the files afterwards, byte for byte."""
    sub = tmp_path / 'submission.py'
    sub.write_text(LOGGING_SUBMISSION.format(root=ROOT))
    log_dir = tmp_path / 'logs'
    proc = run_module(
        'algorithmic_efficiency.submission_runner', '--workload=mnist_pytorch',
        f'--submission_path={sub}', f'--tuning_search_space={SPACE}',
        '--num_tuning_trials=2', '--max_global_steps=8', '--rng_seed=0', f'--log_dir={log_dir}',
        '--tensorboard')
    assert proc.returncode == 0, proc.stderr[-3000:]
    live = own_files(log_dir)
    wdir = 'mnist_pytorch'
    for rel in (wdir, f'{wdir}/incumbent', f'{wdir}/run_1', f'{wdir}/run_1/eval',
                f'{wdir}/run_1/telemetry', f'{wdir}/run_2/eval'):
        assert any(os.path.dirname(p) == rel for p in live), (rel, sorted(live))
    # The submission's Logger wrote into its own trial's directory.
    for run in (1, 2):
        acc = accumulate(log_dir / wdir / f'run_{run}' / 'submission')
        steps = [e.step for e in acc.Scalars('submission/step_seen')]
        assert steps == list(range(8))
        assert len(os.listdir(log_dir / wdir / f'run_{run}' / 'submission')) == 1  # one Logger
    proc = run_module('algorithmic_efficiency.tensorboard', str(log_dir), '-q')
    assert proc.returncode == 0, proc.stderr
    assert own_files(log_dir) == live


def test_an_interrupted_trial_ends_with_an_unknown_status(tmp_path):
    """Ctrl-C: no row says how the trial ended; the recorder's set_status does."""
    run_dir = tmp_path / 'w' / 'run_1'
    writer = tb_writer.TrialTensorBoardWriter(str(run_dir), {'lr': 0.1}, ['lr'])
    writer.write_row({'global_step': 5, 'loss': 0.5, 'accuracy': 0.8, 'status': 'running',
                      'global_start_time': 1.8e9, 'accumulated_submission_time': 1.0,
                      'eval_time_sec': 0.1})
    writer.set_status('interrupted')
    try:
        raise KeyboardInterrupt  # closed while Ctrl-C unwinds, as the trial loop does
    except KeyboardInterrupt:
        writer.close()
    end = accumulate(run_dir).SummaryMetadata(hparams_metadata.SESSION_END_INFO_TAG)
    status = hparams_metadata.parse_session_end_info_plugin_data(end.plugin_data.content).status
    assert status == api_pb2.STATUS_UNKNOWN  # TensorBoard has no 'killed'; ended, not running
