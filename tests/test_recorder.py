"""Recorder unit behaviour: extra metadata keys, directory modes, set-aside attempts."""
import json
import os

import pytest

from algorithmic_efficiency.recording import recorder as logging_utils


def test_extra_metadata_parsing():
    assert logging_utils.parse_extra_metadata(['a=1', 'url=http://x?y=z', 'empty=']) == {
        'a': '1', 'url': 'http://x?y=z', 'empty': ''}
    for item, message in [('novalue', "'novalue' is malformed"), ('=v', "'=v' is malformed"),
                          ('bad key=1', "key 'bad key' must start"),
                          ('status=x', "key 'status' collides"),
                          ('gpu.0.x=1', "key 'gpu.0.x' collides"),
                          ('framework.0.mem=1', "key 'framework.0.mem' collides"),
                          ('rng_seed=5', "key 'rng_seed' collides"),
                          ('workload=x', "key 'workload' collides"),
                          ('trial.status=x', "key 'trial.status' collides")]:
        with pytest.raises(ValueError, match=message):
            logging_utils.parse_extra_metadata([item])
    with pytest.raises(ValueError, match="'a' is given twice"):
        logging_utils.parse_extra_metadata(['a=1', 'a=2'])


def test_modes(tmp_path):
    rec = logging_utils.Recorder(str(tmp_path), 'w', mode='new')
    assert rec.prepare() == set()
    os.makedirs(tmp_path / 'w' / 'run_1')
    with pytest.raises(logging_utils.LogDirError, match='already holds runs of w; pass --resume'):
        logging_utils.Recorder(str(tmp_path), 'w', mode='new').check()
    # Runs without metadata.json: seed and search space unknown -> not resumable.
    with pytest.raises(logging_utils.LogDirError, match='no metadata.json'):
        logging_utils.Recorder(str(tmp_path), 'w', mode='resume').check()
    (tmp_path / 'w' / 'metadata.json').write_text('{"rng_seed": 1}')
    for idx, status in [(1, 'complete'), (2, 'diverged'), (3, 'failed'), (4, 'running')]:
        os.makedirs(tmp_path / 'w' / f'run_{idx}', exist_ok=True)
        (tmp_path / 'w' / f'run_{idx}' / 'trial.json').write_text(json.dumps({'status': status}))
    os.makedirs(tmp_path / 'w' / 'run_5')  # started, nothing written
    rec = logging_utils.Recorder(str(tmp_path), 'w', mode='resume')
    assert rec.prepare() == {1, 2}
    assert rec.existing_runs() == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="mode must be"):
        logging_utils.Recorder(str(tmp_path), 'w', mode='append')
    logging_utils.Recorder(str(tmp_path), 'w', mode='overwrite').prepare()
    assert os.listdir(tmp_path / 'w') == []


def test_rerun_sets_earlier_attempts_aside(tmp_path):
    rec = logging_utils.Recorder(str(tmp_path), 'w', mode='new')
    rec.prepare()
    for attempt in (1, 2, 3):
        trial = rec.start_trial(1, {'lr': attempt}, seed=attempt)
        trial.begin_interval()
        trial.before_eval()
        trial.record_eval({'loss': float(attempt)})
        trial.close()
    names = sorted(os.listdir(tmp_path / 'w' / 'run_1'))
    assert names == ['attempt-1.metrics.csv', 'attempt-1.trial.json', 'attempt-2.metrics.csv',
                     'attempt-2.trial.json', 'metrics.csv', 'trial.json']
    aside = (tmp_path / 'w' / 'run_1' / 'attempt-1.metrics.csv').read_text().splitlines()
    assert aside[0].startswith('loss,') and aside[1].startswith('1.0,') and len(aside) == 2
    assert json.loads((tmp_path / 'w' / 'run_1' / 'trial.json').read_text())['seed'] == 3
