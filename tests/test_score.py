"""Scoring across workloads and submissions (analysis.performance_profile, scoring, score CLI).

The math is checked against a fine numerical integration of rho; the reading
of sweeps on folders built here in the runner's file format (metadata.json,
run_N/trial.json, run_N/metrics.csv), where targets are reached at known
times; and end to end on real tiny sweeps (2 submissions x 2 studies) whose
expected values are recomputed here from the metrics.csv rows alone.
"""

import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys

import numpy as np
import pytest
from pyrun import run_python

from algorithmic_efficiency import score as score_cli
from algorithmic_efficiency.analysis import performance_profile as pp
from algorithmic_efficiency.analysis import score_intervals, score_report, scoring

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'algorithmic_efficiency', 'submission_runner.py')
SPACE = os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json')
INF = math.inf


# ---------------------------------------------------------------- sweep folders


def make_sweep(log_dir, workload, trials, energy=False):
    """Writes LOG_DIR/<workload>/ as the runner does.

    `trials`: per trial a list of eval rows ``(submission_time, goal_reached)``
    or, with `energy`, ``(submission_time, goal_reached, cumulative_joules)``.
    """
    framework = workload.rsplit('_', 1)[1]
    wdir = os.path.join(log_dir, workload)
    os.makedirs(wdir)
    with open(os.path.join(wdir, 'metadata.json'), 'w') as f:
        json.dump({'workload': workload, 'framework': framework, 'rng_seed': 0,
                   'workload.target_value': 0.9, 'workload.target_metric_name': 'accuracy'}, f)
    for i, rows in enumerate(trials, start=1):
        run = os.path.join(wdir, f'run_{i}')
        os.makedirs(run)
        first = next((r[0] for r in rows if r[1]), None)
        with open(os.path.join(run, 'trial.json'), 'w') as f:
            json.dump({'run_idx': i, 'status': 'complete', 'seed': i,
                       'stop_reason': 'target' if first is not None else 'max_steps',
                       'global_step': 10 * len(rows), 'time_to_target': first,
                       'accumulated_submission_time': rows[-1][0], 'num_evals': len(rows)}, f)
        header = ['framework', 'run_idx', 'accumulated_submission_time', 'global_step',
                  'accuracy', 'loss', 'workload.target_value', 'goal_reached', 'status']
        if energy:
            header.append('energy.submission_joules')
        with open(os.path.join(run, 'metrics.csv'), 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(header)
            for k, row in enumerate(rows):
                line = [framework, i, row[0], 10 * (k + 1), 0.95 if row[1] else 0.5, 0.3,
                        0.9, row[1], 'running' if k < len(rows) - 1 else 'complete']
                w.writerow(line + list(row[2:]))
    return wdir


def reached(t):
    """A trial that reaches the target at submission time `t` (one eval before it)."""
    return [(t / 2, False), (t, True)]


def missed(t=30.0):
    return [(t / 2, False), (t, False)]


@pytest.fixture
def three_submissions(tmp_path):
    """A: JAX, 2 studies, mnist + cifar10; B: PyTorch, 2 studies, mnist only; C: 3 studies.

    Expected: mnist A [8, 10] -> 9, B [20, 4] -> 12, C [5, inf, 30] -> 30;
    cifar10 A [inf, 50] -> inf, B and C have none -> inf (nobody reached it).
    """
    a, b, c = (tmp_path / n for n in 'abc')
    make_sweep(a / 'study_1', 'mnist_jax', [reached(12.0), reached(8.0)])
    make_sweep(a / 'study_1', 'cifar10_jax', [missed(), missed()])
    make_sweep(a / 'study_2', 'mnist_jax', [missed(), reached(10.0)])
    make_sweep(a / 'study_2', 'cifar10_jax', [reached(50.0)])
    make_sweep(b / 'study_1', 'mnist_pytorch', [reached(20.0), missed()])
    make_sweep(b / 'study_2', 'mnist_pytorch', [reached(4.0), reached(6.0)])
    make_sweep(c / 'study_1', 'mnist_jax', [reached(5.0)])
    make_sweep(c / 'study_2', 'mnist_jax', [missed()])
    make_sweep(c / 'study_3', 'mnist_jax', [reached(30.0), reached(40.0)])
    return [('A', str(a)), ('B', str(b)), ('C', str(c))]


def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def closed_form(ratios, r_max=4.0):
    """The score written out independently of the module under test."""
    return sum(max(0.0, (r_max - r) / (r_max - 1.0)) for r in ratios) / len(ratios)


# ---------------------------------------------------------------- the math


def test_base_workload_name():
    assert scoring.base_workload_name('mnist_jax') == 'mnist'
    assert scoring.base_workload_name('mnist_pytorch') == 'mnist'
    assert scoring.base_workload_name('cifar10_jax') == 'cifar10'
    assert scoring.base_workload_name('mnist') == 'mnist'
    assert scoring.base_workload_name('my_jaxon') == 'my_jaxon'
    assert scoring.base_workload_name('_jax') == '_jax'


@pytest.mark.parametrize('r_max', [4.0, 2.5, 10.0])
def test_closed_form_equals_fine_integral_of_rho(r_max):
    rng = np.random.default_rng(7)
    for _ in range(20):
        w = int(rng.integers(1, 9))
        r = 1.0 + rng.exponential(1.5, size=w)
        r[rng.random(w) < 0.2] = INF  # missed workloads
        r[rng.random(w) < 0.2] = 1.0  # the fastest on some
        if w > 2:
            r[0] = r_max  # exactly at the edge: counts, but with zero area
        taus = np.linspace(1.0, r_max, 300_001)
        rho = pp.profile(r, taus)
        # rho by hand, to check profile() too.
        np.testing.assert_allclose(rho[::5000], [(r <= t).mean() for t in taus[::5000]])
        numeric = np.trapezoid(rho, taus) / (r_max - 1.0)
        exact = pp.score(r, r_max)
        assert exact == pytest.approx(closed_form(r, r_max), abs=1e-15)
        # A step's trapezoid error is at most one grid cell per workload.
        assert abs(exact - numeric) <= (taus[1] - taus[0]) / (r_max - 1.0) + 1e-12


def test_closed_form_values_and_the_peers_approximation():
    assert pp.score([1.0]) == 1.0  # fastest on the only workload: W from the data, not 8
    assert pp.score([1.0, 2.5, INF]) == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert pp.score([4.0, 7.0]) == 0.0
    assert pp.score([INF, INF]) == 0.0
    # The peer's 100-point trapezoid puts a step anywhere within a grid cell:
    # r = 2 scores 2/3 exactly, 0.6717 on that grid; r = 3.99 scores 0.0033, 0.0051.
    taus = np.linspace(1.0, 4.0, 100)
    for r, exact in ((2.0, 2 / 3), (3.99, 0.01 / 3)):
        peer = np.trapezoid(pp.profile([r], taus), taus) / 3.0
        assert pp.score([r]) == pytest.approx(exact, rel=1e-12)
        assert abs(peer - exact) > 1e-3


def test_profile_steps_corners():
    x, y = pp.profile_steps([1.0, 2.0, 2.0, 5.0, INF], 4.0)
    assert x.tolist() == [1.0, 2.0, 4.0]
    assert y.tolist() == [0.2, 0.6, 0.6]


def test_ratios():
    costs = np.array([[10.0, INF, 3.0, 0.0, np.nan],
                      [20.0, INF, INF, 2.0, 5.0],
                      [5.0, INF, 6.0, 0.0, 10.0]])
    r = pp.ratios(costs)
    assert r[:, 0].tolist() == [2.0, 4.0, 1.0]
    assert r[:, 1].tolist() == [INF, INF, INF]  # nobody reached it: nobody earns credit
    assert r[:, 2].tolist() == [1.0, INF, 2.0]
    assert r[:, 3].tolist() == [1.0, INF, 1.0]
    assert math.isnan(r[0, 4]) and r[1:, 4].tolist() == [1.0, 2.0]


def test_median_over_studies():
    assert pp.median_over_studies([10.0, 30.0]) == 20.0  # even: mean of the middle two
    assert pp.median_over_studies([4.0, 10.0, 30.0, INF]) == 20.0
    assert pp.median_over_studies([10.0, INF]) == INF
    assert pp.median_over_studies([10.0, INF, 30.0]) == 30.0
    assert pp.median_over_studies([INF, INF]) == INF
    assert pp.median_over_studies([]) == INF
    assert math.isnan(pp.median_over_studies([5.0, math.nan]))


@pytest.mark.parametrize('bad', [1.0, 0.5, -3, INF, math.nan])
def test_max_ratio_checked(bad):
    with pytest.raises(ValueError, match='max_ratio'):
        pp.check_max_ratio(bad)


# ---------------------------------------------------------------- reading sweeps


def test_scores_from_sweep_folders(three_submissions, tmp_path):
    times, scores, paths = score_report.score_submissions(
        three_submissions, str(tmp_path / 'out'), plot=False)
    rows = {(r['submission'], r['workload']): r
            for r in read_csv(os.path.join(tmp_path, 'out', 'workload_times.csv'))}
    assert list(rows) == [('A', 'cifar10'), ('A', 'mnist'), ('B', 'cifar10'), ('B', 'mnist'),
                          ('C', 'cifar10'), ('C', 'mnist')]
    # framework-free matching: mnist_jax and mnist_pytorch are one workload.
    expect = {
        ('A', 'mnist'): ('jax', '2', '4', '3', 9.0, 1.0),
        ('B', 'mnist'): ('pytorch', '2', '4', '3', 12.0, 12.0 / 9.0),
        ('C', 'mnist'): ('jax', '3', '4', '3', 30.0, 30.0 / 9.0),
        ('A', 'cifar10'): ('jax', '2', '3', '1', INF, INF),
        ('B', 'cifar10'): ('', '0', '0', '0', INF, INF),  # missing workload
        ('C', 'cifar10'): ('', '0', '0', '0', INF, INF),
    }
    for key, (fw, studies, trials, hit, t, ratio) in expect.items():
        row = rows[key]
        assert (row['framework'], row['studies'], row['trials'],
                row['trials_reaching_target']) == (fw, studies, trials, hit), key
        assert float(row['time_to_target_sec']) == t
        assert float(row['ratio']) == pytest.approx(ratio, rel=1e-15)
        assert row['energy_to_target_joules'] == row['energy_ratio'] == ''  # not measured
    assert rows[('B', 'cifar10')]['time_to_target_sec'] == 'inf'
    got = {r['submission']: r for r in read_csv(paths[1])}
    # W = 2 (mnist, cifar10): nobody reached cifar10, yet it still counts.
    assert float(got['A']['score']) == pytest.approx(closed_form([1.0, INF]), abs=1e-15)
    assert float(got['A']['score']) == 0.5
    assert float(got['B']['score']) == pytest.approx(4 / 9, rel=1e-14)
    assert float(got['C']['score']) == pytest.approx(1 / 9, rel=1e-14)
    assert [got[n]['energy_score'] for n in 'ABC'] == ['', '', '']
    assert scores['submission'].tolist() == ['A', 'B', 'C']
    assert len(times) == 6


def test_single_study_layouts(tmp_path):
    make_sweep(tmp_path / 'logs', 'mnist_jax', [reached(7.0)])
    # The --log_dir of a plain run, and one sweep directory itself, are one study each.
    for path in (tmp_path / 'logs', tmp_path / 'logs' / 'mnist_jax'):
        sub = scoring.read_submission('X', str(path))
        assert sub.studies == [1]
        assert sub.results[1]['mnist'].time_to_target == 7.0
        assert sub.results[1]['mnist'].trials_reaching_target == 1


def test_energy_score(tmp_path):
    # Cumulative joules per row: energy-to-target is the value at the first goal row.
    make_sweep(tmp_path / 'd', 'mnist_jax',
               [[(1.0, False, 40.0), (2.0, True, 100.0), (3.0, True, 170.0)],
                [(1.0, False, 50.0), (2.0, False, 90.0)]], energy=True)
    make_sweep(tmp_path / 'e', 'mnist_pytorch',
               [[(1.0, False, 90.0), (1.5, True, 300.0)]], energy=True)
    make_sweep(tmp_path / 'f', 'mnist_jax', [reached(2.0)])  # no energy column
    times, scores, _ = score_report.score_submissions(
        [(n, str(tmp_path / n)) for n in 'def'], str(tmp_path / 'out'), plot=False)
    t = times.set_index('submission')
    assert t.loc['d', 'energy_to_target_joules'] == 100.0
    assert t.loc['e', 'energy_to_target_joules'] == 300.0
    assert math.isnan(t.loc['f', 'energy_to_target_joules'])
    assert t.loc['e', 'energy_ratio'] == 3.0
    # Time: e is the fastest (1.5 s).
    assert t['ratio'].tolist() == [2.0 / 1.5, 1.0, 2.0 / 1.5]
    got = {r['submission']: r for r in read_csv(os.path.join(tmp_path, 'out', 'scores.csv'))}
    assert float(got['d']['energy_score']) == 1.0
    assert float(got['e']['energy_score']) == pytest.approx(1 / 3, rel=1e-15)
    assert got['f']['energy_score'] == ''
    assert float(got['e']['score']) == 1.0


def test_energy_missed_and_missing_workload_count_inf(tmp_path):
    make_sweep(tmp_path / 'g', 'mnist_jax', [[(1.0, False, 10.0), (2.0, True, 20.0)]], energy=True)
    make_sweep(tmp_path / 'g', 'cifar10_jax', [[(1.0, False, 10.0)]], energy=True)
    make_sweep(tmp_path / 'h', 'mnist_jax', [[(1.0, True, 40.0)]], energy=True)
    times, scores, _ = score_report.score_submissions(
        [('g', str(tmp_path / 'g')), ('h', str(tmp_path / 'h'))], str(tmp_path / 'o'), plot=False)
    e = times.set_index(['submission', 'workload'])['energy_to_target_joules']
    assert e[('g', 'cifar10')] == INF  # measured, target missed
    assert e[('h', 'cifar10')] == INF  # a measuring submission without the workload
    assert scores.set_index('submission')['energy_score'].tolist() == [0.5, 0.5 * (4 - 2) / 3]


def test_two_sweeps_of_one_workload_in_a_study_is_an_error(tmp_path):
    make_sweep(tmp_path / 'x', 'mnist_jax', [reached(1.0)])
    make_sweep(tmp_path / 'x', 'mnist_pytorch', [reached(1.0)])
    with pytest.raises(ValueError, match="submission 'X': .* two sweeps of workload 'mnist'"):
        scoring.read_submission('X', str(tmp_path / 'x'))


# ---------------------------------------------------------------- the command


def test_cli_writes_files_and_table(three_submissions, tmp_path, capsys):
    out = tmp_path / 'scored'
    argv = [f'{n}={p}' for n, p in three_submissions] + ['--out', str(out), '--max_ratio', '4']
    assert score_cli.main(argv) == 0
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    # The existing columns first, unchanged; the intervals appended (score_intervals).
    assert lines[0].split() == ['submission', 'workload', 'framework', 'studies', 'trials',
                                'reached', 'time_s', 'ratio', 'energy_J', 'energy_ratio',
                                'time_ci', 'energy_ci']
    assert 'B           mnist     pytorch          2       4        3  12.000  1.333' in stdout
    assert any(line.split()[:3] == ['A', '0.5000', '-'] for line in lines)
    assert 'W=2 workload(s)' in stdout
    assert lines[-5:] == [str(out / n) for n in ('workload_times.csv', 'scores.csv',
                                                 'score_pairs.csv',
                                                 'performance_profiles.png',
                                                 'performance_profiles.svg')]
    assert (out / 'performance_profiles.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    svg = (out / 'performance_profiles.svg').read_text()
    assert '<svg' in svg and 'A (score 0.500)' in svg and 'energy not measured' in svg
    header = (out / 'workload_times.csv').read_text().splitlines()[0]
    assert header.split(',') == scoring.WORKLOAD_TIMES_COLUMNS + score_intervals.TIME_COLUMNS
    # A different r_max changes the score: B's 4/3 is worth (2 - 4/3) at r_max = 2.
    assert score_cli.main(argv[:-1] + ['2', '--noplot', '-q']) == 0
    assert capsys.readouterr().out == ''
    got = {r['submission']: r for r in read_csv(out / 'scores.csv')}
    assert float(got['B']['score']) == pytest.approx((2 - 4 / 3) / 2, rel=1e-14)
    assert float(got['C']['score']) == 0.0


def _bad_inputs(tmp_path):
    good = tmp_path / 'good'
    make_sweep(good, 'mnist_jax', [reached(1.0)])
    empty = tmp_path / 'empty'
    empty.mkdir()
    mixed = tmp_path / 'mixed'
    make_sweep(mixed, 'mnist_jax', [reached(1.0)])
    make_sweep(mixed / 'study_1', 'mnist_jax', [reached(1.0)])
    hollow = tmp_path / 'hollow'
    make_sweep(hollow / 'study_1', 'mnist_jax', [reached(1.0)])
    (hollow / 'study_2').mkdir()
    twice = tmp_path / 'twice'
    make_sweep(twice / 'study_1', 'mnist_jax', [reached(1.0)])
    make_sweep(twice / 'study_01', 'mnist_jax', [reached(2.0)])
    return {
        'study twice': ([f'A={twice}'], r'holds study 1 twice \(study_01, study_1\)'),
        'no sweeps': ([f'A={empty}'], "submission 'A': no runs found in"),
        'name twice': ([f'A={good}', f'A={good}'], "submission name 'A' given twice"),
        'a trial': ([f'A={good}/mnist_jax/run_1'], "is a single trial's directory"),
        'missing dir': ([f'A={tmp_path}/nope'], 'does not exist'),
        'no name': ([str(good)], 'is not NAME=DIR'),
        'empty name': ([f'={good}'], 'is not NAME=DIR'),
        'mixed': ([f'A={mixed}'], 'holds both study_<k>/ directories and sweeps'),
        'empty study': ([f'A={hollow}'], "no runs found in '.*study_2'"),
        'max_ratio': ([f'A={good}', '--max_ratio', '1'], '--max_ratio must be a finite number'),
        'max_ratio text': ([f'A={good}', '--max_ratio', 'four'], "got 'four'"),
    }


@pytest.mark.parametrize('case', ['study twice', 'no sweeps', 'name twice', 'a trial',
                                  'missing dir', 'no name', 'empty name', 'mixed', 'empty study',
                                  'max_ratio', 'max_ratio text'])
def test_cli_bad_input_is_one_line(tmp_path, capsys, case):
    argv, message = _bad_inputs(tmp_path)[case]
    assert score_cli.main(argv + ['--out', str(tmp_path / 'out')]) == 2
    captured = capsys.readouterr()
    assert captured.out == ''
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('score: error: '), captured.err
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / 'out').exists()  # nothing written on bad input


def test_cli_imports_no_framework(three_submissions, tmp_path):
    argv = [f'{n}={p}' for n, p in three_submissions] + ['--out', str(tmp_path / 'o')]
    proc = run_python(
        'import sys, contextlib, io\n'
        'from algorithmic_efficiency import score\n'
        'with contextlib.redirect_stdout(io.StringIO()):\n'
        f'    assert score.main({argv!r}) == 0\n'
        "print(sorted(m for m in ('jax', 'jaxlib', 'flax', 'optax', 'torch') if m in sys.modules))"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == '[]'


# ---------------------------------------------------------------- end to end


def _expected_time(study_dir, workload):
    """The fastest trial's first goal_reached row, read from the CSVs alone (inf if none)."""
    best = INF
    wdir = os.path.join(study_dir, workload)
    for name in os.listdir(wdir):
        path = os.path.join(wdir, name, 'metrics.csv')
        if name.startswith('run_') and os.path.exists(path):
            for row in read_csv(path):
                if row['goal_reached'] == 'True':
                    best = min(best, float(row['accumulated_submission_time']))
                    break
    return best


@pytest.fixture(scope='module')
def real_sweeps(tmp_path_factory):
    """2 submissions (the JAX and PyTorch baselines) x 2 studies of 2 trials, 12 steps each."""
    root = tmp_path_factory.mktemp('score_e2e')
    subs = {'adam_jax': ('jax', root / 'jax'), 'adam_torch': ('pytorch', root / 'torch')}
    for fw, path in subs.values():
        for study in (1, 2):
            cmd = [sys.executable, RUNNER, f'--framework={fw}', f'--workload=mnist_{fw}',
                   f'--submission_path={ROOT}/baselines/mnist/mnist_{fw}/submission.py',
                   f'--tuning_search_space={SPACE}', '--num_tuning_trials=2',
                   '--max_global_steps=12', f'--rng_seed={study}', '--nosummary',
                   f'--log_dir={path}/study_{study}']
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
            assert proc.returncode == 0, proc.stderr[-3000:]
    return root, subs


def test_end_to_end_real_sweeps(real_sweeps):
    root, subs = real_sweeps
    out = root / 'scores'
    proc = subprocess.run(
        [sys.executable, '-m', 'algorithmic_efficiency.score',
         *(f'{n}={p}' for n, (_, p) in subs.items()), '--out', str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r['submission']: r for r in read_csv(out / 'workload_times.csv')}
    assert sorted(rows) == sorted(subs)
    expected = {}
    for name, (fw, path) in subs.items():
        row = rows[name]
        assert (row['workload'], row['framework'], row['studies'], row['trials']) == (
            'mnist', fw, '2', '4')
        per_study = [_expected_time(path / f'study_{k}', f'mnist_{fw}') for k in (1, 2)]
        expected[name] = statistics.median(per_study)  # mean of the two: inf if either is
        got = float(row['time_to_target_sec'])
        assert got == expected[name] or (math.isinf(got) and math.isinf(expected[name]))
        assert row['energy_to_target_joules'] == ''  # the runner records no energy yet
    best = min(expected.values())
    scores = {r['submission']: r for r in read_csv(out / 'scores.csv')}
    for name in subs:
        ratio = INF if math.isinf(expected[name]) else expected[name] / best
        assert float(rows[name]['ratio']) == pytest.approx(ratio, rel=1e-12)
        assert float(scores[name]['score']) == pytest.approx(closed_form([ratio]), abs=1e-12)
        assert scores[name]['energy_score'] == ''
    if math.isfinite(best):  # a reachable target: the fastest scores exactly 1
        assert max(float(s['score']) for s in scores.values()) == 1.0
    assert 'adam_torch  mnist     pytorch' in proc.stdout
    assert (out / 'performance_profiles.png').stat().st_size > 10_000
