"""``score --html``: the self-contained report, opened from disk (file://) in headless Chromium.

Two scorings: sweep folders in the runner's format with energy, telemetry and
an overridden eval period (``scored_sweeps``), and real JAX sweeps (Adam vs SGD
with Nesterov momentum, 2 studies of 2 trials, 80 steps each). Each page must
load with no console error, reference nothing on the network, show every
section, draw its figures, and show exactly the numbers of ``scores.csv`` and
``workload_times.csv``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``scripts/setup_browser.sh``)
and ``selenium``, ``plotly`` (the ``dashboard`` extra); without them it fails,
naming the fix.
"""

import csv
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scored_sweeps import make_sweep, reached

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'algorithmic_efficiency', 'submission_runner.py')
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
SECTIONS = ('scores', 'significance', 'warnings', 'profiles', 'times', 'energy', 'curves',
            'hardware', 'provenance')


def rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def score(argv, out, html):
    cmd = [sys.executable, '-m', 'algorithmic_efficiency.score', *argv, '--out', str(out),
           '--html', str(html), '--bootstrap', '500']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def constructed(tmp_path_factory):
    """A and B, 6 studies each, energy and telemetry measured; B's study 2 overrides the period."""
    root = tmp_path_factory.mktemp('score_html')
    for name, scale in (('A', 1.0), ('B', 1.6)):
        for k, t in enumerate([10.0, 11.0, 9.0, 12.0, 10.0, 9.5], start=1):
            flags = {'eval_period_time_sec': 1.0} if (name, k) == ('B', 2) else None
            make_sweep(root / name / f'study_{k}', 'mnist_jax',
                       [reached(t * scale, 100 * t * scale), reached(2 * t, 200 * t)],
                       energy=True, telemetry=True, flags=flags)
    out, html = root / 'scores', root / 'report.html'
    proc = score([f'A={root / "A"}', f'B={root / "B"}'], out, html)
    return out, html, proc


@pytest.fixture(scope='module')
def real(tmp_path_factory):
    """Real JAX sweeps: Adam and SGD-Nesterov, 2 studies x 2 trials of 80 steps."""
    root = tmp_path_factory.mktemp('score_html_real')
    subs = {'adam': 'baselines/mnist', 'sgd_nesterov': 'baselines/mnist/sgd_nesterov'}
    for name, base in subs.items():
        cmd = [sys.executable, RUNNER, '--framework=jax', '--workload=mnist_jax',
               f'--submission_path={ROOT}/{base}/mnist_jax/submission.py',
               f'--tuning_search_space={ROOT}/{base}/tuning_search_space.json',
               '--num_tuning_trials=2', '--num_studies=2', '--max_global_steps=80',
               '--rng_seed=1', '--nosummary', f'--log_dir={root / name}']
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
    out, html = root / 'scores', root / 'report.html'
    proc = score([f'{n}={root / n}' for n in subs], out, html)
    return out, html, proc


def browse(html, shot, profile_dir):
    """Opens `html` from disk; returns (console log, per-section facts, table cells)."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[dashboard]'", pytrace=False)
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f'{", ".join(missing)} not found: run scripts/setup_browser.sh '
                    '(apt-get install chromium chromium-driver)', pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run',
                 f'--user-data-dir={profile_dir}', '--window-size=1400,1800'):
        options.add_argument(flag)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    # An explicit driver path: Selenium then skips selenium-manager (no download).
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(120)
        driver.get(html.as_uri())
        sections = driver.execute_script(
            'return Object.fromEntries(arguments[0].map(id => {'
            '  const s = document.getElementById(id);'
            '  return [id, s === null ? null : {'
            '    plots: Array.from(s.querySelectorAll(".js-plotly-plot"))'
            '      .filter(p => p.querySelector(".main-svg")).length,'  # drawn by plotly.js
            '    text: s.textContent}];}))', list(SECTIONS))
        tables = driver.execute_script(
            'return Object.fromEntries(["scores-table", "times-table", "pairs-table"].map(id =>'
            '  [id, Array.from(document.querySelectorAll("#" + id + " tr")).slice(1).map(tr =>'
            '    Array.from(tr.querySelectorAll("td")).map(td =>'
            '      [td.dataset.col, td.dataset.value ?? null, td.innerText]))]))')
        # Rows as [column, data-value, text] lists: key order survives the trip.
        tables = {t: [{c: (v, x) for c, v, x in r} | {'': [c for c, _, _ in r]} for r in rs]
                  for t, rs in tables.items()}
        assert driver.save_screenshot(str(shot))
        log = driver.get_log('browser')
    finally:
        driver.quit()
    return log, sections, tables


def check_page(out, html, tmp_path):
    page = html.read_text()
    # Self-contained: no script, style or image fetched from anywhere.
    assert not re.search(r'<(script|link|img)[^>]+(src|href)=["\']?(https?:)?//', page)
    log, sections, tables = browse(html, tmp_path / 'shot.png', tmp_path / 'profile')
    assert [e for e in log if e['level'] in ('SEVERE', 'WARNING')] == [], log
    for sid in SECTIONS:
        assert sections[sid] is not None, f'section {sid} missing'
        assert len(sections[sid]['text']) > 20, (sid, sections[sid])
    assert sections['profiles']['plots'] >= 1 and sections['times']['plots'] == 1
    assert sections['curves']['plots'] >= 2  # loss and accuracy per workload
    # Every number in the page is the CSV's, cell for cell; shown rounded from it.
    for table, name in (('scores-table', 'scores.csv'), ('times-table', 'workload_times.csv')):
        want = rows(out / name)
        got = tables[table]
        assert len(got) == len(want) and want
        for g, w in zip(got, want, strict=True):
            assert g.pop('') == list(w)  # the same columns in the same order
            for col, (value, shown) in g.items():
                if value is None:  # a text column
                    assert shown == (w[col] or '-'), (col, shown, w[col])
                    continue
                assert value == w[col], (table, col, value, w[col])
                if value not in ('', 'inf', 'True', 'False') and col != 'studies':
                    fmt = '.4f' if table == 'scores-table' else '.4g'
                    assert shown == format(float(value), fmt), (col, shown, value)
    pairs = rows(out / 'score_pairs.csv')
    got = [{c: v[0] for c, v in p.items() if c and v[0] is not None} for p in tables['pairs-table']]
    assert got == [
        {c: v for c, v in p.items() if c not in ('submission_a', 'submission_b')} for p in pairs]
    return sections, tmp_path / 'shot.png'


def test_report_of_constructed_sweeps(constructed, tmp_path):
    out, html, proc = constructed
    assert str(html) in proc.stdout.splitlines()
    sections, shot = check_page(out, html, tmp_path)
    assert sections['energy']['plots'] == 1 and sections['hardware']['plots'] >= 2
    assert '--eval_period_time_sec=1' in sections['warnings']['text']
    assert 'A vs B' in sections['significance']['text']
    provenance = sections['provenance']['text']
    assert 'A: study 1, mnist' in provenance and 'B: study 6, mnist' in provenance
    from PIL import Image

    img = Image.open(shot).convert('RGB')
    assert img.size[0] >= 1000 and len(img.getcolors(1 << 24)) > 200  # drawn, not blank
    rgb = np.asarray(img, dtype=np.int16)
    assert int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum()) > 1000  # colour: the figures


def test_report_of_real_sweeps(real, tmp_path):
    out, html, proc = real
    sections, _ = check_page(out, html, tmp_path)
    # The runner's own telemetry (CPU, memory) during the best trials, and its metadata.
    assert sections['hardware']['plots'] >= 2
    assert 'Energy not measured' in sections['energy']['text']
    assert 'adam vs sgd_nesterov' in sections['significance']['text']
    assert 'framework_versions' in sections['provenance']['text']
    assert html.stat().st_size > 3_000_000  # plotly.js embedded (no CDN)
