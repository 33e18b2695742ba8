"""status on hostile input (issue 29 items 2, 17): a stray carriage return in metrics.csv and
an absurd --watch period are handled, not tracebacks."""

import json

from pyrun import run_module

from algorithmic_efficiency.analysis import live


def _sweep(tmp_path, metrics):
    run = tmp_path / 'w' / 'run_1'
    run.mkdir(parents=True)
    (run / 'metrics.csv').write_bytes(metrics)
    (run / 'trial.json').write_text(json.dumps({'run_idx': 1, 'status': 'complete'}))
    (tmp_path / 'w' / 'metadata.json').write_text(json.dumps({'workload': 'w'}))
    return tmp_path


def test_a_stray_carriage_return_is_a_line_end_not_a_traceback(tmp_path):
    _sweep(tmp_path, b'a\rb\n')
    proc = run_module('algorithmic_efficiency.status', tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert '1 trials: 1 complete' in proc.stdout


def test_rows_around_a_carriage_return_in_a_quoted_value_are_kept(tmp_path):
    path = tmp_path / 'metrics.csv'
    path.write_bytes(b'global_step,loss,note\n1,0.5,"a\rb"\n2,0.25,c\n')
    rows = live._read_rows(str(path))
    assert [r['loss'] for r in rows] == ['0.5', '0.25']


def test_watch_beyond_a_day_is_exit_2_one_line(tmp_path):
    _sweep(tmp_path, b'global_step,loss\n1,0.5\n')
    proc = run_module('algorithmic_efficiency.status', tmp_path, '--watch', '1e300', '--count', 1)
    assert proc.returncode == 2
    assert 'Traceback' not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "argument --watch: at most 86400 s (a day), got 1e300")
