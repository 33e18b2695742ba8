"""The writer interface (recording/writers.py): backends, fan-out, and the progress line."""

import math
import types

import pytest

from algorithmic_efficiency import spec
from algorithmic_efficiency.recording import writers
from algorithmic_efficiency.recording.recorder import Recorder
from algorithmic_efficiency.recording.tb.events import TrialTensorBoardWriter
from algorithmic_efficiency.storage.csv_writer import MetricsCsvWriter
from algorithmic_efficiency.training import trainer
from algorithmic_efficiency.training.trial_spec import TrialHooks, TrialLimits, TrialSpec


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class ScriptedWorkload(spec.Workload):
    """Evals every step (period 0); each eval returns the next scripted metrics."""

    def __init__(self, clock, metrics):
        self.clock = clock
        self.metrics = list(metrics)

    target_value = 0.97
    loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
    num_train_examples = 1000
    num_eval_examples = 100
    train_mean = 0.0
    train_stddev = 1.0
    max_allowed_runtime_sec = 1e9
    eval_period_time_sec = 0.0

    def prepare_data(self, data_dir):
        return {}

    def build_input_queue(self, data_rng, split, data_dir, global_batch_size):
        while True:
            yield {}

    def init_model_fn(self, rng):
        return {'w': 0}, None

    def model_fn(self, *args):
        raise NotImplementedError

    def loss_fn(self, *args):
        raise NotImplementedError

    def eval_model(self, params, model_state, rng):
        self.clock.now += 0.125
        return self.metrics.pop(0)


def _submission(step_seconds):
    def update_params(workload, params, types_, state, hp, batch, loss_type, opt, evals, step, rng):  # noqa: PLR0913  the submission API
        workload.clock.now += step_seconds
        return opt, params, state

    return types.SimpleNamespace(
        get_batch_size=lambda name: 100,
        init_optimizer_state=lambda *a: {},
        data_selection=lambda workload, queue, *a: next(queue),
        update_params=update_params,
    )


@pytest.mark.parametrize(
    'metrics, steps, reason',
    [
        # The trainer puts accuracy and loss first; another metric follows.
        ([{'loss': 2.5, 'top5': 0.25, 'accuracy': 0.125}] * 3, 3, 'max_steps'),
        ([{'loss': 1.0, 'accuracy': 0.5, 'note': 'text'}, {'loss': math.nan, 'accuracy': 0.5}],
         9, 'diverged'),
        ([{'loss': 0.5, 'accuracy': 0.99}], 9, 'target'),
    ],
)
def test_console_line_is_the_trainers_progress_line(metrics, steps, reason):
    """Fed the trainer's own rows, the console backend prints exactly the trainer's lines."""
    clock = Clock()
    printed = []
    trial = TrialSpec('fake', 'jax', run_idx=4, hyperparameters={'lr': 0.1}, seed=7,
                      limits=TrialLimits(max_global_steps=steps))
    result = trainer.train_once(ScriptedWorkload(clock, metrics), _submission(1.25), trial,
                                hooks=TrialHooks(clock=clock, progress=printed.append))
    assert result.stop_reason == reason
    lines = []
    console = writers.ConsoleWriter('fake', emit=lines.append)
    for i, row in enumerate(result.evals):
        console.write_row(row, stop_reason=reason if i == len(result.evals) - 1 else '')
    console.close()
    assert lines == printed
    assert lines[0].startswith('fake trial 4: step 1, 1.2s, accuracy ')
    assert lines[-1].endswith(f' (eval 0.12s) -> {reason}')


def test_progress_line_without_the_layout_columns():
    row = {'run_idx': 2, 'global_step': 10, 'accumulated_submission_time': 3.04,
           'loss': 0.5, 'eval_time_sec': 0.5, 'accuracy': 1}
    assert writers.progress_line('w', row) == (
        'w trial 2: step 10, 3.0s, accuracy 1.0000, loss 0.5000 (eval 0.50s)')
    assert writers.progress_line('w', row, 'budget', metric_keys=['loss']) == (
        'w trial 2: step 10, 3.0s, loss 0.5000 (eval 0.50s) -> budget')


class Spy:
    def __init__(self, name, log, fail_close=False):
        self.name, self.log, self.fail_close = name, log, fail_close

    def write_row(self, row):
        self.log.append((self.name, dict(row)))

    def close(self):
        self.log.append((self.name, 'close'))
        if self.fail_close:
            raise OSError(f'{self.name} could not close')


def test_multi_writer_fans_out_and_closes_every_writer():
    log = []
    multi = writers.MultiWriter([Spy('a', log, fail_close=True), Spy('b', log)])
    multi.write_row({'x': 1})
    with pytest.raises(OSError, match='a could not close'):
        multi.close()
    assert log == [('a', {'x': 1}), ('b', {'x': 1}), ('a', 'close'), ('b', 'close')]


def test_every_backend_is_a_metric_writer(tmp_path):
    backends = [
        writers.csv_writer(str(tmp_path / 'metrics.csv')),
        writers.tensorboard_writer(str(tmp_path / 'w' / 'run_1'), {'lr': 0.1}, ['lr']),
        writers.ConsoleWriter('w', emit=lambda line: None),
        writers.MultiWriter([]),
    ]
    for backend in backends:
        assert isinstance(backend, writers.MetricWriter), backend
        backend.close()
    assert isinstance(backends[0], MetricsCsvWriter)
    assert isinstance(backends[1], TrialTensorBoardWriter)


def test_recorder_writes_rows_through_one_multi_writer(tmp_path):
    rec = Recorder(str(tmp_path), 'w', tensorboard_hparams=['lr'])
    rec.prepare()
    trial = rec.start_trial(1, {'lr': 0.1}, seed=0)
    try:
        assert isinstance(trial.writer, writers.MultiWriter)
        kinds = [type(w) for w in trial.writer.writers]
        assert kinds == [MetricsCsvWriter, TrialTensorBoardWriter]
        trial.before_eval()
        trial.record_eval({'global_step': 1, 'loss': 0.5, 'status': 'complete'})
    finally:
        trial.close()
    header, row = (tmp_path / 'w' / 'run_1' / 'metrics.csv').read_text().splitlines()
    assert header.startswith('global_step,loss,status,cpu.') and row.startswith('1,0.5,complete,')
    assert (tmp_path / 'w' / 'run_1' / 'eval').is_dir()  # the TensorBoard backend wrote too
