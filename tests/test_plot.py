"""analysis.plot: the figures' axes (limits, scales, labels, titles) and their size."""

import os

import pandas as pd
import pytest

from algorithmic_efficiency.analysis import plot


def runs_frame():
    rows = []
    for run_idx, losses in ((1, [2.25, 0.40, 0.35]), (2, [2.30, 0.33, 0.29])):
        for i, loss in enumerate(losses, start=1):
            rows.append({'sweep': 'mnist_jax', 'workload': 'mnist_jax', 'framework': 'jax',
                         'run_idx': run_idx, 'eval_idx': i, 'global_step': 100 * (i - 1),
                         'accumulated_submission_time': 10.0 * (i - 1), 'loss': loss,
                         'accuracy': 0.3 + 0.3 * i, 'trial.status': 'complete',
                         'workload.target_value': 0.97})
    return pd.DataFrame(rows)


def test_logx_starts_at_zero_and_leaves_room_after_the_last_point():
    fig = plot.loss_vs_step(runs_frame(), logx=True)
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    assert ax.get_xscale() == 'symlog' and left == 0 and right > 200 * 1.5
    assert fig._suptitle.get_text() == 'Loss vs global step'


def test_accuracy_is_never_on_a_log_axis():
    fig = plot.accuracy_vs_time(runs_frame(), logy=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == 'linear'
    assert 'accuracy is bounded' in fig._suptitle.get_text()


def test_best_loss_is_clipped_to_where_trials_differ():
    fig = plot.best_loss_vs_evals(runs_frame())
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    # The untrained first eval (2.25) is out of the range; 0.29-0.40 fills it.
    assert 0.25 < low < 0.29 and 0.40 < high < 0.5
    assert any('y clipped' in t.get_text() for t in ax.texts)
    assert ax.get_title()
    labels = [t for t in ax.texts if t.get_text().startswith('t')]
    offsets = {tuple(t.xyann) for t in labels}
    assert len(offsets) == 2  # alternately above and below the points


def test_system_and_runner_cpu_on_separate_labelled_axes():
    runs = runs_frame()
    runs['global_start_time'] = 1.8e9 + 100 * runs['run_idx']
    runs['wall_time'] = runs['global_start_time'] + runs['accumulated_submission_time']
    runs['cpu.util.avg_percent_since_last'] = 50.0  # 100 = all cores
    runs['proc.cpu.avg_percent_since_last'] = 180.0  # 100 = one core
    fig = plot.hardware(runs)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels[:2] == [plot.SYSTEM_CPU, plot.RUNNER_CPU]
    assert 'all cores' in labels[0] and 'one core' in labels[1]
    system, runner = fig.axes[0], fig.axes[1]
    assert max(max(ln.get_ydata()) for ln in system.lines if len(ln.get_ydata())) == 50.0
    assert max(max(ln.get_ydata()) for ln in runner.lines if len(ln.get_ydata())) == 180.0
    assert fig._suptitle.get_text().startswith('Hardware during the sweep')


def test_plot_bounds_the_figure_size(finished_sweep, tmp_path):
    pytest.importorskip('matplotlib')
    from algorithmic_efficiency.analysis import loader, plot
    runs = loader.load_runs(str(finished_sweep), metadata=False)
    with pytest.raises(ValueError, match=r'pixels \(more than 20000 a side\) at --dpi 100000'):
        plot.plot_runs(runs, str(tmp_path / 'plots'), dpi=100_000)
    assert not os.listdir(tmp_path / 'plots')
