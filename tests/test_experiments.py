"""The guide's worked example (experiments/): measure_loss.sh then plot_loss.py, as documented.

Runs the real script (a real JAX sweep of 2 trials, capped at 20 steps each through
EXTRA_ARGS, and at 30 s of submission time through MAX_SECONDS, which a 20-step trial never
reaches) into a temporary LOG_DIR, from the repository root. The step cap, not the time cap,
ends the trials: a 1 s cap ended them after their first (compiling) step on a busy machine.
"""

import os
import struct
import subprocess
import sys

from algorithmic_efficiency.storage import csv_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, 'experiments', 'simple_example_mnist_loss')


def test_measure_then_plot(tmp_path):
    log_dir = tmp_path / 'logs'
    env = dict(
        os.environ,
        PYTHON=sys.executable,
        LOG_DIR=str(log_dir),
        MAX_SECONDS='30',
        EXTRA_ARGS='--rng_seed=0 --max_global_steps=20',
    )
    cmd = ['bash', 'experiments/simple_example_mnist_loss/measure_loss.sh']
    for attempt in (1, 2):  # a re-run replaces the first run's files instead of refusing
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, check=False, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, (attempt, proc.stdout[-2000:], proc.stderr[-2000:])
    assert sorted(os.listdir(log_dir)) == ['all_metrics.csv', 'console_output.log', 'mnist_jax']
    assert sorted(os.listdir(log_dir / 'mnist_jax')) == [
        'metadata.json',
        'packages.txt',
        'run_1',
        'run_2',
        'summary',
    ]
    console = (log_dir / 'console_output.log').read_text()
    assert 'mnist_jax: 2 trial(s)' in console
    assert console.count('mnist_jax: 2 trial(s)') == 1  # the re-run started a fresh log
    joined = csv_io.read_metrics_csv(log_dir / 'all_metrics.csv')
    per_trial = [
        csv_io.read_metrics_csv(log_dir / 'mnist_jax' / f'run_{i}' / 'metrics.csv') for i in (1, 2)
    ]
    assert len(joined) == sum(len(df) for df in per_trial) >= 4
    for df in per_trial:  # the eval after step 1 ... the final one at the cap
        assert df['global_step'].iloc[0] == 1 and df['global_step'].iloc[-1] == 20
    assert joined['loss'].tolist() == [v for df in per_trial for v in df['loss']]

    out = tmp_path / 'plot_loss.png'
    proc = subprocess.run(
        [
            sys.executable,
            'experiments/simple_example_mnist_loss/plot_loss.py',
            str(log_dir),
            str(out),
        ],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    width, height = struct.unpack('>II', data[16:24])
    assert width > 300 and height > 300
    from matplotlib import image

    assert image.imread(str(out)).std() > 0.01


def test_plot_loss_without_data_says_so(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(EXAMPLE, 'plot_loss.py'), str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert 'run measure_loss.sh first' in proc.stderr and 'Traceback' not in proc.stderr
