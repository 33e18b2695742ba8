"""Tests for the search-space parser, trial generation and Halton points."""
import dataclasses
import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from algorithmic_efficiency.search import halton as halton_lib
from algorithmic_efficiency.search import spaces
from algorithmic_efficiency.search.halton import halton
from algorithmic_efficiency.search.spaces import (
    ALGORITHMS,
    Dimension,
    SearchSpace,
    SearchSpaceError,
    generate_trials,
    load_search_space,
    parse_search_space,
)

REPO = pathlib.Path(__file__).resolve().parents[1]
BASELINE = REPO / 'baselines' / 'mnist' / 'tuning_search_space.json'

EXAMPLE = {
    'learning_rate': {'min': 1e-4, 'max': 1e-2, 'scaling': 'log'},
    'one_minus_beta_1': {'min': 0.02, 'max': 0.3, 'scaling': 'log'},
    'epsilon': {'feasible_points': [1e-8, 1e-6]},
    'warmup_steps': {'min': 0, 'max': 100, 'type': 'int'},
}


def _unit_bins(values, bins):
    """Counts per bin; unscrambled points sit on bin edges, hence the 1e-9."""
    index = np.floor(np.asarray(values) * bins + 1e-9).astype(int)
    return np.bincount(np.minimum(index, bins - 1), minlength=bins)


def _l2_star_discrepancy(x):
    """Warnock's closed form of the L2-star discrepancy."""
    n, d = x.shape
    term2 = np.prod((1 - x**2) / 2, axis=1).sum() * 2 / n
    pairs = np.prod(1 - np.maximum(x[:, None, :], x[None, :, :]), axis=2)
    return math.sqrt(3.0**-d - term2 + pairs.sum() / n**2)


# --------------------------------------------------------------------------
# halton


def test_halton_first_primes():
    assert halton_lib.first_primes(10) == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    for n in range(1, 60):
        primes = halton_lib.first_primes(n)
        assert len(primes) == n
        assert all(all(p % q for q in range(2, p)) for p in primes)


def test_halton_unscrambled_values_skip_zero():
    x = halton(4, 3, None)
    expected = [[1 / 2, 1 / 3, 1 / 5], [1 / 4, 2 / 3, 2 / 5],
                [3 / 4, 1 / 9, 3 / 5], [1 / 8, 4 / 9, 4 / 5]]
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize('seed', [None, 0, 1, 12345])
def test_halton_one_dimensional_stratification(seed):
    # b**m consecutive points put exactly one point in each of b**m bins.
    x = halton(729, 4, seed)
    assert (_unit_bins(x[:64, 0], 64) == 1).all()
    assert (_unit_bins(x[:512, 0], 512) == 1).all()
    assert (_unit_bins(x[:81, 1], 81) == 1).all()
    assert (_unit_bins(x[:729, 1], 729) == 1).all()
    assert (_unit_bins(x[:125, 2], 125) == 1).all()
    assert (_unit_bins(x[:49, 3], 49) == 1).all()


@pytest.mark.parametrize('seed', [None, 0, 7])
def test_halton_two_dimensional_stratification(seed):
    # 72 = 8 * 9 consecutive points: one per cell of an 8 x 9 grid.
    x = halton(72, 2, seed)
    cells = np.floor(x * [8, 9] + 1e-9).astype(int) @ [9, 1]
    assert (np.bincount(cells, minlength=72) == 1).all()


@pytest.mark.parametrize('seed', [None, 3])
def test_halton_every_coordinate_stratified_in_high_dim(seed):
    x = halton(256, 30, seed)
    for j, base in enumerate(halton_lib.first_primes(30)):
        n = base * (256 // base)
        counts = _unit_bins(x[:n, j], base)
        assert (counts == 256 // base).all(), (j, base)


def test_halton_beats_uniform_random_discrepancy():
    for dim in (2, 5):
        random_disc = [
            _l2_star_discrepancy(np.random.default_rng(s).random((256, dim)))
            for s in range(30)
        ]
        threshold = 0.7 * float(np.median(random_disc))
        for seed in (None, 0, 1, 2, 3, 4):
            assert _l2_star_discrepancy(halton(256, dim, seed)) < threshold


def test_halton_scrambling_breaks_high_base_correlation():
    # The plain sequence's coordinates in bases 67 and 71 are nearly
    # identical for the first 60 points; scrambled ones are not.
    plain = halton(60, 20, None)
    assert np.corrcoef(plain[:, 18], plain[:, 19])[0, 1] > 0.99
    for seed in range(10):
        x = halton(60, 20, seed)
        assert abs(np.corrcoef(x[:, 18], x[:, 19])[0, 1]) < 0.5


def test_halton_shape_range_and_reproducibility():
    x = halton(2000, 40, 5)
    assert x.shape == (2000, 40) and x.dtype == np.float64
    assert (x >= 0).all() and (x < 1).all()
    np.testing.assert_array_equal(x, halton(2000, 40, 5))
    assert not np.array_equal(x, halton(2000, 40, 6))
    assert not np.array_equal(x, halton(2000, 40, None))
    # Prefixes are stable in both points and coordinates.
    np.testing.assert_array_equal(halton(100, 40, 5), x[:100])
    np.testing.assert_array_equal(halton(2000, 3, 5), x[:, :3])
    np.testing.assert_array_equal(halton(50, 3, None),
                                  halton(80, 3, None)[:50])
    assert halton(0, 3, 1).shape == (0, 3)


@pytest.mark.parametrize('args', [(-1, 2, 0), (2, 0, 0), (2, 2, -1),
                                  (2.0, 2, 0), (2, 2, 1.5), (2, True, 0)])
def test_halton_bad_arguments(args):
    with pytest.raises(ValueError):
        halton(*args)


# --------------------------------------------------------------------------
# parsing


def test_parse_example_and_normalise():
    space = parse_search_space(EXAMPLE)
    assert space.names() == list(EXAMPLE)
    assert not space.is_fixed and space.fixed_trials is None
    lr, beta, eps, warmup = space.dimensions
    assert lr == Dimension('learning_rate', 'range', 1e-4, 1e-2, 'log',
                           'float', None)
    assert eps.kind == 'feasible' and eps.feasible_points == (1e-8, 1e-6)
    assert warmup.scaling == 'linear' and warmup.type == 'int'
    assert type(warmup.min) is int and type(warmup.max) is int
    normalised = space.to_json()
    assert normalised['learning_rate'] == {
        'min': 1e-4, 'max': 1e-2, 'scaling': 'log', 'type': 'float'}
    assert normalised['epsilon'] == {'feasible_points': [1e-8, 1e-6]}
    json.dumps(normalised)
    assert parse_search_space(normalised) == space


def test_float_bounds_normalised_and_int_bounds_accept_whole_floats():
    space = parse_search_space({
        'a': {'min': 0, 'max': 1},
        'b': {'min': 1.0, 'max': 1e2, 'type': 'int'},
    })
    a, b = space.dimensions
    assert type(a.min) is float and type(a.max) is float
    assert (b.min, b.max) == (1, 100) and type(b.max) is int


def test_load_baseline_search_space():
    space = load_search_space(BASELINE)
    assert space.source == str(BASELINE)
    assert space.names() == ['learning_rate', 'one_minus_beta_1', 'epsilon']
    lr, one_minus_beta_1, _ = space.dimensions
    assert lr.scaling == 'log' and 0 < lr.min < lr.max <= 0.1
    # beta_1 = 1 - one_minus_beta_1 must be a sensible momentum in (0, 1).
    assert one_minus_beta_1.scaling == 'log'
    assert 0 < one_minus_beta_1.min < one_minus_beta_1.max < 0.5
    trials = generate_trials(space, 8, seed=0)
    assert len(trials) == 8


@pytest.mark.parametrize('obj, expected', [
    ({'learning_rate': {'min': 1e-4, 'max': 1e-2, 'scaling': 'logarithmic'}},
     ["'learning_rate': 'scaling' must be 'linear' or 'log', "
      "got 'logarithmic'"]),
    ({'lr': {'min': 1e-4, 'max': 1e-2, 'scale': 'log'}},
     ["'lr'", "unknown key 'scale'", "did you mean 'scaling'"]),
    ({'lr': {'min': 1e-4}}, ["'lr'", "missing 'max'"]),
    ({'lr': {'max': 1e-4}}, ["'lr'", "missing 'min'"]),
    ({'lr': {'scaling': 'log'}}, ["'lr'", 'needs either "min" and "max"']),
    ({'lr': {}}, ["'lr'", 'feasible_points']),
    ({'lr': {'min': 1e-2, 'max': 1e-4}}, ["'lr'", "'min'", "<= 'max'"]),
    ({'lr': {'min': 0, 'max': 1, 'scaling': 'log'}},
     ["'lr'", "'log' needs 'min' > 0"]),
    ({'lr': {'min': -1, 'max': 1, 'scaling': 'log'}},
     ["'lr'", "'min' > 0, got -1"]),
    ({'lr': {'min': '1e-4', 'max': 1e-2}},
     ["'lr'", "'min' must be a number", "'1e-4'", 'without quotes']),
    ({'lr': {'min': 0, 'max': [1]}}, ["'lr'", "'max' must be a number"]),
    ({'lr': {'min': True, 'max': 2}}, ["'lr'", "'min' must be a number"]),
    ({'lr': {'min': 0, 'max': float('inf')}}, ["'lr'", "'max'", 'finite']),
    ({'lr': {'min': 0, 'max': 1, 'type': 'integer'}},
     ["'lr'", "'type' must be 'float' or 'int', got 'integer'"]),
    ({'lr': {'min': 0, 'max': 1, 'scaling': None}},
     ["'lr'", "'scaling' must be 'linear' or 'log', got None"]),
    ({'n': {'min': 0.5, 'max': 4, 'type': 'int'}},
     ["'n'", 'whole-number', "'min' 0.5"]),
    ({'eps': {'feasible_points': []}}, ["'eps'", "'feasible_points' is empty"]),
    ({'eps': {'feasible_points': 1e-8}},
     ["'eps'", "'feasible_points' must be a non-empty list"]),
    ({'eps': {'feasible_points': [1e-8, None]}},
     ["'eps'", "'feasible_points'[1] must be a number, string or bool"]),
    ({'eps': {'feasible_points': [[1e-8]]}}, ["'eps'", "'feasible_points'[0]"]),
    ({'eps': {'feasible_points': [1e-8], 'min': 0, 'max': 1}},
     ["'eps'", "cannot be combined with 'min', 'max'"]),
    ({'eps': {'feasible_points': [1e-8], 'scaling': 'log'}},
     ["'eps'", "cannot be combined with 'scaling'"]),
    ({'lr': 0.1}, ["'lr'", 'must be an object', '{"feasible_points": [0.1]}']),
    ({'lr': [0.1, 0.2]}, ["'lr'", 'must be an object']),
    ({}, ['search space is empty']),
    ([], ['list of trials is empty']),
    (3, ['top level must be an object', 'int']),
    ('lr', ['top level must be an object', 'str']),
    (None, ['top level must be an object']),
    ({'a b': {'min': 0, 'max': 1}}, ["'a b'", 'hyperparameter names']),
    ({'': {'min': 0, 'max': 1}}, ["''", 'hyperparameter names']),
    ({'lr/2': {'min': 0, 'max': 1}}, ["'lr/2'", 'hyperparameter names']),
    ({1: {'min': 0, 'max': 1}}, ['1: hyperparameter names']),
    ([{'lr': 1}, {'lr': 2, 'wd': 3}], ['trial 1', "extra 'wd'"]),
    ([{'lr': 1, 'wd': 3}, {'lr': 2}], ['trial 1', "missing 'wd'"]),
    ([{'lr': 1}, 5], ['trial 1', 'must be an object']),
    ([{'lr': 1}, {}], ['trial 1', 'is empty']),
    ([{'lr': {'min': 1, 'max': 2}}], ['trial 0', "'lr'", 'fixed values']),
    ([{'lr': None}], ['trial 0', "'lr'", 'must be a number, string or bool']),
    ([{'bad name': 1}], ['trial 0', "'bad name'", 'hyperparameter names']),
])
def test_errors_name_source_key_and_fix(obj, expected):
    with pytest.raises(SearchSpaceError) as info:
        parse_search_space(obj, source='tuning_search_space.json')
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert message.startswith('tuning_search_space.json: ')
    assert '\n' not in message
    for text in expected:
        assert text in message


def test_error_without_source_has_no_prefix():
    with pytest.raises(SearchSpaceError) as info:
        parse_search_space({'lr': {'min': 1}})
    assert str(info.value).startswith("'lr': ")


def test_exact_message_example():
    with pytest.raises(SearchSpaceError) as info:
        parse_search_space(
            {'learning_rate': {'min': 1e-4, 'max': 1e-2,
                               'scaling': 'logarithmic'}},
            source='tuning_search_space.json')
    assert str(info.value) == (
        "tuning_search_space.json: 'learning_rate': 'scaling' must be "
        "'linear' or 'log', got 'logarithmic'")


def test_invalid_json_names_file_line_and_column(tmp_path):
    path = tmp_path / 'tuning_search_space.json'
    path.write_text('{\n  "lr": {"min": 1e-4, "max": 1e-2},\n'
                    '  "wd": {"min": 0, "max": 1,}\n}\n')
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(path)
    message = str(info.value)
    assert message.startswith(f'{path}: invalid JSON')
    assert 'line 3' in message and 'column 29' in message


def test_load_validation_error_names_file(tmp_path):
    path = tmp_path / 'space.json'
    path.write_text(json.dumps({'lr': {'min': 1, 'max': 0}}))
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(str(path))
    assert str(info.value).startswith(f"{path}: 'lr': ")


def test_missing_file_names_path(tmp_path):
    path = tmp_path / 'nope' / 'tuning_search_space.json'
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(path)
    assert str(path) in str(info.value)
    assert 'not found' in str(info.value)


def test_directory_is_an_error(tmp_path):
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_duplicate_json_keys_are_an_error(tmp_path):
    path = tmp_path / 'space.json'
    path.write_text('{"lr": {"min": 0, "max": 1}, "lr": {"min": 0, "max": 2}}')
    with pytest.raises(SearchSpaceError) as info:
        load_search_space(path)
    assert "duplicate key 'lr'" in str(info.value)
    assert str(path) in str(info.value)


def test_load_accepts_utf8_bom(tmp_path):
    path = tmp_path / 'space.json'
    path.write_bytes(b'\xef\xbb\xbf' + json.dumps(EXAMPLE).encode())
    assert load_search_space(path).names() == list(EXAMPLE)


# --------------------------------------------------------------------------
# trial generation


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_reproducible_and_seed_dependent(algorithm):
    space = parse_search_space(EXAMPLE)
    trials = generate_trials(space, 20, seed=3, algorithm=algorithm)
    assert trials == generate_trials(space, 20, seed=3, algorithm=algorithm)
    assert trials != generate_trials(space, 20, seed=4, algorithm=algorithm)
    # Asking for more trials keeps the first ones.
    assert generate_trials(space, 50, seed=3, algorithm=algorithm)[:20] == trials
    assert len(trials) == 20


def test_algorithms_differ():
    space = parse_search_space(EXAMPLE)
    assert generate_trials(space, 10, 0, 'halton') != generate_trials(
        space, 10, 0, 'random')


def test_deterministic_across_processes():
    code = ('import json\n'
            'from algorithmic_efficiency.search.spaces import *\n'
            f'space = parse_search_space({EXAMPLE!r})\n'
            'print(json.dumps([generate_trials(space, 5, 11, a) '
            'for a in ALGORITHMS]))\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, timeout=60)
    space = parse_search_space(EXAMPLE)
    assert json.loads(out.stdout) == [
        generate_trials(space, 5, 11, a) for a in ALGORITHMS]


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_values_within_bounds_plain_types_and_key_order(algorithm):
    space = parse_search_space(EXAMPLE)
    trials = generate_trials(space, 2000, seed=1, algorithm=algorithm)
    for trial in trials:
        assert list(trial) == list(EXAMPLE)
        assert type(trial['learning_rate']) is float
        assert 1e-4 <= trial['learning_rate'] <= 1e-2
        assert 0.02 <= trial['one_minus_beta_1'] <= 0.3
        assert trial['epsilon'] in (1e-8, 1e-6)
        assert type(trial['warmup_steps']) is int
        assert 0 <= trial['warmup_steps'] <= 100
    json.dumps(trials)


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_log_scaling_is_uniform_in_log(algorithm):
    space = parse_search_space({
        'log': {'min': 1e-4, 'max': 1e-2, 'scaling': 'log'},
        'lin': {'min': 1e-4, 'max': 1e-2},
    })
    trials = generate_trials(space, 1000, seed=2, algorithm=algorithm)
    geometric_mean = 1e-3
    below_log = np.mean([t['log'] < geometric_mean for t in trials])
    below_lin = np.mean([t['lin'] < geometric_mean for t in trials])
    assert 0.45 < below_log < 0.55
    assert below_lin < 0.15  # (1e-3 - 1e-4) / (1e-2 - 1e-4) ~ 0.09
    decades = np.floor(np.log10([t['log'] for t in trials])).astype(int)
    counts = np.bincount(decades + 4, minlength=2)
    assert abs(counts[0] - counts[1]) < 100


def test_halton_log_dimension_is_stratified():
    space = parse_search_space({'lr': {'min': 1e-4, 'max': 1e-2,
                                       'scaling': 'log'}})
    trials = generate_trials(space, 64, seed=9)
    u = (np.log([t['lr'] for t in trials]) - math.log(1e-4)) / (
        math.log(1e-2) - math.log(1e-4))
    assert (_unit_bins(np.clip(u, 0, 1 - 1e-12), 64) == 1).all()


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_int_dimensions_cover_range(algorithm):
    space = parse_search_space({
        'steps': {'min': 0, 'max': 10, 'type': 'int'},
        'width': {'min': 1, 'max': 20, 'type': 'int', 'scaling': 'log'},
        'single': {'min': 5, 'max': 5, 'type': 'int'},
    })
    trials = generate_trials(space, 2000, seed=0, algorithm=algorithm)
    for t in trials:
        assert all(type(v) is int for v in t.values())
    assert {t['steps'] for t in trials} == set(range(0, 11))
    assert {t['width'] for t in trials} == set(range(1, 21))
    assert {t['single'] for t in trials} == {5}
    widths = np.array([t['width'] for t in trials])
    # Log scaling favours small integers: 1 is drawn more often than 20.
    assert (widths == 1).sum() > 5 * (widths == 20).sum()


def test_halton_int_dimension_is_balanced():
    space = parse_search_space({'k': {'min': 0, 'max': 7, 'type': 'int'}})
    values = [t['k'] for t in generate_trials(space, 64, seed=4)]
    assert np.bincount(values).tolist() == [8] * 8


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_feasible_points_all_reachable_and_only_those(algorithm):
    points = [1e-8, 1e-6, 'adam', True, False, 3]
    space = parse_search_space({
        'x': {'feasible_points': points},
        'y': {'feasible_points': ['only']},
    })
    trials = generate_trials(space, 600, seed=5, algorithm=algorithm)
    seen = [t['x'] for t in trials]
    reprs = {repr(v) for v in seen}  # repr: keeps True apart from 1
    assert reprs == {repr(p) for p in points}
    assert {t['y'] for t in trials} == {'only'}
    for value in seen:
        assert type(value) in (float, str, bool, int)
    counts = [sum(repr(v) == repr(p) for v in seen) for p in points]
    assert min(counts) > 60  # ~100 each


def test_numpy_scalars_in_space_come_back_as_python_types():
    space = parse_search_space({
        'a': {'min': np.float32(0.5), 'max': np.int64(2)},
        'b': {'feasible_points': [np.float64(1.5), np.str_('x')]},
    })
    for trial in generate_trials(space, 10, 0):
        assert type(trial['a']) is float
        assert type(trial['b']) in (float, str)
    json.dumps(space.to_json())


def test_degenerate_range():
    space = parse_search_space({'lr': {'min': 0.1, 'max': 0.1,
                                       'scaling': 'log'}})
    assert {t['lr'] for t in generate_trials(space, 5, 0)} == {0.1}


def test_fixed_trials():
    trials_in = [
        {'learning_rate': 0.001, 'epsilon': 1e-8, 'opt': 'adam'},
        {'opt': 'sgd', 'epsilon': 1e-6, 'learning_rate': 0.1},
        {'learning_rate': 0.01, 'epsilon': 1e-8, 'opt': 'adam'},
    ]
    space = parse_search_space(trials_in, source='trials.json')
    assert space.is_fixed and space.dimensions is None
    assert space.names() == ['learning_rate', 'epsilon', 'opt']
    assert space.to_json() == trials_in
    trials = generate_trials(space, 3, seed=0)
    assert trials == trials_in
    assert [list(t) for t in trials] == [space.names()] * 3
    # The seed and algorithm do not reorder a fixed list.
    assert generate_trials(space, 2, seed=99, algorithm='random') == trials[:2]
    # Returned dicts are copies.
    trials[0]['learning_rate'] = 5.0
    assert space.fixed_trials[0]['learning_rate'] == 0.001
    with pytest.raises(SearchSpaceError) as info:
        generate_trials(space, 4, seed=0)
    assert str(info.value).startswith('trials.json: ')
    assert '3 trials' in str(info.value) and '4' in str(info.value)


def test_fixed_trials_from_file(tmp_path):
    path = tmp_path / 'trials.json'
    path.write_text(json.dumps([{'lr': 0.1}, {'lr': 0.2}]))
    space = load_search_space(path)
    assert generate_trials(space, 2, 0) == [{'lr': 0.1}, {'lr': 0.2}]


@pytest.mark.parametrize('num_trials', [0, -3, 1.0, True, None])
def test_bad_num_trials(num_trials):
    space = parse_search_space(EXAMPLE)
    with pytest.raises(ValueError) as info:
        generate_trials(space, num_trials, seed=0)
    assert 'num_trials' in str(info.value)
    assert not isinstance(info.value, SearchSpaceError)


def test_unknown_algorithm_lists_choices():
    space = parse_search_space(EXAMPLE)
    with pytest.raises(ValueError) as info:
        generate_trials(space, 3, seed=0, algorithm='grid')
    message = str(info.value)
    assert "'grid'" in message
    for name in ALGORITHMS:
        assert repr(name) in message


@pytest.mark.parametrize('seed', [-1, 1.5, None])
def test_bad_seed(seed):
    with pytest.raises(ValueError):
        generate_trials(parse_search_space(EXAMPLE), 3, seed=seed)


def test_search_space_dataclass_is_frozen():
    space = parse_search_space(EXAMPLE)
    assert isinstance(space, SearchSpace)
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.source = 'x'  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        space.dimensions[0].min = 0  # type: ignore[misc]


def test_no_jax_or_torch_import():
    code = ('import sys\n'
            'import algorithmic_efficiency.search.spaces, '
            'algorithmic_efficiency.search.halton, '
            'algorithmic_efficiency.search.seeds\n'
            'bad = sorted(m for m in sys.modules '
            "if m.split('.')[0] in ('jax', 'jaxlib', 'torch', 'flax'))\n"
            'print(bad)\n')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True, timeout=60)
    assert out.stdout.strip() == '[]'


def test_module_docstring_documents_format():
    doc = spaces.__doc__
    for word in ('feasible_points', '"scaling"', '"log"', '"int"', 'halton',
                 'SearchSpaceError'):
        assert word in doc
