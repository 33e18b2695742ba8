"""The language models end to end through the runner's command line, in both frameworks.

The tiny LM on the offline corpus (two steps at batch 4 per framework, one
log dir), on small files in both real formats, the peer's NAdamW baselines
unchanged but for their batch size, and bad data as one line with exit 2.
"""

import json
import math
import os

import pandas as pd
import pytest
from lm_files import write_real_data
from sweeps import run_cli

from algorithmic_efficiency.storage import csv_io
from algorithmic_efficiency.workloads.lm import config, corpus

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPACE = os.path.join(ROOT, 'baselines/lm/tuning_search_space.json')
PEER = os.path.join(ROOT, 'tests', 'algoperf_submissions')
EVAL_COLUMNS = ['accuracy', 'loss', 'ppl', 'train.accuracy', 'train.loss', 'train.ppl']
BATCH = 4

WRAPPER = '''"""{path} with get_batch_size -> {batch}, for tests (the rest unchanged)."""
import importlib.util

_spec = importlib.util.spec_from_file_location('wrapped', {path!r})
_sub = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_sub)
init_optimizer_state = _sub.init_optimizer_state
update_params = _sub.update_params
data_selection = _sub.data_selection


def get_batch_size(workload_name):
    return {batch}
'''


def small_batch(tmp_path, path, name):
    out = tmp_path / f'{name}.py'
    out.write_text(WRAPPER.format(path=str(path), batch=BATCH))
    return str(out)


def rows(log_dir, workload, run=1):
    return csv_io.read_metrics_csv(os.path.join(log_dir, workload, f'run_{run}', 'metrics.csv'))


def meta(log_dir, workload):
    with open(os.path.join(log_dir, workload, 'metadata.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def corpus_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp('lm_e2e')
    log_dir = root / 'logs'
    for fw in ('jax', 'pytorch'):
        sub = small_batch(root, f'{ROOT}/baselines/lm/lm_{fw}/submission.py', f'adamw_{fw}')
        run_cli([f'--workload=lm_tiny_{fw}', f'--submission_path={sub}',
                 f'--tuning_search_space={SPACE}', '--num_tuning_trials=1',
                 '--max_global_steps=2', '--rng_seed=5', f'--log_dir={log_dir}'],
                module=fw == 'pytorch', check_rc=0)
    return str(log_dir)


def test_both_frameworks_train_on_the_offline_corpus(corpus_sweep):
    for fw in ('jax', 'pytorch'):
        df = rows(corpus_sweep, f'lm_tiny_{fw}')
        assert df['global_step'].tolist() == [1, 2]
        assert df['status'].tolist() == ['running', 'complete']
        cols = list(df.columns)
        start = cols.index('epoch') + 1
        assert cols[start : start + 6] == EVAL_COLUMNS
        assert (pd.to_numeric(df['ppl']) > 50).all()  # two steps: far from trained
        assert (df['workload.target_metric_name'] == 'ppl').all()
        assert (df['workload.compute_dtype'] == 'float32').all()
        assert (df['workload.vocab_size'] == 256).all()
        m = meta(corpus_sweep, f'lm_tiny_{fw}')
        assert m['data.source'] == 'pydoc_data' and m['data.comparable_to_finewebedu'] is False
        assert m['data.sha256'] == corpus.fingerprint(corpus.topics())
        assert m['data.calibrated_sha256'] == corpus.CALIBRATED_SHA256
        assert m['workload.num_eval_examples'] == 256


def test_throughput_columns_and_peak_flops(corpus_sweep):
    flops = config.TINY.flops_per_step(BATCH)
    for fw in ('jax', 'pytorch'):
        df = rows(corpus_sweep, f'lm_tiny_{fw}')
        m = meta(corpus_sweep, f'lm_tiny_{fw}')
        assert m['devices.peak_flops'] > 1e8
        assert m['devices.peak_flops_source'].startswith('measured')
        assert m['devices.peak_flops_dtype'] == 'float32'
        cols = list(df.columns)
        assert cols.index('status') < cols.index('throughput.examples_per_sec')
        for _, r in df.iterrows():
            rate = float(r['throughput.examples_per_sec'])
            assert rate > 0
            assert float(r['throughput.tokens_per_sec']) == pytest.approx(rate * 128)
            assert int(r['throughput.model_flops_per_step']) == flops
            # MFU = achieved model FLOP/s over the measured peak: what the row's numbers say.
            assert float(r['throughput.mfu']) == pytest.approx(
                rate / BATCH * flops / m['devices.peak_flops'], rel=1e-6)
        # The second interval is one step: its rate is that step's batch over its time.
        t = pd.to_numeric(df['accumulated_submission_time']).tolist()
        assert float(df['throughput.examples_per_sec'].iloc[1]) == pytest.approx(
            BATCH / (t[1] - t[0]), rel=1e-6)


def test_status_shows_the_mfu(corpus_sweep):
    from pyrun import run_module

    proc = run_module('algorithmic_efficiency.status', corpus_sweep)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(ln for ln in lines if ln.startswith('trial'))
    assert header.split()[-2:] == ['mfu', 'note']
    row = lines[lines.index(header) + 1].split()
    last = float(rows(corpus_sweep, 'lm_tiny_jax')['throughput.mfu'].iloc[-1])
    assert float(row[header.split().index('mfu')]) == pytest.approx(last, abs=6e-4)
    assert 'target ppl' in proc.stdout


def test_first_evals_agree_across_frameworks(corpus_sweep):
    j, t = rows(corpus_sweep, 'lm_tiny_jax'), rows(corpus_sweep, 'lm_tiny_pytorch')
    for col in EVAL_COLUMNS:
        assert float(j[col].iloc[0]) == pytest.approx(float(t[col].iloc[0]), rel=1e-4), col
    # After an AdamW step on the same batch the networks are still the same to 1e-3.
    assert float(j['loss'].iloc[1]) == pytest.approx(float(t['loss'].iloc[1]), rel=1e-3)
    assert float(j['loss'].iloc[1]) < float(j['loss'].iloc[0])


@pytest.mark.parametrize('fw,fmt', [('jax', 'arrow'), ('pytorch', 'bin')])
def test_tiny_lm_trains_on_real_formats(tmp_path, fw, fmt):
    data_dir = tmp_path / 'data'
    write_real_data(data_dir, fmt, num_docs=120)
    sub = small_batch(tmp_path, f'{ROOT}/baselines/lm/lm_{fw}/submission.py', f'adamw_{fw}')
    log_dir = tmp_path / 'logs'
    run_cli([f'--workload=lm_tiny_{fw}', f'--submission_path={sub}',
             f'--tuning_search_space={SPACE}', '--num_tuning_trials=1', '--max_global_steps=1',
             '--rng_seed=1', f'--data_dir={data_dir}', f'--log_dir={log_dir}'], check_rc=0)
    df = rows(log_dir, f'lm_tiny_{fw}')
    assert df['status'].tolist() == ['complete']
    assert float(df['loss'].iloc[0]) == pytest.approx(math.log(50257), rel=0.05)
    assert (df['workload.vocab_size'] == 50257).all()
    m = meta(log_dir, f'lm_tiny_{fw}')
    assert m['data.source'] == fmt and m['data.comparable_to_finewebedu'] is True
    assert m['data.num_train_examples'] == m['data.num_train_tokens'] // 129


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_peer_nadamw_baselines_run_unchanged(tmp_path, fw):
    sub = small_batch(tmp_path, os.path.join(PEER, f'{fw}_nadamw.py'), f'peer_{fw}')
    log_dir = tmp_path / 'logs'
    run_cli([f'--workload=lm_tiny_{fw}', f'--submission_path={sub}',
             f'--tuning_search_space={PEER}/nadamw_search_space.json', '--num_tuning_trials=1',
             '--max_global_steps=2', '--rng_seed=3', f'--log_dir={log_dir}'], check_rc=0)
    df = rows(log_dir, f'lm_tiny_{fw}')
    assert df['status'].tolist() == ['running', 'complete']
    assert float(df['loss'].iloc[1]) < float(df['loss'].iloc[0])
    assert meta(log_dir, f'lm_tiny_{fw}')['submission.api'] == 'algoperf-compat'


@pytest.mark.parametrize('case', ['missing_split', 'token_id', 'too_short'])
def test_bad_data_is_one_line_exit_2_nothing_written(tmp_path, case):
    from lm_files import write_shard

    data_dir = tmp_path / 'data'
    data_dir.mkdir()
    write_shard(data_dir / 'x_train_0.bin', [1, 2, 3] * 1000)  # 23 windows: more than a batch
    if case == 'token_id':
        write_shard(data_dir / 'x_val_0.bin', [1, 2, 60000] * 100)  # GPT-2 has 50,257
    elif case == 'too_short':
        write_shard(data_dir / 'x_val_0.bin', [1, 2, 3] * 10)
    log_dir = tmp_path / 'logs'
    proc = run_cli(['--workload=lm_tiny_jax',
                    f'--submission_path={ROOT}/baselines/lm/lm_jax/submission.py',
                    f'--tuning_search_space={SPACE}', '--num_tuning_trials=1',
                    f'--data_dir={data_dir}', f'--log_dir={log_dir}'], check_rc=2)
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert 'Traceback' not in proc.stderr
    message = lines[-1]
    expected = {'missing_split': "no 'val' split", 'token_id': 'outside the vocabulary',
                'too_short': 'cannot fill one sequence'}[case]
    assert expected in message and str(data_dir) in message
    written = [p for p in log_dir.rglob('*') if p.is_file()] if log_dir.exists() else []
    assert not written, written
