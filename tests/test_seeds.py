"""Tests for algorithmic_efficiency.search.seeds (numpy only, fast)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.search.seeds import MAX_SEED, derive_seed, draw_seed

PATHS = [
    (),
    ('trial', 0),
    ('trial', 1),
    ('trial', 3),
    ('trial', '3'),
    ('data',),
    ('search',),
    ('trial', 3, 'data'),
    ('trial', 3, 'init'),
    ('a', 'b'),
    ('ab',),
    (3,),
    ('3',),
]


def test_in_range_and_plain_int():
    for seed in (0, 1, 42, MAX_SEED, 2**40, 2**100):
        for path in PATHS:
            value = derive_seed(seed, *path)
            assert type(value) is int
            assert 0 <= value <= MAX_SEED


def test_same_inputs_same_seed():
    assert derive_seed(7, 'trial', 3) == derive_seed(7, 'trial', 3)
    # numpy ints are accepted and equal to the Python int.
    assert derive_seed(np.int64(7), 'trial', np.int32(3)) == derive_seed(
        7, 'trial', 3)


def test_distinct_paths_give_distinct_seeds():
    seeds = [derive_seed(0, *p) for p in PATHS]
    assert len(set(seeds)) == len(seeds)
    trial_seeds = {derive_seed(123, 'trial', i) for i in range(1000)}
    assert len(trial_seeds) == 1000
    # Typed and delimited: an int is not its string, 'a','b' is not 'ab'.
    assert derive_seed(5, 3) != derive_seed(5, '3')
    assert derive_seed(5, 'a', 'b') != derive_seed(5, 'ab')
    # The empty path is not the identity.
    assert derive_seed(5) != 5


def test_distinct_base_seeds_give_distinct_seeds():
    seeds = {derive_seed(base, 'trial', 0) for base in range(1000)}
    assert len(seeds) == 1000


def test_nested_derivation_differs_from_flat():
    trial_seed = derive_seed(1, 'trial', 3)
    assert derive_seed(trial_seed, 'data') != derive_seed(1, 'trial', 3,
                                                          'data')


def test_pinned_values():
    # Recorded runs are reproduced from their seed: changing the derivation
    # silently would break that, so the values are pinned.
    assert derive_seed(0) == 659845809
    assert derive_seed(0, 'trial', 3) == 837263255
    assert derive_seed(0, 'trial', '3') == 1891415290


def test_deterministic_across_processes():
    paths = [['trial', 3], ['data'], ['trial', 0, 'data'], []]
    code = ('import json, sys\n'
            'from algorithmic_efficiency.search.seeds import derive_seed\n'
            'paths = json.loads(sys.argv[1])\n'
            'print(json.dumps([derive_seed(2024, *p) for p in paths]))\n')
    expected = [derive_seed(2024, *p) for p in paths]
    for hash_seed in ('0', '12345'):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run([sys.executable, '-c', code,
                              json.dumps(paths)],
                             capture_output=True, text=True, env=env,
                             check=True, timeout=60)
        assert json.loads(out.stdout) == expected


@pytest.mark.parametrize('bad', [-1, -2**40, 1.0, 1.5, True, '3', None,
                                 [1]])
def test_bad_seed_raises_naming_value(bad):
    with pytest.raises(ValueError) as info:
        derive_seed(bad, 'trial')
    assert repr(bad) in str(info.value)
    with pytest.raises(ValueError):
        seeds.validate_seed(bad)


@pytest.mark.parametrize('bad', [1.5, None, b'x', True, (1,)])
def test_bad_path_element_raises(bad):
    with pytest.raises(ValueError) as info:
        derive_seed(0, 'trial', bad)
    assert 'path element 1' in str(info.value)
    assert repr(bad) in str(info.value)


def test_draw_seed():
    drawn = [draw_seed() for _ in range(64)]
    for seed in drawn:
        assert type(seed) is int
        assert 0 <= seed <= MAX_SEED
        # Usable as a base seed: accepted as is, and it tells its consumers apart.
        assert seeds.validate_seed(seed) == seed
        assert derive_seed(seed, 'data') != derive_seed(seed, 'init')
    assert len(set(drawn)) > 1
    # All 31 bits are used (not, say, 16): 64 draws below 2**30 would happen
    # with probability 2**-64.
    assert max(drawn) >= 2**30
