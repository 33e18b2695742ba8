"""--resume with another --submission_path is refused (sweep.same_sweep); the same file is not."""

import json
import os
import shutil

import pytest
from hostile import PT_SUBMISSION, config

from algorithmic_efficiency import sweep


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('same') / 'logs'
    assert sweep.run(config(log_dir)) == 0
    return log_dir


def test_resume_with_another_submission_is_refused_and_nothing_changes(finished, tmp_path):
    other = tmp_path / 'other.py'
    shutil.copy(PT_SUBMISSION, other)
    metadata = (finished / 'mnist_pytorch' / 'metadata.json').read_bytes()
    with pytest.raises(sweep.UsageError) as e:
        sweep.run(config(finished, resume=True, submission_path=str(other)))
    message = str(e.value)
    assert 'differs from the resumed sweep' in message
    assert 'baselines/mnist/mnist_pytorch/submission.py' in message
    assert (finished / 'mnist_pytorch' / 'metadata.json').read_bytes() == metadata


def test_resume_with_the_same_file_from_another_directory_is_accepted(finished, tmp_path,
                                                                        monkeypatch):
    link = tmp_path / 'link.py'
    os.symlink(PT_SUBMISSION, link)
    monkeypatch.chdir(tmp_path)
    assert sweep.run(config(finished, resume=True, submission_path=str(link))) == 0
    resumed = json.loads((finished / 'mnist_pytorch' / 'metadata.json').read_text())
    assert resumed['resumed_at'] and resumed['flags']['submission_path'] == (
        'baselines/mnist/mnist_pytorch/submission.py')
