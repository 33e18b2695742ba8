"""The eval schedule and the submission timer on their own, with an injected clock."""

import pytest

from algorithmic_efficiency.training.schedule import EvalSchedule, SubmissionTimer


def test_first_eval_is_due_at_once_then_every_period():
    s = EvalSchedule(period_sec=10.0, budget_sec=60.0)
    assert s.due(0.0) and s.near(0.0)  # i.e. right after the first step
    s.evaluated(0.7)
    assert s.next_eval_at == pytest.approx(10.7)
    assert not s.due(10.69) and s.due(10.7)
    assert not s.near(10.0) and s.near(10.7)


def test_budget_and_step_cap():
    s = EvalSchedule(period_sec=100.0, budget_sec=5.0, max_steps=3)
    s.evaluated(1.0)  # next eval at 101 s: only the budget can make it near
    assert not s.near(4.99) and s.near(5.0)
    assert not s.spent(4.99) and s.spent(5.0)
    assert [s.capped(n) for n in (0, 2, 3, 4)] == [False, False, True, True]
    assert not EvalSchedule(1.0, 1.0).capped(10**9)  # no cap


def test_timer_accounts_intervals_and_syncs_only_when_stopped():
    now = [0.0]
    synced = []
    timer = SubmissionTimer(sync=lambda params: synced.append((params, now[0])),
                            clock=lambda: now[0])
    timer.start()
    now[0] = 2.0
    assert timer.peek() == 2.0 and synced == []  # a look, never a sync
    now[0] = 3.0
    assert timer.stop('p1') == 3.0 and synced == [('p1', 3.0)]
    now[0] = 50.0  # an untimed eval
    timer.start()
    now[0] = 51.5
    assert timer.peek() == pytest.approx(4.5)
    assert timer.stop('p2') == pytest.approx(4.5) and timer.accumulated == pytest.approx(4.5)
    assert [p for p, _ in synced] == ['p1', 'p2']


def test_sync_happens_before_the_accounted_reading():
    now = [0.0]

    def sync(params):  # the device finishes its queued work: 1.5 s more
        now[0] += 1.5

    timer = SubmissionTimer(sync=sync, clock=lambda: now[0])
    timer.start()
    now[0] = 1.0
    assert timer.peek() == 1.0  # unsynchronised: the queued work is not seen yet
    assert timer.stop(None) == 2.5  # synchronised: it is
