"""The bootstrap of ``score`` (analysis.bootstrap, score_intervals, the score CLI's new flags).

The resampling is checked against the exact bootstrap distribution written
out in closed form (binomial sums over the order statistics), the intervals'
coverage on data with a known true median over many seeded repetitions, the
vectorised ratios and scores against analysis.performance_profile one
replicate at a time, and the command on sweep folders in the runner's format
(``scored_sweeps``): identical submissions, one study, a submission that never
reaches the target, mismatched workloads, energy, bad flags.
"""

import math
import re
import sys
from math import comb

import numpy as np
import pytest
from scored_sweeps import make_sweep, missed, reached

from algorithmic_efficiency import score as score_cli
from algorithmic_efficiency.analysis import bootstrap as bs
from algorithmic_efficiency.analysis import performance_profile as pp
from algorithmic_efficiency.analysis import score_intervals, score_report

NAN = math.nan


def median_cdf(slot_cdf, k):
    """P(median of k iid draws <= x) for odd k, given P(one draw <= x)."""
    need = (k + 1) // 2
    return sum(comb(k, j) * slot_cdf**j * (1 - slot_cdf) ** (k - j) for j in range(need, k + 1))


def exact_cdf(studies, x, trials):
    """The exact bootstrap distribution of the cost at x (both stages, odd number of studies)."""
    k = len(studies)
    slot = 0.0
    for t in studies:
        t = np.asarray(t)
        if trials:  # the fastest of n draws with replacement is <= x unless all n are above
            slot += 1 - (1 - (t <= x).sum() / t.size) ** t.size
        else:
            slot += float(t.min() <= x)
    return median_cdf(slot / k, k)


@pytest.mark.parametrize('trials', [False, True])
def test_resampling_equals_the_exact_bootstrap_distribution(trials):
    rng = np.random.default_rng(11)
    studies = [tuple(rng.uniform(1, 10, n).round(3)) for n in (1, 3, 4, 2, 5)]
    data = [(t, (NAN,) * len(t)) for t in studies]
    times, energies = bs.resample_costs(data, 20_000, bs.stream(3, 'exact'), trials=trials)
    assert np.isnan(energies).all()  # not measured stays not measured
    support = np.unique(np.concatenate(studies))
    got = np.array([(times <= x).mean() for x in support])
    want = np.array([exact_cdf(studies, x, trials) for x in support])
    # 20,000 replicates: the standard error of each is at most 0.0036.
    assert np.abs(got - want).max() < 0.02, (got, want)
    assert set(np.unique(times)) <= set(support)  # every replicate is an observed time


def test_a_missing_study_and_a_missed_target_count_inf():
    data = [((5.0,), (NAN,)), ((), ()), ((math.inf, 7.0), (NAN, NAN))]
    times, _ = bs.resample_costs(data, 5000, bs.stream(0, 'inf'))
    # Studies {5, inf, 7}: the median is inf when 2 of the 3 draws are the empty study.
    p_inf = median_cdf(1 / 3, 3)
    assert np.isinf(times).mean() == pytest.approx(p_inf, abs=0.02)
    assert set(times[np.isfinite(times)]) <= {5.0, 7.0}


@pytest.mark.parametrize('k, trials_per_study', [(15, 1), (25, 1), (15, 3)])
def test_intervals_cover_the_true_median_at_the_stated_rate(k, trials_per_study):
    """Exponential(10) trial times: a study's fastest of n is Exponential(10/n), median (10/n) ln 2.

    300 seeded repetitions: deterministic, so it cannot flake. The band allows 4
    binomial standard errors (0.013) below 0.95 plus the percentile bootstrap's
    known small-sample shortfall, and excludes a method that is off (the
    trial-resampling variant measured 0.87 at 15 x 3).
    """
    truth = 10.0 / trials_per_study * math.log(2)
    hits = 0
    for rep in range(300):
        g = np.random.default_rng([2026, k, rep])
        data = [(tuple(g.exponential(10.0, trials_per_study)), (NAN,) * trials_per_study)
                for _ in range(k)]
        times, _ = bs.resample_costs(data, 1000, bs.stream(rep, 'coverage'))
        low, high = bs.interval(times, 0.95)
        hits += bool(low <= truth <= high)
    assert 0.89 <= hits / 300 <= 0.99, hits / 300


def test_vectorised_ratios_and_scores_equal_the_profile_module():
    rng = np.random.default_rng(5)
    costs = rng.choice([0.0, 1.0, 2.5, 4.0, 9.0, math.inf, NAN], size=(40, 3, 4))
    ratios = bs.ratios(costs)
    for b in range(costs.shape[0]):
        np.testing.assert_array_equal(ratios[b], pp.ratios(costs[b]))
        s = bs.scores(ratios[b][None], 3.0)[0]
        for i, row in enumerate(ratios[b]):
            want = NAN if np.isnan(row).any() else pp.score(row, 3.0)
            assert s[i] == pytest.approx(want, abs=1e-12, nan_ok=True)


def test_compare_identical_and_clearly_different():
    rng = np.random.default_rng(1)
    same = rng.uniform(0, 1, 4000)
    c = bs.compare(same, same[::-1], 0.95)
    assert not c['significant'] and 0.45 < c['p_a_higher'] < 0.55
    assert c['diff_low'] < 0 < c['diff_high']
    c = bs.compare(same + 2.0, same[::-1], 0.95)
    assert c['significant'] and c['p_a_higher'] == 1.0
    assert bs.p_best(np.array([[1.0, 1.0], [0.5, 1.0]])).tolist() == [0.25, 0.75]


def test_min_studies():
    # 1 - 2^(1-K): 0.9375 at 5, 0.96875 at 6.
    assert score_intervals.min_studies(0.95) == 6
    assert score_intervals.min_studies(0.9) == 5
    assert score_intervals.min_studies(0.5) == 2


# ---------------------------------------------------------------- the command


def studies(root, name, times_per_study, workload='mnist_jax', **kw):
    """A submission of len(times_per_study) studies, each a list of trial times (None: missed)."""
    for k, trial_times in enumerate(times_per_study, start=1):
        trials = [missed() if t is None else reached(t) for t in trial_times]
        make_sweep(root / name / f'study_{k}', workload, trials, **kw)
    return f'{name}={root / name}'


def run(argv, capsys):
    code = score_cli.main([*argv, '--noplot'])
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(path):
    import csv

    with open(path, newline='') as f:
        return list(csv.DictReader(f))


SEVEN = [[10.0, 12.0], [11.0], [9.0, 20.0], [10.5], [12.0, 13.0], [9.5], [10.0, 11.0]]


def test_identical_submissions_are_not_significant(tmp_path, capsys):
    a = studies(tmp_path, 'A', SEVEN)
    b = studies(tmp_path, 'B', SEVEN)
    code, out, err = run([a, b, '--out', str(tmp_path / 'o')], capsys)
    assert code == 0, err
    pair = rows(tmp_path / 'o' / 'score_pairs.csv')[0]
    assert pair['significant'] == 'False' and float(pair['score_diff']) == 0.0
    assert 0.3 < float(pair['p_a_higher']) < 0.7
    assert float(pair['score_diff_low']) < 0 < float(pair['score_diff_high'])
    assert 'A vs B: score difference +0.0000' in out and 'not significant at 95%' in out
    scores = rows(tmp_path / 'o' / 'scores.csv')
    assert [s['interval'] for s in scores] == ['ok', 'ok']
    for s in scores:
        assert float(s['score_low']) <= float(s['score']) <= float(s['score_high'])


def test_a_clear_difference_is_significant_and_intervals_hold_the_point(tmp_path, capsys):
    a = studies(tmp_path, 'A', SEVEN)
    slow = [[3 * t for t in s] for s in SEVEN]
    b = studies(tmp_path, 'B', slow)
    code, out, err = run([a, b, '--out', str(tmp_path / 'o'), '--bootstrap', '500'], capsys)
    assert code == 0, err
    pair = rows(tmp_path / 'o' / 'score_pairs.csv')[0]
    assert pair['significant'] == 'True' and float(pair['p_a_higher']) > 0.975
    assert pair['replicates'] == '500' and pair['confidence'] == '0.95'
    times = {r['submission']: r for r in rows(tmp_path / 'o' / 'workload_times.csv')}
    # Study medians of A: fastest per study [10, 11, 9, 10.5, 12, 9.5, 10] -> 10.
    assert times['A']['time_to_target_sec'] == '10.0'
    low = float(times['A']['time_to_target_sec_low'])
    high = float(times['A']['time_to_target_sec_high'])
    assert low <= 10.0 <= high and {low, high} <= {9.0, 9.5, 10.0, 10.5, 11.0, 12.0}
    assert times['A']['energy_to_target_joules_low'] == ''  # energy not measured
    assert ': significant at 95%' in out
    # The same seed repeats exactly; argument order does not matter.
    again = tmp_path / 'again'
    assert run([b, a, '--out', str(again), '--bootstrap', '500'], capsys)[0] == 0
    other = {r['submission']: r for r in rows(again / 'workload_times.csv')}
    assert other['A'] == times['A'] and other['B'] == times['B']


def test_one_study_gets_no_interval_and_a_warning(tmp_path, capsys, caplog):
    a = studies(tmp_path, 'A', [[10.0, 12.0]])
    b = studies(tmp_path, 'B', SEVEN)
    code, out, err = run([a, b, '--out', str(tmp_path / 'o')], capsys)
    assert code == 0, err
    times = {r['submission']: r for r in rows(tmp_path / 'o' / 'workload_times.csv')}
    assert times['A']['interval'] == 'one_study'
    assert times['A']['time_to_target_sec_low'] == times['A']['time_to_target_sec_high'] == ''
    assert times['B']['interval'] == 'ok' and times['B']['time_to_target_sec_low'] != ''
    scores = rows(tmp_path / 'o' / 'scores.csv')
    assert all(s['interval'] == 'one_study' and s['score_low'] == '' for s in scores)
    pair = rows(tmp_path / 'o' / 'score_pairs.csv')[0]
    assert pair['significant'] == '' and pair['p_a_higher'] == ''
    # Warnings are logged (the command prints them on stderr as 'score: warning: ...').
    assert 'A: 1 study: no interval and no significance' in caplog.text
    assert 'A vs B: no significance test' in out


def test_never_reached_mismatched_workloads_and_few_studies(tmp_path, capsys, caplog):
    a = studies(tmp_path, 'A', [[None], [None], [None]])
    studies(tmp_path, 'A', [[5.0], [6.0], [7.0]], workload='cifar10_jax')
    b = studies(tmp_path, 'B', [[10.0], [11.0], [9.0]])
    code, out, err = run([a, b, '--out', str(tmp_path / 'o')], capsys)
    assert code == 0, err
    found = rows(tmp_path / 'o' / 'workload_times.csv')
    times = {(r['submission'], r['workload']): r for r in found}
    assert times['A', 'mnist']['interval'] == 'not_reached'
    assert times['A', 'mnist']['time_to_target_sec_low'] == ''
    assert times['A', 'cifar10']['interval'] == 'few_studies'
    assert times['B', 'cifar10']['time_to_target_sec'] == 'inf'
    logged = caplog.messages
    assert "B: no sweep of workload 'cifar10' (other submissions have one): inf" in logged
    assert 'A: no trial reached the target of mnist in any study: inf' in logged
    assert any(m.startswith('A: 3 studies: its intervals are rough') for m in logged)
    assert 'warning' not in out
    scores = {s['submission']: s for s in rows(tmp_path / 'o' / 'scores.csv')}
    assert scores['A']['interval'] == 'few_studies'
    # Each is fastest on one workload and absent on the other: equal scores, not significant.
    assert scores['A']['score'] == scores['B']['score'] == '0.5'
    assert 'not significant' in out


def test_energy_intervals(tmp_path, capsys):
    for name, scale in (('A', 1.0), ('B', 2.0)):
        for k, t in enumerate([10.0, 11.0, 9.0, 12.0, 10.0, 9.5], start=1):
            make_sweep(tmp_path / name / f'study_{k}', 'mnist_jax',
                       [reached(t * scale, joules=100 * t * scale)], energy=True)
    code, out, err = run([f'A={tmp_path / "A"}', f'B={tmp_path / "B"}',
                          '--out', str(tmp_path / 'o')], capsys)
    assert code == 0, err
    times = {r['submission']: r for r in rows(tmp_path / 'o' / 'workload_times.csv')}
    # Energy is 100 x time here, study by study, and both use the same draws.
    for name in 'AB':
        r = times[name]
        assert float(r['energy_to_target_joules_low']) == pytest.approx(
            100 * float(r['time_to_target_sec_low']))
        assert float(r['energy_to_target_joules_high']) == pytest.approx(
            100 * float(r['time_to_target_sec_high']))
    scores = {s['submission']: s for s in rows(tmp_path / 'o' / 'scores.csv')}
    assert scores['A']['energy_score_low'] == scores['A']['score_low']
    pair = rows(tmp_path / 'o' / 'score_pairs.csv')[0]
    assert pair['energy_significant'] == pair['significant'] == 'True'


def test_bootstrap_off(tmp_path):
    a = studies(tmp_path, 'A', SEVEN)
    times, scores, paths = score_report.score_submissions(
        [('A', a.split('=', 1)[1])], str(tmp_path / 'o'), plot=False,
        settings=score_intervals.Settings(replicates=0))
    assert list(times['interval']) == ['off'] and list(scores['interval']) == ['off']
    assert times['time_to_target_sec_low'].isna().all()
    assert paths[-1].endswith('score_pairs.csv')


BAD_FLAGS = {
    'confidence 1.5': (['--confidence', '1.5'], '--confidence must be between 0 and 1'),
    'confidence text': (['--confidence', 'high'], "got 'high'"),
    'bootstrap few': (['--bootstrap', '50'], '--bootstrap must be 0 .* or at least 100'),
    'bootstrap text': (['--bootstrap', 'many'], '--bootstrap must be a whole number'),
    'seed': (['--seed', '-1'], '--seed must be a whole number >= 0'),
    'resample': (['--resample', 'runs'], '--resample must be one of studies, trials'),
    'html name': (['--html', 'report.txt'], '--html names the report file'),
    'html dir': (['--html', '/nonexistent/dir/r.html'], "directory '/nonexistent/dir' does not"),
}


@pytest.mark.parametrize('case', sorted(BAD_FLAGS))
def test_bad_flags_are_one_line(tmp_path, capsys, case):
    a = studies(tmp_path, 'A', SEVEN)
    flags, message = BAD_FLAGS[case]
    code, out, err = run([a, '--out', str(tmp_path / 'o'), *flags], capsys)
    assert code == 2 and out == ''
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith('score: error: '), err
    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / 'o').exists()


def test_html_without_plotly_is_one_line(tmp_path, capsys, monkeypatch):
    a = studies(tmp_path, 'A', SEVEN)
    monkeypatch.setitem(sys.modules, 'plotly', None)  # as if the dashboard extra were missing
    code, out, err = run([a, '--out', str(tmp_path / 'o'), '--html', str(tmp_path / 'r.html')],
                         capsys)
    assert code == 2 and out == ''
    assert err.startswith('score: error: ') and len(err.splitlines()) == 1
    assert "pip install -e '.[dashboard]'" in err
    assert not (tmp_path / 'o').exists() and not (tmp_path / 'r.html').exists()


def test_profile_bands_are_intervals_of_each_replicates_profile():
    rng = np.random.default_rng(9)
    ratios = rng.choice([1.0, 1.5, 2.0, 3.5, math.inf], size=(400, 2, 3))
    taus = np.linspace(1.0, 4.0, 13)
    low, high = bs.profiles(ratios, taus, 0.9)
    for s in range(2):
        rho = np.array([pp.profile(ratios[b, s], taus) for b in range(400)])
        ordered = np.sort(rho, axis=0)  # the q-quantile: the ceil(q B)-th smallest replicate
        np.testing.assert_array_equal(low[s], ordered[math.ceil(0.05 * 400) - 1])
        np.testing.assert_array_equal(high[s], ordered[math.ceil(0.95 * 400) - 1])
        assert (low[s] <= high[s]).all() and (np.diff(low[s]) >= 0).all()
