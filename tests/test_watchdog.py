"""The trial watchdog (training.watchdog): an endless loop in update_params ends its trial
(failed, the sweep goes on) instead of hanging the sweep."""

import signal
import time

import pytest
from hostile import config, submission, trial_json

from algorithmic_efficiency import sweep
from algorithmic_efficiency.training import watchdog

ENDLESS_IN_TRIAL_1 = '''
from algorithmic_efficiency.recording import trial_context as _tc
_update = update_params

def update_params(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                  step, rng):
    while _tc.current_trial_dir().endswith('run_1'):
        pass
    return _update(workload, params, types, state, hp, batch, loss_type, opt_state, evals,
                   step, rng)
'''


def test_grace_policy():
    assert watchdog.grace_sec(5) == watchdog.GRACE_MIN_SEC == 60
    assert watchdog.grace_sec(18_000) == 1_800


def test_an_endless_update_params_ends_its_trial_and_the_sweep_goes_on(tmp_path, monkeypatch):
    # A small grace keeps the test short; the loop is real, the timer is real.
    monkeypatch.setattr(watchdog, 'GRACE_MIN_SEC', 1.0)
    log_dir = tmp_path / 'logs'
    path = submission(tmp_path, ENDLESS_IN_TRIAL_1)
    start = time.monotonic()
    assert sweep.run(config(log_dir, submission_path=path, max_submission_time_sec=2.0,
                            max_global_steps=2)) == 1
    assert time.monotonic() - start < 120
    info = trial_json(log_dir, 1)
    assert info['status'] == 'failed'
    assert info['error'].startswith('TrialTimeout: the submission ran 1 s past the trial\'s '
                                    'budget of 2 s')
    assert trial_json(log_dir, 2)['status'] == 'complete'
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed after the trial


def test_a_normal_interval_disarms_the_timer():
    class Timer:
        accumulated = 0.0

        def start(self):
            pass

        def stop(self, params):
            return 1.0

    previous = signal.getsignal(signal.SIGALRM)
    with watchdog.watch(Timer(), 10.0) as timer:
        timer.start()
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 70
        assert timer.stop(None) == 1.0
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) == previous


def test_off_the_main_thread_it_is_off():
    import threading
    out = []

    def body():
        with watchdog.watch('timer', 10.0) as timer:
            out.append(timer)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert out == ['timer']


@pytest.mark.parametrize('budget', [0.0, float('nan')])
def test_no_budget_no_watchdog(budget):
    with watchdog.watch('timer', budget) as timer:
        assert timer == 'timer'
