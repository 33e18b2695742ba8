"""Tests of the metrics CSV storage: csv_format, csv_writer, csv_reader (and the csv_io API)."""

import fcntl
import logging
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from algorithmic_efficiency.storage import csv_format, csv_io, csv_reader
from algorithmic_efficiency.storage.csv_reader import concatenate_csvs, read_metrics_csv
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TRICKY_STRINGS = [
    'plain',
    'with,comma',
    'with "quotes"',
    'multi\nline',
    'carriage\rreturn',
    'crlf\r\nend',
    '"',
    ',',
    ' leading and trailing ',
    'unicode: ünïcødé — ✓',
]


def _rows():
    rng = random.Random(42)
    rows = []
    for i in range(40):
        rows.append(
            {
                'step': i,
                'big': 32128228457472 + i,
                'f': [0.1, 1e-05, 0.30000000000000004, 1e300, -2.5e-300, 123.0][i % 6],
                'r': rng.random() * 10 ** rng.randint(-200, 200),
                'flag': i % 3 == 0,
                's': TRICKY_STRINGS[i % len(TRICKY_STRINGS)],
                'maybe': None if i % 4 == 0 else (float('nan') if i % 4 == 1 else float(i)),
            }
        )
    return rows


def _write(path, rows, **kw):
    with MetricsCsvWriter(path, **kw) as w:
        for row in rows:
            w.write_row(row)
    return w


def _check_frame(df, rows):
    assert list(df.columns) == list(rows[0])
    assert len(df) == len(rows)
    for i, row in enumerate(rows):
        got = df.iloc[i]
        assert int(got['step']) == row['step']
        assert int(got['big']) == row['big']
        assert float(got['f']) == row['f']
        assert float(got['r']) == row['r']  # exact, not approx
        assert bool(got['flag']) is row['flag']
        assert got['s'] == row['s']
        if row['maybe'] is None or math.isnan(row['maybe']):
            assert pd.isna(got['maybe'])
        else:
            assert float(got['maybe']) == row['maybe']


# ---------------------------------------------------------------------------
# Writer: formatting and round trips
# ---------------------------------------------------------------------------
def test_round_trip_pandas(tmp_path):
    path = tmp_path / 'a' / 'b' / 'metrics.csv'  # parent dirs are created
    rows = _rows()
    _write(path, rows)
    df = read_metrics_csv(path)
    _check_frame(df, rows)
    assert df['flag'].dtype == bool
    assert df['big'].dtype == np.int64
    # Plain pandas reads it back exactly too.
    _check_frame(pd.read_csv(path), rows)


def test_round_trip_pyarrow(tmp_path):
    path = tmp_path / 'metrics.csv'
    rows = _rows()
    _write(path, rows)
    table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    assert table.schema.field('step').type == pa.int64()
    assert table.schema.field('big').type == pa.int64()
    assert table.schema.field('f').type == pa.float64()
    assert table.schema.field('flag').type == pa.bool_()
    d = table.to_pydict()
    for i, row in enumerate(rows):
        assert d['big'][i] == row['big']
        assert d['f'][i] == row['f']
        assert d['r'][i] == row['r']
        assert d['flag'][i] is row['flag']
        assert d['s'][i] == row['s']
        if row['maybe'] is None or math.isnan(row['maybe']):
            assert d['maybe'][i] is None
        else:
            assert d['maybe'][i] == row['maybe']


def test_value_formatting(tmp_path):
    path = tmp_path / 'metrics.csv'
    row = {
        'float': 0.1,
        'small': 1e-05,
        'int': 32128228457472,
        'true': True,
        'false': False,
        'none': None,
        'nan': float('nan'),
        'np_f64': np.float64(0.1),
        'np_f32': np.float32(0.5),
        'np_i64': np.int64(7),
        'np_bool': np.bool_(True),
        'np_0d': np.array(2.5),
        'np_nan': np.float32('nan'),
        'str': 'a,b',
    }
    _write(path, [row])
    text = path.read_text()
    header, line = text.splitlines()
    assert header == ','.join(row)
    assert line == '0.1,1e-05,32128228457472,True,False,,,0.1,0.5,7,True,2.5,,"a,b"'


def test_missing_keys_give_empty_fields(tmp_path):
    path = tmp_path / 'metrics.csv'
    _write(path, [{'a': 1, 'b': 2, 'c': 3}, {'c': 30, 'a': 10}, {}])
    assert path.read_text() == 'a,b,c\n1,2,3\n10,,30\n,,\n'
    df = read_metrics_csv(path)
    assert df['a'].tolist()[:2] == [1, 10]
    assert pd.isna(df['b'][1]) and pd.isna(df['b'][2])


def test_single_column_empty_value_is_not_a_blank_line(tmp_path):
    path = tmp_path / 'metrics.csv'
    _write(path, [{'a': 1}, {'a': None}, {'a': 3}])
    df = read_metrics_csv(path)
    assert len(df) == 3 and pd.isna(df['a'][1])


def test_reopen_continues_file(tmp_path):
    path = tmp_path / 'metrics.csv'
    _write(path, [{'step': 0, 'loss': 1.5}])
    with MetricsCsvWriter(path) as w:
        assert w.columns == ['step', 'loss']
        w.write_row({'step': 1, 'loss': 0.25})
    assert path.read_text() == 'step,loss\n0,1.5\n1,0.25\n'


def test_new_column_rewrites_once_and_keeps_every_row(tmp_path):
    path = tmp_path / 'metrics.csv'
    w = MetricsCsvWriter(path)
    old_rows = _rows()[:12]
    for row in old_rows:
        w.write_row(row)
    before = read_metrics_csv(path)
    w.write_row({'step': 100, 'new_b': 'x', 'new_a': 2.5})
    w.write_row({'step': 101, 'new_a': 3.5})
    w.close()
    assert w.columns == list(old_rows[0]) + ['new_b', 'new_a']
    assert not os.path.exists(str(path) + '.tmp')
    df = read_metrics_csv(path)
    assert list(df.columns) == w.columns
    assert len(df) == 14
    old = df.iloc[:12][list(old_rows[0])].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before, check_dtype=False)
    assert df['new_b'].iloc[:12].isna().all() and df['new_a'].iloc[:12].isna().all()
    assert df['step'].tolist()[12:] == [100, 101]
    assert df['new_a'].tolist()[12:] == [2.5, 3.5]
    assert df['new_b'].iloc[12] == 'x' and pd.isna(df['new_b'].iloc[13])


def test_failed_rewrite_keeps_the_file_and_the_header(tmp_path, monkeypatch):
    """A new column that can't be written (disk full at the rename) changes nothing."""
    path = tmp_path / 'metrics.csv'
    w = MetricsCsvWriter(path)
    w.write_row({'a': 1, 'b': 'x'})

    def full(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', full)
    with pytest.raises(OSError, match='No space'):
        w.write_row({'a': 2, 'new': 1.5})
    monkeypatch.undo()
    assert w.columns == ['a', 'b'] and not os.path.exists(str(path) + '.tmp')
    w.write_row({'a': 3, 'b': 'y'})  # still appends under the old header
    w.write_row({'a': 4, 'new': 2.5})  # and the rewrite works once the disk has room
    w.close()
    assert path.read_text() == 'a,b,new\n1,x,\n3,y,\n4,,2.5\n'


def test_new_column_after_reopen(tmp_path):
    path = tmp_path / 'metrics.csv'
    _write(path, [{'a': 1, 's': 'x\ny'}])
    _write(path, [{'a': 2, 'b': True}])
    assert path.read_text() == 'a,s,b\n1,"x\ny",\n2,,True\n'


def test_write_after_close_raises(tmp_path):
    w = _write(tmp_path / 'metrics.csv', [{'a': 1}])
    with pytest.raises(ValueError):
        w.write_row({'a': 2})


# ---------------------------------------------------------------------------
# Partial last lines
# ---------------------------------------------------------------------------
def _truncated_file(tmp_path, cut_inside_quotes=False):
    path = tmp_path / 'wl' / 'run_1' / 'metrics.csv'
    rows = [{'step': i, 'loss': i / 3, 's': f'v{i}'} for i in range(5)]
    if cut_inside_quotes:
        rows[-1]['s'] = 'multi\nline, value'
    _write(path, rows)
    data = path.read_bytes()
    last_line_start = data.rfind(b'\n', 0, len(data) - 1) + 1
    if cut_inside_quotes:  # cut right after the newline inside the quotes
        cut = data.index(b'multi\n') + len(b'multi\n')
    else:
        cut = last_line_start + 3
    path.write_bytes(data[:cut])
    return path, rows[:-1]


@pytest.mark.parametrize('inside_quotes', [False, True])
def test_read_metrics_csv_drops_partial_last_line(tmp_path, caplog, inside_quotes):
    path, complete = _truncated_file(tmp_path, inside_quotes)
    with caplog.at_level(logging.WARNING):
        df = read_metrics_csv(path)
    assert df['step'].tolist() == [r['step'] for r in complete]
    assert df['loss'].tolist() == [r['loss'] for r in complete]
    assert 'partial last line' in caplog.text


@pytest.mark.parametrize('inside_quotes', [False, True])
def test_concatenate_drops_partial_last_line(tmp_path, caplog, inside_quotes):
    _, complete = _truncated_file(tmp_path, inside_quotes)
    with caplog.at_level(logging.WARNING):
        out = concatenate_csvs(tmp_path)
    df = pd.read_csv(out)
    assert df['step'].tolist() == [r['step'] for r in complete]
    assert 'partial last line' in caplog.text


@pytest.mark.parametrize('inside_quotes', [False, True])
def test_reopen_drops_partial_last_line_and_appends_cleanly(tmp_path, caplog, inside_quotes):
    path, complete = _truncated_file(tmp_path, inside_quotes)
    with caplog.at_level(logging.WARNING), MetricsCsvWriter(path) as w:
        w.write_row({'step': 99, 'loss': 0.5, 's': 'after'})
    assert 'partial last line' in caplog.text
    df = read_metrics_csv(path)
    assert df['step'].tolist() == [r['step'] for r in complete] + [99]
    assert df['s'].tolist()[-1] == 'after'
    assert path.read_bytes().endswith(b'99,0.5,after\n')


def test_rewrite_drops_partial_last_line(tmp_path, caplog):
    path, complete = _truncated_file(tmp_path)
    # Reopen: the writer drops the partial line; simulate one appearing later
    # (e.g. a disk-full) before a row with a new column forces a rewrite.
    w = MetricsCsvWriter(path)
    with open(path, 'ab') as f:
        f.write(b'17,0.')
    with caplog.at_level(logging.WARNING):
        w.write_row({'step': 5, 'extra': 1})
    w.close()
    assert 'partial last line' in caplog.text
    df = read_metrics_csv(path)
    assert df['step'].tolist() == [r['step'] for r in complete] + [5]
    assert list(df.columns) == ['step', 'loss', 's', 'extra']


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / 'empty.csv'
    empty.write_bytes(b'')
    assert read_metrics_csv(empty).empty
    header_only = tmp_path / 'header.csv'
    header_only.write_bytes(b'a,b,c\n')
    df = read_metrics_csv(header_only)
    assert df.empty and list(df.columns) == ['a', 'b', 'c']
    # A writer on an empty file starts it; on a header-only file continues it.
    with MetricsCsvWriter(empty) as w:
        w.write_row({'x': 1})
    assert empty.read_text() == 'x\n1\n'
    with MetricsCsvWriter(header_only) as w:
        assert w.columns == ['a', 'b', 'c']
        w.write_row({'b': 2})
    assert header_only.read_text() == 'a,b,c\n,2,\n'


# ---------------------------------------------------------------------------
# Crash safety and cost
# ---------------------------------------------------------------------------
_KILL_CHILD = textwrap.dedent(r'''
    import sys, zlib
    from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter
    w = MetricsCsvWriter(sys.argv[1])
    i = 0
    while True:
      x = i / 7.0
      payload = f'p{i},"q{i}"\n' + 'x' * (i % 37)
      row = {'step': i, 'x': x, 'payload': payload, 'flag': i % 2 == 0}
      if i >= 300:
        row['late'] = i * 0.5  # forces one atomic rewrite mid-run
      row['checksum'] = zlib.crc32(f'{i}|{x!r}|{payload}'.encode())
      w.write_row(row)
      if i == 400:  # past the rewrite: the kill hits plain appends
        print('started', flush=True)
      i += 1
    ''')


def test_kill_9_leaves_only_complete_rows(tmp_path):
    path = tmp_path / 'wl' / 'run_1' / 'metrics.csv'
    proc = subprocess.Popen(
        [sys.executable, '-c', _KILL_CHILD, str(path)], stdout=subprocess.PIPE, cwd=REPO_DIR
    )
    try:
        assert proc.stdout.readline().strip() == b'started'
        time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    df = read_metrics_csv(path)
    assert len(df) > 400
    assert list(df.columns) == ['step', 'x', 'payload', 'flag', 'checksum', 'late']
    for i, row in enumerate(df.itertuples(index=False)):
        x = i / 7.0
        payload = f'p{i},"q{i}"\n' + 'x' * (i % 37)
        assert row.step == i
        assert row.x == x
        assert row.payload == payload
        assert row.flag == (i % 2 == 0)
        assert row.checksum == zlib.crc32(f'{i}|{x!r}|{payload}'.encode())
        if i >= 300:
            assert row.late == i * 0.5
        else:
            assert math.isnan(row.late)
    out = concatenate_csvs(tmp_path)
    all_df = pd.read_csv(out)
    assert all_df['step'].tolist() == list(range(len(df)))
    # Reopening after the kill appends cleanly.
    with MetricsCsvWriter(path) as w:
        w.write_row({'step': len(df)})
    assert read_metrics_csv(path)['step'].tolist() == list(range(len(df) + 1))


def test_one_os_write_per_row_on_an_o_append_fd(tmp_path, monkeypatch):
    path = tmp_path / 'metrics.csv'
    w = MetricsCsvWriter(path)
    flags = fcntl.fcntl(w._fd, fcntl.F_GETFL)
    assert flags & os.O_APPEND
    calls = []
    real_write = os.write

    def spy(fd, data):
        calls.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, 'write', spy)
    row = {f'col{i}': i * 0.5 for i in range(60)}
    w.write_row(row)  # header + first row: one write
    assert len(calls) == 1 and calls[0].count(b'\n') == 2
    for _ in range(5):
        w.write_row(row)
    assert len(calls) == 6
    assert all(c.endswith(b'\n') and c.count(b'\n') == 1 for c in calls[1:])
    w.close()


def test_short_writes_are_continued(tmp_path, monkeypatch):
    path = tmp_path / 'metrics.csv'
    w = MetricsCsvWriter(path)
    real_write = os.write
    monkeypatch.setattr(os, 'write', lambda fd, data: real_write(fd, data[:7]))
    w.write_row({'a': 'x' * 50, 'b': 1.25})
    w.write_row({'a': 'y', 'b': 2})
    w.close()
    monkeypatch.undo()
    assert path.read_text() == f'a,b\n{"x" * 50},1.25\ny,2\n'


def test_append_reads_nothing_whatever_the_file_size(tmp_path, monkeypatch):
    """An append's work is independent of the file: no read, no seek, one write of the row."""
    row = {f'c{i}': (i * 0.123456789 if i % 3 else f's{i}') for i in range(60)}
    with MetricsCsvWriter(tmp_path / 'big.csv') as w:
        for _ in range(5000):
            w.write_row(row)
    w = MetricsCsvWriter(tmp_path / 'big.csv')  # reopening reads the header; appends must not
    touched, writes = [], []
    real_write = os.write

    def forbidden(name):
        def call(*args, **kwargs):
            touched.append(name)
            raise AssertionError(f'{name} during an append')

        return call

    for name in ('read', 'pread', 'lseek', 'open', 'fstat', 'stat', 'replace', 'ftruncate'):
        monkeypatch.setattr(os, name, forbidden(f'os.{name}'))
    monkeypatch.setattr('builtins.open', forbidden('open'))
    monkeypatch.setattr(
        os, 'write', lambda fd, data: writes.append(len(data)) or real_write(fd, data)
    )
    for _ in range(3):
        w.write_row(row)
    monkeypatch.undo()
    w.close()
    line = csv_format.format_line([csv_format.format_value(v) for v in row.values()])
    assert touched == [] and writes == [len(line)] * 3
    assert len(read_metrics_csv(tmp_path / 'big.csv')) == 5003


# ---------------------------------------------------------------------------
# concatenate_csvs
# ---------------------------------------------------------------------------
def _make_tree(root):
    """Two workloads x several runs, with different column sets."""
    expected = []
    for workload, runs in (('mnist', [1, 2, 10, 3]), ('wmt', [2, 1])):
        for run in runs:
            rows = []
            for step in range(3):
                row = {
                    'workload': workload,
                    'run_idx': run,
                    'global_step': step,
                    'loss': 1 / (step + run + 1),
                }
                if run % 2 == 0:
                    row['hparam.lr'] = 0.1 * run
                if workload == 'wmt':
                    row['bleu'] = 30.5 + step
                    row['note'] = 'a,"b"\nc'
                if run == 10:
                    row['gpu.0.util'] = 99
                rows.append(row)
            _write(root / workload / f'run_{run}' / 'metrics.csv', rows)
            expected.append((workload, run, rows))
    return expected


def test_concatenate_union_and_natural_order(tmp_path):
    _make_tree(tmp_path)
    (tmp_path / 'mnist' / 'run_1' / 'other.csv').write_text('x\n1\n')
    (tmp_path / 'mnist' / 'all_metrics.csv').write_text('bogus\n1\n')
    out = concatenate_csvs(tmp_path)
    assert out == os.path.join(str(tmp_path), 'all_metrics.csv')
    df = pd.read_csv(out)
    assert list(df.columns) == [
        'workload',
        'run_idx',
        'global_step',
        'loss',
        'hparam.lr',
        'gpu.0.util',
        'bleu',
        'note',
    ]
    order = list(zip(df['workload'], df['run_idx'], strict=True))[::3]
    assert order == [
        ('mnist', 1),
        ('mnist', 2),
        ('mnist', 3),
        ('mnist', 10),
        ('wmt', 1),
        ('wmt', 2),
    ]
    assert len(df) == 18
    mnist2 = df[(df.workload == 'mnist') & (df.run_idx == 2)]
    assert mnist2['hparam.lr'].tolist() == [0.2] * 3
    assert mnist2['bleu'].isna().all()
    assert df[df.run_idx == 10]['gpu.0.util'].tolist() == [99] * 3
    assert df[df.workload == 'wmt']['note'].tolist() == ['a,"b"\nc'] * 6
    assert df['loss'].tolist()[:3] == [1 / 2, 1 / 3, 1 / 4]


def test_concatenate_is_deterministic_and_ignores_its_output(tmp_path):
    _make_tree(tmp_path)
    out = concatenate_csvs(tmp_path)
    first = Path(out).read_bytes()
    out2 = concatenate_csvs(tmp_path)
    assert out2 == out
    assert Path(out2).read_bytes() == first
    # Even when the output is named metrics.csv it is not read back.
    out3 = concatenate_csvs(tmp_path, output_name='metrics.csv')
    rows3 = pd.read_csv(out3)
    out4 = concatenate_csvs(tmp_path, output_name='metrics.csv')
    pd.testing.assert_frame_equal(pd.read_csv(out4), rows3)
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


def test_concatenate_values_round_trip(tmp_path):
    rows = _rows()
    _write(tmp_path / 'w' / 'run_1' / 'metrics.csv', rows)
    _write(tmp_path / 'w' / 'run_2' / 'metrics.csv', rows)
    df = pd.read_csv(concatenate_csvs(tmp_path))
    _check_frame(df.iloc[: len(rows)].reset_index(drop=True), rows)
    _check_frame(df.iloc[len(rows) :].reset_index(drop=True), rows)
    table = pacsv.read_csv(
        os.path.join(tmp_path, 'all_metrics.csv'),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
    )
    assert table.column('r').to_pylist()[: len(rows)] == [r['r'] for r in rows]


def test_concatenate_without_quotes_matches_pandas(tmp_path):
    rng = random.Random(3)
    frames = []
    for run in range(1, 4):
        rows = [{'step': i, 'x': rng.random(), 'ok': bool(i % 2), 'f': 'jax'} for i in range(50)]
        if run == 2:
            for r in rows:
                r['extra'] = r['x'] * 2
        _write(tmp_path / f'run_{run}' / 'metrics.csv', rows)
        frames.append(pd.DataFrame(rows))
    df = pd.read_csv(concatenate_csvs(tmp_path))
    expected = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)


def test_concatenate_errors(tmp_path):
    with pytest.raises(ValueError, match='no metrics.csv files below'):
        concatenate_csvs(tmp_path)
    missing = tmp_path / 'nope'
    with pytest.raises(ValueError, match='nope'):
        concatenate_csvs(missing)


def test_concatenate_one_liner_in_subprocess(tmp_path):
    _make_tree(tmp_path)
    code = (
        'from algorithmic_efficiency import logging_utils; '
        f'logging_utils.concatenate_csvs({str(tmp_path)!r})'
    )
    subprocess.run([sys.executable, '-c', code], check=True, cwd=tmp_path, timeout=60)
    assert len(pd.read_csv(tmp_path / 'all_metrics.csv')) == 18


def test_csv_io_import_is_light():
    code = (
        'import sys; import algorithmic_efficiency.storage.csv_io; '
        'heavy = {"pandas", "pyarrow", "jax", "torch"}; '
        'print(sorted(heavy & set(sys.modules)))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        timeout=60,
    ).stdout
    assert out.strip() == '[]'


def test_natural_key_orders_numbers_numerically():
    paths = ['run_10/metrics.csv', 'run_2/metrics.csv', 'run_1/metrics.csv', 'a/run_3/metrics.csv']
    assert sorted(paths, key=csv_reader._natural_key) == [
        'a/run_3/metrics.csv',
        'run_1/metrics.csv',
        'run_2/metrics.csv',
        'run_10/metrics.csv',
    ]


def test_concatenate_single_column_and_empty_files(tmp_path):
    _write(tmp_path / 'run_1' / 'metrics.csv', [{'a': 1}, {'a': None}, {'a': 3}])
    _write(tmp_path / 'run_2' / 'metrics.csv', [{'a': 'x,y'}, {'a': ''}])
    (tmp_path / 'run_3').mkdir()
    (tmp_path / 'run_3' / 'metrics.csv').write_bytes(b'')  # started, no eval
    (tmp_path / 'run_4').mkdir()
    (tmp_path / 'run_4' / 'metrics.csv').write_bytes(b'a\n')  # header only
    out = concatenate_csvs(tmp_path)
    assert Path(out).read_text() == 'a\n1\n""\n3\n"x,y"\n""\n'
    df = pd.read_csv(out)
    assert len(df) == 5 and df['a'].isna().tolist() == [False, True, False, False, True]


def test_csv_io_is_the_writer_and_readers():
    assert csv_io.MetricsCsvWriter is MetricsCsvWriter
    assert csv_io.read_metrics_csv is read_metrics_csv
    assert csv_io.concatenate_csvs is concatenate_csvs
