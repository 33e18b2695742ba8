"""Recorder unit behaviour: extra metadata keys, directory modes, set-aside attempts."""
import json
import os

import pytest

from algorithmic_efficiency.recording import recorder as logging_utils
from algorithmic_efficiency.recording import trial_context


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
                          ('trial.status=x', "key 'trial.status' collides"),
                          # CIFAR-10's other eval splits' columns
                          ('train.loss=1', "key 'train.loss' collides"),
                          ('test.accuracy=1', "key 'test.accuracy' collides")]:
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
        # --resume keeps a finished trial only with its rows (recording.resume_checks).
        (tmp_path / 'w' / f'run_{idx}' / 'metrics.csv').write_text('global_step,loss\n1,0.5\n')
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


def test_trial_directory_is_handed_over_for_the_trial_only(tmp_path, monkeypatch):
    """start_trial makes the trial current (exported for child processes); its end undoes it."""
    monkeypatch.delenv(trial_context.TRIAL_DIR_ENV, raising=False)
    rec = logging_utils.Recorder(str(tmp_path), 'w', mode='new')
    rec.prepare()
    assert trial_context.current_trial_dir() is None
    opened = []
    for run_idx in (1, 2):
        trial = rec.start_trial(run_idx, {'lr': 0.1}, seed=run_idx)
        run_dir = str(tmp_path / 'w' / f'run_{run_idx}')
        assert trial_context.current_trial_dir() == run_dir
        assert os.environ[trial_context.TRIAL_DIR_ENV] == run_dir
        opened.append(trial_context.current().resource('thing', lambda: Closeable()))
        trial.begin_interval()
        trial.before_eval()
        trial.record_eval({'loss': 0.5})
        rec.finish_trial(trial, FinishedTrial(run_idx))
        assert trial_context.current_trial_dir() is None
        assert trial_context.TRIAL_DIR_ENV not in os.environ
        trial.close()  # again: nothing
    assert [t.closed for t in opened] == [True, True]  # the trial's end closed what it opened
    assert json.loads((tmp_path / 'w' / 'run_2' / 'trial.json').read_text())['status'] == 'complete'


def test_trial_context_restores_what_it_found(tmp_path, monkeypatch):
    monkeypatch.setenv(trial_context.TRIAL_DIR_ENV, '/parent/run_9')  # we run inside a trial
    assert trial_context.current_trial_dir() == '/parent/run_9'
    with trial_context.trial(str(tmp_path / 'run_1')) as outer:
        with trial_context.trial(str(tmp_path / 'run_2')):
            assert trial_context.current_trial_dir() == str(tmp_path / 'run_2')
        assert trial_context.current() is outer
        assert os.environ[trial_context.TRIAL_DIR_ENV] == str(tmp_path / 'run_1')
        # An explicit other directory gets its own trial, never the current one's resources.
        other = trial_context.current(str(tmp_path / 'run_7'))
        assert other is not outer and other.run_dir == str(tmp_path / 'run_7')
        assert trial_context.current(str(tmp_path / 'run_1')) is outer and not outer.closed
        other.close()
    assert os.environ[trial_context.TRIAL_DIR_ENV] == '/parent/run_9'


class Closeable:
    closed = False

    def close(self):
        self.closed = True


class FinishedTrial:
    def __init__(self, run_idx):
        self.run_idx = run_idx
        self.status, self.stop_reason, self.global_step = 'complete', 'max_steps', 1
        self.accumulated_submission_time, self.time_to_target = 0.5, None
        self.evals, self.final_eval = [{'loss': 0.5}], {'loss': 0.5}
        self.error = self.traceback = None
