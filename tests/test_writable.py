"""Read-only folders (storage.writable): datasets and concatenate_csvs say so in one line
before any work, instead of the raw OSError of their first write.

The tests run as root on this machine, for whom permission bits deny nothing: the
refusal is faked at its boundary (creating the probe file raises EACCES/EROFS), the
one thing this machine cannot have.
"""

import errno
import os

import pytest

from algorithmic_efficiency import datasets
from algorithmic_efficiency.storage import csv_io, writable


@pytest.fixture
def read_only(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(writable.tempfile, 'TemporaryFile', refuse)


def test_problem_is_none_for_a_writable_folder(tmp_path):
    assert writable.problem(str(tmp_path)) is None
    assert writable.problem(str(tmp_path / 'new'), create=True) is None
    assert (tmp_path / 'new').is_dir() and os.listdir(tmp_path / 'new') == []


def test_problem_names_why(tmp_path, read_only):
    assert writable.problem(str(tmp_path)) == 'Read-only file system'


def test_datasets_on_a_read_only_data_dir_is_exit_2_one_line(tmp_path, read_only, capsys):
    assert datasets.main(['mnist', '--data_dir', str(tmp_path / 'mnist')]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'python -m algorithmic_efficiency.datasets: error: --data_dir '
                   f'{tmp_path}/mnist cannot be written (Read-only file system); give a '
                   'folder you can write']


def test_concatenate_csvs_on_a_read_only_folder_is_one_line(tmp_path, read_only):
    (tmp_path / 'run_1').mkdir()
    (tmp_path / 'run_1' / 'metrics.csv').write_text('global_step,loss\n1,0.5\n')
    with pytest.raises(ValueError, match=r'cannot be written \(Read-only file system\)'):
        csv_io.concatenate_csvs(str(tmp_path))
