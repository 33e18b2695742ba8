"""metrics.csv is a readable CSV from creation (storage.provisional_header): a trial killed
before its first eval leaves a header, not 0 bytes, and resume/set-aside keep it readable."""

import os
import signal
import subprocess
import sys

import pandas as pd
from hostile import args, submission
from sweeps import ROOT

from algorithmic_efficiency import layout
from algorithmic_efficiency.storage import csv_io
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter


def test_a_new_file_holds_the_header_before_any_row(tmp_path):
    path = tmp_path / 'metrics.csv'
    writer = MetricsCsvWriter(path, header=layout.BUILTIN_COLUMNS)
    assert list(pd.read_csv(path).columns) == list(layout.BUILTIN_COLUMNS)
    writer.write_row({'global_step': 1, 'loss': 0.5, 'framework': 'pytorch'})
    writer.write_row({'global_step': 2, 'loss': 0.25, 'framework': 'pytorch'})
    writer.close()
    frame = pd.read_csv(path)  # the first row's columns, in its order
    assert list(frame.columns) == ['global_step', 'loss', 'framework']
    assert frame['loss'].tolist() == [0.5, 0.25]


def test_a_header_only_file_reopened_takes_the_first_rows_columns(tmp_path):
    path = tmp_path / 'metrics.csv'
    MetricsCsvWriter(path, header=('a', 'b')).close()
    writer = MetricsCsvWriter(path, header=('a', 'b'))
    writer.write_row({'b': 2, 'c': 3})
    writer.close()
    assert path.read_text() == 'b,c\n2,3\n'


def test_a_writer_without_a_header_keeps_its_old_behaviour(tmp_path):
    path = tmp_path / 'metrics.csv'
    MetricsCsvWriter(path).close()
    assert path.read_bytes() == b''


HANGS_AT_FIRST_STEP = '''
import os as _os
import signal as _signal

def update_params(*args, **kwargs):
    _os.kill(_os.getpid(), _signal.SIGKILL)
'''


def test_sigkill_before_the_first_eval_leaves_a_readable_metrics_csv(tmp_path):
    log_dir = tmp_path / 'logs'
    path = submission(tmp_path, HANGS_AT_FIRST_STEP)
    proc = subprocess.run([sys.executable, '-m', 'algorithmic_efficiency.submission_runner',
                           *args(log_dir, submission_path=path, trials=1)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL
    metrics = log_dir / 'mnist_pytorch' / 'run_1' / 'metrics.csv'
    assert os.path.getsize(metrics) > 0
    assert len(pd.read_csv(metrics)) == 0 and len(csv_io.read_metrics_csv(metrics)) == 0
