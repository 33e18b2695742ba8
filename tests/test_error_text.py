"""A trial's error text: an exception whose __str__ itself fails still ends only its trial."""

from hostile import config, submission, trial_json

from algorithmic_efficiency import sweep
from algorithmic_efficiency.training import error_text

BAD_STR = '''
class Hostile(Exception):
    def __str__(self):
        raise RuntimeError('str fails')

def update_params(*args, **kwargs):
    raise Hostile()
'''


def test_describe_survives_a_failing_str():
    class Bad(Exception):
        def __str__(self):
            raise RuntimeError('str fails')

    assert error_text.describe(Bad()) == 'Bad (its message could not be read: RuntimeError)'
    assert error_text.describe(ValueError('a\nb')) == 'ValueError: a'
    assert error_text.describe(ValueError()) == 'ValueError'


def test_exception_whose_str_raises_fails_only_its_trial(tmp_path):
    log_dir = tmp_path / 'logs'
    path = submission(tmp_path, BAD_STR)
    assert sweep.run(config(log_dir, submission_path=path)) == 1
    for n in (1, 2):  # trial 2 ran too
        info = trial_json(log_dir, n)
        assert info['status'] == 'failed'
        assert info['error'] == 'Hostile (its message could not be read: RuntimeError)'
        assert (log_dir / 'mnist_pytorch' / f'run_{n}' / 'error.txt').read_text().strip()
