"""The dashboard: the Streamlit page with Streamlit's own AppTest (on a real small sweep
and a Hydra multirun made by hydra-core), the command line, and once end to end: the
server started by PID on 127.0.0.1 and the page loaded by headless Chromium (Selenium
with Debian's chromedriver), the screenshot checked for the parallel-coordinates plot.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (apt) and the
``selenium`` pip package (the ``dashboard`` extra); without them it fails, naming the
command that installs them.
"""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request

import numpy as np
import pytest
from hydra_multirun import N_JOBS, NO_RESULTS, read_overrides, sweep_dir_of
from pyrun import run_python
from sweeps import N_TRIALS, ROOT, SWEEP_KEY, file_trials

APP = os.path.join(ROOT, 'algorithmic_efficiency', 'analysis', 'dashboard', 'app.py')
# Debian's packages (apt: chromium, chromium-driver) put both in /usr/bin.
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
APT_HINT = 'apt-get update && apt-get install -y chromium chromium-driver'
TIMEOUT = 60  # AppTest's per-run limit: generous, the machine is shared


def needs(module):
    try:
        return __import__(module)
    except ImportError:
        pytest.fail(f"{module} is not installed: pip install -e '.[dashboard]'", pytrace=False)


@pytest.fixture(scope='module')
def log_dir(pytorch_sweep):
    return pytorch_sweep  # conftest's shared sweep (read-only: copy before changing it)


@pytest.fixture(scope='module')
def hydra_root(hydra_multirun):
    return hydra_multirun  # conftest's shared multirun (read-only)


def run_app(monkeypatch, *argv, at=None):
    """Runs the page as `streamlit run dashboard_app.py -- *argv` would."""
    needs('streamlit')
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(sys, 'argv', [APP, *map(str, argv)])
    if at is None:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at):
    """The plotly figure (a dict) of every chart on the page, in page order."""
    return [json.loads(el.proto.spec) for el in at.get('plotly_chart')]


def by_title(at):
    """Title -> figure of the charts with a title (the curves and telemetry)."""
    return {c['layout']['title']['text']: c for c in charts(at) if 'title' in c.get('layout', {})}


def parcoords(at):
    found = [c for c in charts(at) if c['data'] and c['data'][0]['type'] == 'parcoords']
    assert len(found) == 1, [c['data'][0]['type'] for c in charts(at) if c['data']]
    return found[0]['data'][0]


def dims(pc):
    return {d['label']: d for d in pc['dimensions']}


def texts(elements):
    return [e.value for e in elements]


def widget(elements, label):
    (w,) = [e for e in elements if e.label == label]
    return w


# ---------------------------------------------------------------------------
# AppTest
# ---------------------------------------------------------------------------
def test_page_shows_both_layouts_in_parallel_coordinates(monkeypatch, log_dir, hydra_root):
    at = run_app(monkeypatch, log_dir, hydra_root, '--query', '*.npy')
    assert texts(at.error) == []
    assert at.title[0].value == 'Runs dashboard'
    pc = parcoords(at)
    d = dims(pc)
    expected_axes = ['learning_rate', 'one_minus_beta_1', 'epsilon (log10)', 'lr', 'batch']
    expected_axes += ['optimizer', 'hyperparameters.dropout']
    expected_axes += ['best_loss', 'final_loss', 'best_accuracy', 'final_accuracy']
    expected_axes += ['metric', 'metric.min', 'metric.max', 'loss']  # Hydra: first 4
    assert list(d) == expected_axes
    n_runs = N_TRIALS + N_JOBS
    assert all(len(x['values']) == n_runs for x in pc['dimensions'])
    # Lines in frame order: the 3 trials, then jobs 0..11.
    trials = file_trials(os.path.join(log_dir, SWEEP_KEY))
    lr = d['learning_rate']
    for i in range(N_TRIALS):
        assert lr['values'][i] == trials[i + 1][1]['hyperparameters']['learning_rate']
    # Hydra jobs have no learning_rate: the n/a tick at the bottom of the axis.
    assert lr['ticktext'][0] == 'n/a' and lr['range'][0] == lr['tickvals'][0]
    assert set(lr['values'][N_TRIALS:]) == {lr['range'][0]}
    # A categorical axis: its values as labelled categories, n/a for the log_dir trials.
    opt = d['optimizer']
    assert opt['ticktext'] == ['adam', 'sgd', 'n/a'] and opt['tickvals'] == [0, 1, 2]
    sweep = sweep_dir_of(hydra_root)
    for job in range(N_JOBS):
        want = read_overrides(os.path.join(sweep, str(job)))['optimizer']
        assert opt['ticktext'][opt['values'][N_TRIALS + job]] == want
    assert opt['values'][:N_TRIALS] == [2] * N_TRIALS
    # epsilon (1e-8 or 1e-6): a log10 axis.
    eps = d['epsilon (log10)']
    for i in range(N_TRIALS):
        want = trials[i + 1][1]['hyperparameters']['epsilon']
        assert abs(10 ** eps['values'][i] - want) < 1e-12
    # Metrics: best loss per trial, and the Hydra job without results on n/a.
    best = d['best_loss']
    for i in range(N_TRIALS):
        assert best['values'][i] == min(float(r['loss']) for r in trials[i + 1][0])
    loss = d['loss']
    jobs_na = [j for j in range(N_JOBS) if loss['values'][N_TRIALS + j] == loss['range'][0]]
    assert [read_overrides(os.path.join(sweep, str(j))) for j in jobs_na] == [NO_RESULTS]
    assert pc['line']['colorbar']['title']['text'].startswith('best_loss')
    caption = ' '.join(texts(at.caption))
    assert f'{n_runs} of {n_runs} runs in 2 sweep(s)' in caption


def test_filters_by_framework_status_and_hyperparameter_range(monkeypatch, log_dir, hydra_root):
    at = run_app(monkeypatch, log_dir, hydra_root)
    labels = [w.label for w in at.sidebar.multiselect]
    assert labels[:4] == ['Sweep', 'Workload', 'Framework', 'Status']
    assert widget(at.sidebar.multiselect, 'Framework').options == ['pytorch', 'n/a']
    assert widget(at.sidebar.multiselect, 'Status').options == ['complete', 'n/a']
    widget(at.sidebar.multiselect, 'Framework').set_value(['pytorch'])
    at = run_app(monkeypatch, at=at)
    assert len(parcoords(at)['dimensions'][0]['values']) == N_TRIALS
    widget(at.sidebar.multiselect, 'Framework').set_value(['pytorch', 'n/a'])
    widget(at.sidebar.multiselect, 'Workload').set_value(['app'])
    at = run_app(monkeypatch, at=at)
    assert len(parcoords(at)['dimensions'][0]['values']) == N_JOBS
    # A range of lr: only lr = 0.1 (runs without lr, none here, would pass).
    slider = widget(at.sidebar.select_slider, 'lr')
    assert slider.options == ['0.01', '0.1']
    slider.set_range(0.1, 0.1)
    at = run_app(monkeypatch, at=at)
    d = dims(parcoords(at))
    assert len(d['lr']['values']) == N_JOBS // 2
    assert 'learning_rate' not in d  # no selected run has it
    # Status: nothing selected, nothing shown, a message.
    widget(at.sidebar.multiselect, 'Status').set_value([])
    at = run_app(monkeypatch, at=at)
    assert 'No run passes the filters.' in texts(at.info)
    assert not at.get('plotly_chart')


def test_curves_telemetry_and_trial_table(monkeypatch, log_dir):
    at = run_app(monkeypatch, log_dir)
    trials = file_trials(os.path.join(log_dir, SWEEP_KEY))
    figs = by_title(at)
    assert 'loss per trial' in figs and 'accuracy per trial' in figs
    assert 'cpu.util.interval_mean_percent over time' in figs
    assert 'proc.rss_bytes over time' in figs
    assert all(t['type'] == 'scatter' for f in figs.values() for t in f['data'])
    loss = figs['loss per trial']['data']
    assert [t['name'] for t in loss] == [f'{SWEEP_KEY} #{n}' for n in range(1, N_TRIALS + 1)]
    for n, trace in enumerate(loss, start=1):
        rows = trials[n][0]
        assert trace['y'] == [float(r['loss']) for r in rows]
        assert trace['x'] == [int(r['global_step']) for r in rows]
    table = at.dataframe[0].value
    assert table['sweep'].tolist() == [SWEEP_KEY] * N_TRIALS
    assert table['run'].tolist() == list(range(1, N_TRIALS + 1))
    for n in range(1, N_TRIALS + 1):
        row = table[table['run'] == n].iloc[0]
        assert row['status'] == 'complete' and row['framework'] == 'pytorch'
        hp = trials[n][1]['hyperparameters']
        assert row['hp.learning_rate'] == hp['learning_rate']
        assert row['num_evals'] == len(trials[n][0])
    frame_table = at.dataframe[1].value
    assert frame_table.columns.tolist()[:2] == ['group', 'parameter']
    assert frame_table.columns.tolist()[2:] == [f'{SWEEP_KEY} #{n}' for n in range(1, 4)]
    # Curves on another x axis.
    at.selectbox(key='curves_x').set_value('accumulated_submission_time')
    at = run_app(monkeypatch, at=at)
    first = by_title(at)['loss per trial']['data'][0]
    assert first['x'] == [float(r['accumulated_submission_time']) for r in trials[1][0]]


def test_curves_of_the_other_eval_splits(monkeypatch, log_dir, tmp_path):
    # A CIFAR-10 sweep's rows carry train.* columns beside the target split's; this
    # copy of the shared sweep gets them (train.loss = 2 x loss), as CIFAR writes them.
    copy = tmp_path / 'logs'
    shutil.copytree(log_dir, copy)
    for n in range(1, N_TRIALS + 1):
        path = copy / SWEEP_KEY / f'run_{n}' / 'metrics.csv'
        with open(path, newline='') as f:
            rows = list(csv.DictReader(f))
        header = list(rows[0]) + ['train.loss', 'train.accuracy']
        with open(path, 'w', newline='') as f:
            writer = csv.DictWriter(f, header)
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, 'train.loss': 2 * float(row['loss']),
                                 'train.accuracy': 0.5})
    at = run_app(monkeypatch, copy)
    assert at.radio(key='curves_split').options == ['target split', 'train']
    assert 'loss per trial' in by_title(at)  # the target split first
    at.radio(key='curves_split').set_value('train')
    at = run_app(monkeypatch, at=at)
    figs = by_title(at)
    assert 'loss per trial' not in figs
    trials = file_trials(os.path.join(log_dir, SWEEP_KEY))
    for n, trace in enumerate(figs['train.loss per trial']['data'], start=1):
        assert trace['y'] == pytest.approx([2 * float(r['loss']) for r in trials[n][0]])
    assert all(v == 0.5 for t in figs['train.accuracy per trial']['data'] for v in t['y'])


def test_a_sweep_without_other_splits_has_no_split_choice(monkeypatch, log_dir):
    at = run_app(monkeypatch, log_dir)
    assert not [r for r in at.radio if r.key == 'curves_split']


def test_page_reloads_when_a_running_sweep_writes(monkeypatch, log_dir, tmp_path):
    copy = tmp_path / 'logs'
    shutil.copytree(log_dir, copy)
    at = run_app(monkeypatch, copy, '--refresh', '1')
    table = at.dataframe[0].value
    evals_before = int(table[table['run'] == 3]['num_evals'].iloc[0])
    # The sweep writes one more eval row to trial 3 ...
    metrics = copy / SWEEP_KEY / 'run_3' / 'metrics.csv'
    lines = metrics.read_text().splitlines(keepends=True)
    header = lines[0].rstrip('\n').split(',')
    last = lines[-1].rstrip('\n').split(',')
    last[header.index('global_step')] = '21'
    last[header.index('loss')] = '0.125'
    metrics.write_text(''.join(lines) + ','.join(last) + '\n')
    # ... and a rerun (what the every-1-s check triggers) shows it.
    at = run_app(monkeypatch, at=at)
    table = at.dataframe[0].value
    row = table[table['run'] == 3].iloc[0]
    assert row['num_evals'] == evals_before + 1
    assert row['best_loss'] == 0.125
    loss = by_title(at)['loss per trial']
    assert loss['data'][2]['y'][-1] == 0.125 and loss['data'][2]['x'][-1] == 21
    # A new trial appears too (its folder and first row).
    shutil.copytree(copy / SWEEP_KEY / 'run_3', copy / SWEEP_KEY / 'run_4')
    at = run_app(monkeypatch, at=at)
    assert at.dataframe[0].value['run'].tolist() == [1, 2, 3, 4]


def test_bad_input_is_a_message_in_the_page(monkeypatch, log_dir, hydra_root, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    at = run_app(monkeypatch, tmp_path / 'missing', empty)
    errors = texts(at.error)
    assert len(errors) == 2
    assert 'does not exist' in errors[0] and 'no runs found' in errors[1]
    assert 'No runs to show.' in texts(at.warning)
    # No folder at all.
    at = run_app(monkeypatch)
    assert any('No folder given' in t for t in texts(at.info))
    # Unreadable YAML and mixed layouts in one folder: messages, and the plot still drawn.
    root = tmp_path / 'mixed'
    shutil.copytree(log_dir, root / 'logs')
    shutil.copytree(os.path.join(hydra_root, 'multirun'), root / 'multirun')
    bad = root / 'multirun' / '2024-01-02' / '03-04-05' / '7' / '.hydra' / 'config.yaml'
    bad.write_text('lr: [unclosed\n')
    at = run_app(monkeypatch, root, '--refresh', 'soon', '--bogus')
    assert texts(at.error) == []
    assert any('mixed layouts' in t for t in texts(at.info))
    warnings = texts(at.warning)
    assert any('unreadable YAML' in w and str(bad) in w for w in warnings)
    assert any("--refresh 'soon' is not a number" in w for w in warnings)
    assert any('ignored arguments: --bogus' in w for w in warnings)
    assert len(parcoords(at)['dimensions'][0]['values']) == N_TRIALS + N_JOBS


def test_cli_usage_and_command(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-m', 'algorithmic_efficiency.dashboard', '--port', 'abc', 'x'],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "'abc' is not a port number" in proc.stderr
    from algorithmic_efficiency import dashboard

    args = dashboard.argparse.Namespace(
        paths=['a', 'b'], address='127.0.0.1', port=9000, query=['*.npy'], refresh=5.0
    )
    cmd = dashboard.build_command(args)
    assert cmd[:5] == [sys.executable, '-m', 'streamlit', 'run', dashboard.APP]
    end = cmd.index('--')
    flags = dict(zip(cmd[5:end:2], cmd[6:end:2], strict=True))
    assert flags['--server.address'] == '127.0.0.1' and flags['--server.port'] == '9000'
    assert flags['--browser.gatherUsageStats'] == 'false'
    assert flags['--server.headless'] == 'true'
    after = cmd[cmd.index('--') + 1 :]
    assert after == [
        os.path.abspath('a'),
        os.path.abspath('b'),
        '--query',
        '*.npy',
        '--refresh',
        '5.0',
    ]


def test_dashboard_modules_import_no_framework(log_dir):
    code = textwrap.dedent(
        f"""
        import sys
        import algorithmic_efficiency.dashboard
        import algorithmic_efficiency.analysis.dashboard.app as app
        from algorithmic_efficiency.analysis import explorer
        loaded = explorer.load([{log_dir!r}])
        app.parcoords_figure(explorer.by_run(loaded.frame), ['learning_rate'], ['best_loss'],
                             'best_loss')
        print([m for m in ('jax', 'torch', 'flax', 'tensorflow', 'hydra') if m in sys.modules])
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == '[]'


# ---------------------------------------------------------------------------
# End to end: the server on 127.0.0.1 and headless Chromium
# ---------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_healthy(url, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f'{url}/_stcore/health', timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def browse(url, shot, profile_dir):
    """Loads the page in headless Chromium; returns the plot's SVG texts and the lines' box."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        f'--user-data-dir={profile_dir}',
        '--window-size=1500,1000',
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium then skips selenium-manager (no download).
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.get(url)
        plot_css = '.js-plotly-plot g.parcoords'
        WebDriverWait(driver, 90).until(lambda d: d.find_elements(By.CSS_SELECTOR, plot_css))
        axes_js = "return document.querySelectorAll('.js-plotly-plot g.parcoords .axis').length"
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(axes_js) >= 10)
        time.sleep(1.0)  # the WebGL lines are drawn after the SVG axes
        labels = driver.execute_script(
            "return Array.from(document.querySelectorAll('.js-plotly-plot g.parcoords text'))"
            '.map(t => t.textContent)'
        )
        # Where the lines are: between the first and the last axis of the plot.
        box = driver.execute_script(
            "const a = Array.from(document.querySelectorAll('.js-plotly-plot g.parcoords .axis'))"
            '.map(e => e.getBoundingClientRect());'
            'return [Math.min(...a.map(r => r.left)), Math.min(...a.map(r => r.top)),'
            ' Math.max(...a.map(r => r.right)), Math.max(...a.map(r => r.bottom)),'
            ' window.devicePixelRatio];'
        )
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    return labels, box


def test_browser_shows_parallel_coordinates(log_dir, hydra_root, tmp_path):
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f'{", ".join(missing)} not found: the browser test needs Debian\'s chromium and '
            f'chromium-driver; install them with: {APT_HINT}',
            pytrace=False,
        )
    needs('selenium')
    from PIL import Image

    port = free_port()
    url = f'http://127.0.0.1:{port}'
    shot = tmp_path / 'dashboard.png'
    server_log = tmp_path / 'server.log'
    cmd = [sys.executable, '-m', 'algorithmic_efficiency.dashboard', log_dir, hydra_root]
    cmd += ['--port', str(port), '--refresh', '0']
    with open(server_log, 'w') as log:
        server = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            assert wait_healthy(url, server), server_log.read_text()[-3000:]
            labels, box = browse(url, shot, tmp_path / 'chromium-profile')
        finally:
            stop(server)  # by its PID: the dashboard exec'd into the server
    assert server.returncode is not None
    for want in ('learning_rate', 'optimizer', 'best_loss', 'adam', 'sgd', 'n/a'):
        assert want in labels, labels
    assert shot.stat().st_size > 30_000
    img = Image.open(shot).convert('RGB')
    assert img.size[0] >= 1000 and len(img.getcolors(1 << 24)) > 200  # not blank
    left, top, right, bottom, ratio = box
    plot = img.crop(tuple(int(v * ratio) for v in (left, top, right, bottom)))
    # Lines in colour (Viridis), not only grey axes and text.
    rgb = np.asarray(plot, dtype=np.int16)
    coloured = int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())
    assert coloured > 1000, coloured


def test_telemetry_against_time_since_trial_start(monkeypatch, log_dir):
    at = run_app(monkeypatch, log_dir)
    fig = by_title(at)['proc.rss_bytes over time']
    assert fig['layout']['xaxis']['title']['text'] == 'time since the trial started (s)'
    xs = [x for trace in fig['data'] for x in trace['x']]
    assert xs and all(isinstance(x, float) and 0 <= x < 3600 for x in xs)
    assert fig['layout']['legend']['font']['size'] == 10  # a compact legend
    at.radio(key='tel_x').set_value('wallclock')  # the wall clock, as an option
    at = run_app(monkeypatch, at=at)
    fig = by_title(at)['proc.rss_bytes over time']
    assert fig['layout']['xaxis']['title']['text'] == 'time (UTC)'
    assert not any('set-up time is not in the rows' in c.value for c in at.caption)


def test_same_named_sweeps_get_short_unique_labels():
    from algorithmic_efficiency.analysis.dashboard.figures import run_label, short_labels

    keys = ['/data/exp_a/logs/mnist_jax', '/data/exp_b/logs/mnist_jax', 'mnist_pytorch']
    labels = short_labels(keys)
    assert labels == {keys[0]: 'exp_a/logs/mnist_jax', keys[1]: 'exp_b/logs/mnist_jax',
                      'mnist_pytorch': 'mnist_pytorch'}
    assert short_labels(['/x/a/run', '/y/b/run']) == {'/x/a/run': 'a/run', '/y/b/run': 'b/run'}
    assert run_label(keys[1], 3, labels) == 'exp_b/logs/mnist_jax #3'


def test_a_taken_port_is_one_line_before_serving(tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, '-m', 'algorithmic_efficiency.dashboard', str(tmp_path),
             '--port', str(port)],
            check=False, capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
    assert proc.returncode == 2 and proc.stdout == ''  # nothing said "serving"
    assert proc.stderr.count('\n') == 1
    assert proc.stderr.startswith('python -m algorithmic_efficiency.dashboard: error: port '
                                  f'{port} on 127.0.0.1 is not free'), proc.stderr
    assert '--port' in proc.stderr
