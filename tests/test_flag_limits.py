"""Numeric flag limits added for issue 29 (sweep.flag_checks): --num_studies is bounded
before any folder is made."""

import pytest
from hostile import args, config
from sweeps import run_cli

from algorithmic_efficiency import sweep
from algorithmic_efficiency.sweep import flag_checks


@pytest.mark.parametrize('count', [101, 100_000, 10**9])
def test_num_studies_over_the_limit_is_refused_before_any_folder(tmp_path, count):
    with pytest.raises(ValueError, match=r'--num_studies must be in \[1, 100\]'):
        sweep.run(config(tmp_path / 'logs', num_studies=count))
    assert not (tmp_path / 'logs').exists()


def test_num_studies_at_the_limit_passes_the_check(tmp_path):
    flag_checks.check_numeric_flags(config(tmp_path, num_studies=flag_checks.MAX_STUDIES))


def test_num_studies_from_the_cli_is_exit_2_one_line(tmp_path):
    proc = run_cli(args(tmp_path / 'logs', '--num_studies=100000'), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'submission_runner: error: --num_studies must be in [1, 100], got 100000')
    assert not (tmp_path / 'logs').exists()
