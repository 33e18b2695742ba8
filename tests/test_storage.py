"""storage/: strict JSON, one write per metrics row, and readers that drop a cut line and warn."""

import json
import logging
import math
import os

import pandas as pd
import pytest

from algorithmic_efficiency import spec
from algorithmic_efficiency.recording import recorder as recorder_lib
from algorithmic_efficiency.storage import csv_io
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter
from algorithmic_efficiency.training.results import TrialResult, trial_from_info


# --- Writers.
def test_trial_json_is_strict_json_with_the_text_of_non_finite_values(tmp_path):
    rec = recorder_lib.Recorder(str(tmp_path), 'w', telemetry_interval_sec=60)
    rec.prepare()
    trial = rec.start_trial(1, {'lr': 0.1}, 5)
    result = TrialResult(run_idx=1, hyperparameters={'lr': 0.1}, seed=5,
                         status=spec.TrialStatus.DIVERGED, stop_reason=spec.StopReason.DIVERGED,
                         evals=[{'loss': math.nan, 'accuracy': math.inf}])
    rec.finish_trial(trial, result)
    text = open(os.path.join(rec.run_dir(1), 'trial.json')).read()
    info = json.loads(text, parse_constant=lambda c: pytest.fail(f'non-JSON constant {c}'))
    assert info['final_loss'] is None and info['final_loss_text'] == 'nan'
    assert info['final_accuracy'] is None and info['final_accuracy_text'] == 'inf'
    back = trial_from_info(info)
    assert math.isnan(back.final_eval['loss']) and back.final_eval['accuracy'] == math.inf


def test_each_metrics_row_is_one_write(tmp_path, monkeypatch):
    calls = []
    real_write = os.write
    monkeypatch.setattr(os, 'write', lambda fd, data: calls.append(bytes(data)) or real_write(
        fd, data))
    with MetricsCsvWriter(tmp_path / 'metrics.csv') as w:
        for i in range(5):
            w.write_row({'step': i, 'loss': 1 / (i + 1), 'note': 'a,b' * 100})
    assert len(calls) == 5 and all(c.endswith(b'\n') for c in calls)


def test_every_reader_drops_an_unterminated_last_line(tmp_path, caplog):
    path = tmp_path / 'run_1' / 'metrics.csv'
    path.parent.mkdir()
    path.write_text('step,loss\n1,0.5\n2,0.4\n3,0.')
    assert csv_io.read_metrics_csv(path)['step'].tolist() == [1, 2]
    out = csv_io.concatenate_csvs(tmp_path)
    assert pd.read_csv(out)['step'].tolist() == [1, 2]
    MetricsCsvWriter(path).close()  # the writer cuts it on reopening
    assert pd.read_csv(path)['step'].tolist() == [1, 2]


# --- Readers.
def test_duplicated_column_warns_and_keeps_the_first(tmp_path, caplog):
    path = tmp_path / 'metrics.csv'
    path.write_text('step,loss,accuracy,loss\n1,0.5,0.9,0.01\n2,0.4,0.95,0.02\n')
    with caplog.at_level(logging.WARNING):
        df = csv_io.read_metrics_csv(path)
    assert list(df.columns) == ['step', 'loss', 'accuracy']
    assert df['loss'].min() == 0.4
    assert f'{path}: duplicated column(s) loss' in caplog.text


def test_short_and_long_rows_warn_with_file_and_line(tmp_path, caplog):
    path = tmp_path / 'metrics.csv'
    path.write_text('step,loss,accuracy\n1,0.5,0.9\n2,0.4\n3,0.3,0.95,7\n4,0.2,0.97\n')
    with caplog.at_level(logging.WARNING):
        df = csv_io.read_metrics_csv(path)
    assert df['step'].tolist() == [1, 4]
    assert f'{path}: line 3 has 2 fields, the header 3; skipping the row' in caplog.text
    assert f'{path}: line 4 has 4 fields, the header 3; skipping the row' in caplog.text


def test_concatenate_skips_an_unreadable_file_and_writes_with_the_umask(tmp_path, caplog):
    (tmp_path / 'run_1').mkdir()
    (tmp_path / 'run_1' / 'metrics.csv').write_text('step,loss\n1,0.5\n')
    (tmp_path / 'run_2').mkdir()
    os.symlink(tmp_path / 'gone', tmp_path / 'run_2' / 'metrics.csv')  # unreadable
    old = os.umask(0o022)
    try:
        with caplog.at_level(logging.WARNING):
            out = csv_io.concatenate_csvs(tmp_path)
    finally:
        os.umask(old)
    assert pd.read_csv(out)['step'].tolist() == [1]
    assert 'run_2/metrics.csv: unreadable' in caplog.text
    assert os.stat(out).st_mode & 0o777 == 0o644
