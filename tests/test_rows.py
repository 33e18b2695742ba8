"""An eval's row: built in layout's schema order whatever order its parts arrive in."""

import pytest

from algorithmic_efficiency import layout
from algorithmic_efficiency.training import rows

COLUMNS = dict(
    framework='jax',
    workload='mnist_jax',
    run_idx=2,
    batch_size=100,
    num_train_examples=1000,
    steps_per_epoch=10,
    global_start_time=1.7e9,
    hparams={'hparam.lr': 0.1, 'hparam.b1': 0.9},
    properties={'workload.target_value': 0.97},
)


def make_row(metrics, framework_memory=None):
    return rows.TrialColumns(**COLUMNS).row(
        step=25, accumulated=3.5, metrics=rows.order_metrics(metrics), wall_time=1.7e9 + 9,
        goal_reached=False, eval_time=0.25, status='running',
        framework_memory=framework_memory or {})


def test_row_order_and_values():
    row = make_row({'top5': 0.99, 'loss': 0.5, 'accuracy': 0.8},
                   {'framework.0.mem.in_use_bytes': 7})
    assert list(row) == [
        'framework', 'workload', 'run_idx', 'accumulated_submission_time', 'global_step',
        'epoch',
        'accuracy', 'loss', 'top5', 'batch_size', 'hparam.lr', 'hparam.b1',
        'workload.target_value', 'steps_per_epoch', 'global_start_time', 'wall_time',
        'goal_reached', 'eval_time_sec', 'status', 'framework.0.mem.in_use_bytes',
        'checkpoint.seconds', 'trial.resumed_from_step',
    ]  # fmt: skip
    assert row['workload'] == 'mnist_jax'
    assert row['epoch'] == 2.5 and row['global_step'] == 25 and row['run_idx'] == 2
    assert row['accuracy'] == 0.8 and row['top5'] == 0.99
    assert row['framework.0.mem.in_use_bytes'] == 7
    # Checkpointing: none yet, not resumed (an empty cell).
    assert row['checkpoint.seconds'] == 0.0 and row['trial.resumed_from_step'] is None


def test_metrics_without_accuracy_keep_their_order():
    assert list(rows.order_metrics({'b': 1, 'loss': 2, 'a': 3})) == ['loss', 'b', 'a']


def test_hparam_columns():
    assert rows.hparam_columns({'lr': 0.1}) == {'hparam.lr': 0.1}
    assert rows.hparam_columns(None) == {}


def test_a_row_that_does_not_follow_the_schema_is_refused():
    full = {e.name: 0 for e in layout.TRAINER_SCHEMA if isinstance(e, layout.Column)}
    assert list(rows.build_row(full, {}))[:3] == ['framework', 'workload', 'run_idx']
    with pytest.raises(ValueError, match=r"missing \['status'\]"):
        rows.build_row({k: v for k, v in full.items() if k != 'status'}, {})
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        rows.build_row({**full, 'extra': 1}, {})
    with pytest.raises(ValueError, match='telemetry'):
        rows.build_row(full, {layout.TELEMETRY: {'cpu.x': 1}})  # the recorder's part
