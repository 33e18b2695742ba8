"""--tuning_search_space limits (search.space_file): a device, a FIFO, a huge file or
thousands of hyperparameters are one line at once, not memory growth, a hang or minutes."""

import json
import os
import time

import pytest
from hostile import args
from sweeps import run_cli

from algorithmic_efficiency.search import parsing, space_file
from algorithmic_efficiency.search.space import SearchSpaceError


def test_dev_zero_is_refused_before_reading():
    with pytest.raises(SearchSpaceError, match='/dev/zero: is a device, not a search space'):
        parsing.load_search_space('/dev/zero')


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / 'space.json'
    os.mkfifo(fifo)
    with pytest.raises(SearchSpaceError, match='is a FIFO'):
        parsing.load_search_space(str(fifo))


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(SearchSpaceError, match='is a directory'):
        parsing.load_search_space(str(tmp_path))


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / 'big.json'
    path.write_text('{"lr": {"feasible_points": [' + '1,' * space_file.MAX_BYTES + '1]}}')
    with pytest.raises(SearchSpaceError, match='more than a search space needs'):
        parsing.load_search_space(str(path))


def test_20000_hyperparameters_are_refused_in_a_second(tmp_path):
    path = tmp_path / 'wide.json'
    path.write_text(json.dumps({f'h{i}': {'min': 0.0, 'max': 1.0} for i in range(20_000)}))
    start = time.monotonic()
    with pytest.raises(SearchSpaceError, match='20,000 hyperparameters, more than 1,000'):
        parsing.load_search_space(str(path))
    assert time.monotonic() - start < 5


def test_the_limit_itself_still_loads(tmp_path):
    path = tmp_path / 'wide.json'
    path.write_text(json.dumps({f'h{i}': {'min': 0.0, 'max': 1.0}
                                for i in range(space_file.MAX_HYPERPARAMETERS)}))
    assert len(parsing.load_search_space(str(path)).dimensions) == space_file.MAX_HYPERPARAMETERS


def test_dev_zero_from_the_cli_is_exit_2_one_line(tmp_path):
    argv = [a for a in args(tmp_path / 'logs') if not a.startswith('--tuning_search_space')]
    proc = run_cli([*argv, '--tuning_search_space=/dev/zero'], timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'submission_runner: error: /dev/zero: is a device, not a search space file; give the '
        'path of a JSON file')
    assert not (tmp_path / 'logs').exists()


@pytest.mark.parametrize('bound', [1e308, 2**53 + 2, -1e20])
def test_an_int_dimension_beyond_2_53_is_refused_at_validation(bound, tmp_path):
    path = tmp_path / 'space.json'
    low, high = (bound, 0) if bound < 0 else (0, bound)
    path.write_text(json.dumps({'n': {'min': low, 'max': high, 'type': 'int'}}))
    with pytest.raises(SearchSpaceError, match=r"'type' 'int' needs bounds within \+-2\*\*53"):
        parsing.load_search_space(str(path))


def test_an_int_dimension_at_2_53_draws_exact_integers(tmp_path):
    from algorithmic_efficiency.search import spaces

    path = tmp_path / 'space.json'
    path.write_text(json.dumps({'n': {'min': 0, 'max': 2**53, 'type': 'int'}}))
    trials = spaces.generate_trials(parsing.load_search_space(str(path)), 5, 1, 'halton')
    assert all(isinstance(t['n'], int) and 0 <= t['n'] <= 2**53 for t in trials)
