"""--resume reads metadata.json and the run folders before writing anything (issue 29 item
19): a bad seed or a missing key names the file, a run_<N> that is a file is refused first."""

import json

import pytest
from hostile import config

from algorithmic_efficiency import layout, sweep


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp('meta') / 'logs'
    assert sweep.run(config(log_dir, num_tuning_trials=1, max_global_steps=1)) == 0
    return log_dir


def _with_metadata(finished, tmp_path, change):
    import shutil

    log_dir = tmp_path / 'logs'
    shutil.copytree(finished, log_dir)
    path = log_dir / 'mnist_pytorch' / 'metadata.json'
    metadata = json.loads(path.read_text())
    change(metadata)
    path.write_text(json.dumps(metadata))
    return log_dir, path


@pytest.mark.parametrize('seed', ['abc', 10**26, -1, True, 1.5])
def test_a_bad_seed_in_metadata_names_the_file_and_the_value(finished, tmp_path, seed):
    log_dir, path = _with_metadata(finished, tmp_path, lambda m: m.update(rng_seed=seed))
    before = path.read_bytes()
    with pytest.raises(layout.LogDirError) as e:
        sweep.run(config(log_dir, num_tuning_trials=1, max_global_steps=1, resume=True,
                         rng_seed=None))
    assert str(e.value).startswith(f'{path}: rng_seed {seed!r} is not a seed')
    assert path.read_bytes() == before


@pytest.mark.parametrize('key, words', [('search_space', 'has no search_space'),
                                        ('rng_seed', 'has no rng_seed')])
def test_a_missing_key_says_missing_not_differs(finished, tmp_path, key, words):
    log_dir, path = _with_metadata(finished, tmp_path, lambda m: m.pop(key))
    with pytest.raises(layout.LogDirError) as e:
        sweep.run(config(log_dir, num_tuning_trials=1, max_global_steps=1, resume=True,
                         rng_seed=None))
    assert str(e.value).startswith(f'{path} {words}') and 'differs' not in str(e.value)


def test_a_run_folder_that_is_a_file_is_refused_before_metadata_changes(finished, tmp_path):
    log_dir, path = _with_metadata(finished, tmp_path, lambda m: None)
    (log_dir / 'mnist_pytorch' / 'run_2').write_text('not a folder')
    before = path.read_bytes()
    with pytest.raises(layout.LogDirError, match='run_2 is a file, not a trial'):
        sweep.run(config(log_dir, num_tuning_trials=2, max_global_steps=1, resume=True,
                         rng_seed=None))
    assert path.read_bytes() == before
