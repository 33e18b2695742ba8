"""Progress lines, the heartbeat's numbers, staleness, the end table and the compact console."""

import io
import logging
import math
import os
import subprocess
import sys

from algorithmic_efficiency.analysis import liveness
from algorithmic_efficiency.recording import console
from algorithmic_efficiency.training import end_table
from algorithmic_efficiency.training.progress import Progress
from algorithmic_efficiency.training.results import SweepResult, TrialResult
from algorithmic_efficiency.training.schedule import EvalSchedule


class FakeClock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_progress_line_content_on_a_plain_stream():
    stream = io.StringIO()  # not a TTY: plain newline-terminated lines
    clock = FakeClock()
    p = Progress('mnist_jax', 2, budget_sec=60.0, max_steps=None, target_metric='accuracy',
                 target_value=0.97, emit=lambda line: print(line, file=stream),
                 interval_sec=10.0, clock=clock)
    p.evaluated(1, 0.5, {'accuracy': 0.91, 'loss': 0.3})
    clock.t += 5
    s = p.tick(401, 4.5)  # 400 steps in 4 s: 100 steps/s; no line yet (5 s < 10 s)
    assert stream.getvalue() == ''
    assert s.steps_per_sec == 100.0 and s.eta_sec == 55.5 and s.budget_sec == 60.0
    clock.t += 6
    s = p.tick(1001, 10.5)
    assert stream.getvalue() == (
        'mnist_jax trial 2: step 1001, 100.0 steps/s, 10.5/60 s (18%), ETA 50 s, '
        'accuracy 0.9100 (target 0.97)\n')
    assert '\r' not in stream.getvalue()
    # A step cap nearer than the budget: ETA from the steps left at the current rate.
    p.max_steps = 2001
    clock.t += 11
    assert p.tick(1001, 10.5).eta_sec == 10.0  # 1000 steps left at 100 steps/s
    assert p.snapshot(1501, 15.5).eta_sec == 5.0  # 500 steps left at 100 steps/s
    d = p.snapshot(1501, 15.5).as_dict()
    assert d['step'] == 1501 and d['wall_time'] == clock.t


def test_progress_without_a_rate_or_eval_yet():
    lines = []
    clock = FakeClock()
    p = Progress('wl', 1, budget_sec=math.inf, target_metric='accuracy', target_value=0.5,
                 emit=lines.append, interval_sec=1.0, clock=clock)
    clock.t += 2
    p.tick(0, 0.0)
    assert lines == ['wl trial 1: step 0, 0 s, ETA ?, accuracy no eval yet (target 0.5)']
    assert p.snapshot(0, 0.0).as_dict()['eta_sec'] is None  # NaN -> JSON null
    quiet = Progress('wl', 1, 10.0, emit=lines.append, interval_sec=0, clock=clock)
    clock.t += 100
    quiet.tick(5, 1.0)
    assert len(lines) == 1  # interval 0: no lines between evals


def test_schedule_ticks_between_evals():
    s = EvalSchedule(period_sec=10.0, budget_sec=60.0, tick_sec=2.0)
    s.evaluated(0.1)
    assert not s.near(2.0) and s.near(2.1) and s.tick_due(2.1) and not s.due(2.1)
    s.ticked(2.1)
    assert not s.near(4.0) and s.near(4.1)
    assert not EvalSchedule(10.0, 60.0).tick_due(1e9)  # no ticks asked


def test_liveness(tmp_path):
    here = liveness._hostname()
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    alive = {'host_id': here, 'pid': os.getpid(), 'started': 1.0}
    assert liveness.is_stale(alive) is False
    assert liveness.is_stale({**alive, 'pid': gone.pid}) is True
    assert liveness.is_stale({'started': 1.0}) is None  # older files: unknown
    remote = {'host_id': liveness.host_id('elsewhere'), 'pid': 1,
              'heartbeat': {'wall_time': 1000.0}}
    assert liveness.is_stale(remote, now=1000.0 + liveness.REMOTE_STALE_SEC - 1) is False
    assert liveness.is_stale(remote, now=1000.0 + liveness.REMOTE_STALE_SEC + 1) is True
    # Without pids: an earlier running trial is stale, the latest can't be told.
    statuses = liveness.mark_stale([
        ({'started': 1.0}, 'running'), ({'started': 2.0}, 'complete'),
        ({'started': 3.0}, 'running'), ({**alive, 'pid': gone.pid, 'started': 4.0}, 'running'),
        ({**alive, 'started': 5.0}, 'running'),
    ])
    assert statuses == ['stale', 'complete', 'stale', 'stale', 'running']


def _trial(run_idx, status, losses, hp, error=None, ttt=None, stop='budget'):
    t = TrialResult(run_idx=run_idx, hyperparameters=hp, seed=0, status=status,
                    stop_reason=stop, global_step=100 * run_idx,
                    accumulated_submission_time=12.345, time_to_target=ttt, error=error)
    t.evals = [{'loss': v, 'accuracy': 0.9} for v in losses]
    return t


def test_end_table_is_aligned_and_names_the_best():
    sweep = SweepResult([
        _trial(1, 'complete', [0.5, 0.3], {'lr': 0.0123456}),
        _trial(2, 'failed', [0.1], {'lr': 0.5}, error='RuntimeError: a long error message'),
        _trial(10, 'complete', [0.4, 0.25], {'lr': 0.001}, ttt=1234.5, stop='target'),
        _trial(3, 'diverged', [0.01, math.nan], {'lr': 9.0}, stop='diverged'),
    ])
    text = end_table.format_end_table('mnist_jax', sweep)
    lines = text.splitlines()
    assert lines[0] == 'mnist_jax: 4 trial(s)'
    header, rows = lines[1], lines[2:6]
    # Every column's cells end (right-aligned) or start (left) where its header does.
    for name in ('trial', 'steps', 'time_s', 'loss', 'accuracy', 'to_target_s'):
        end = header.index(name) + len(name)
        assert all(row[end - 1] != ' ' and (len(row) == end or row[end] == ' ') for row in rows)
    note = header.index('note')
    assert [row[note:] for row in rows] == [
        'budget', 'RuntimeError: a long error message', 'target', 'diverged']
    assert lines[6] == 'score (fastest time to target): 1234.50 s'
    # Failed and diverged trials are never the best, whatever their loss.
    assert lines[7] == 'best: trial 10 (loss 0.2500): lr=0.001'
    assert len(lines) == 8


def test_compact_console_format_and_chatter():
    stream = io.StringIO()
    handler = console.compact(logging.StreamHandler(stream))
    for name in ('root', 'algorithmic_efficiency.x', 'jax._src.xla_bridge', 'urllib3'):
        logger = logging.getLogger(None if name == 'root' else name)
        record = logger.makeRecord(logger.name, logging.INFO, 'f.py', 1, 'hello %s', ('a',), None)
        handler.handle(record)
    tpu = logging.getLogger('jax._src.xla_bridge')
    handler.handle(tpu.makeRecord(tpu.name, logging.WARNING, 'x.py', 1,
                                  'Unable to initialize backend\n' + 'x' * 300, (), None))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines  # the two INFO lines of other libraries are dropped
    assert lines[0][2] == ':' and lines[0][5] == ':' and lines[0][8:] == ' hello a'
    assert lines[1].endswith(' hello a') and 'I1130' not in lines[1]
    assert lines[2][9:] == 'WARNING: jax: Unable to initialize backend...'
