"""The documentation's reference pages against the code they describe.

``scripts/gen_docs.py`` writes docs/reference/*.md (and README's workloads
table) from the flags, layout.py's schema, the recorder's keys and the workload
registry. These tests fail when a committed page is stale, when a flag, column
or workload is missing from the docs or documented but gone, and when a real
sweep writes a column or key the pages don't explain. The sweep is real (JAX on
the embedded MNIST sample); only NVML is faked, at its import boundary
(``sys.modules['pynvml']``), since no GPU is lent here: it brings the GPU and
energy columns a CPU-only run would not show.
"""

import csv
import dataclasses
import json
import os
import re
import sys

import pytest
from fake_nvml import make_fake_pynvml, two_devices

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

import gen_docs  # noqa: E402

from algorithmic_efficiency import layout, sweep  # noqa: E402
from algorithmic_efficiency.sweep import config  # noqa: E402
from algorithmic_efficiency.telemetry import sampler as telemetry  # noqa: E402
from algorithmic_efficiency.workloads import registry  # noqa: E402

FIX = 'run `python scripts/gen_docs.py` (and describe new names in scripts/doc_tables.py)'


def read(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def first_cells(page):
    """The code span opening each table row of a page: the documented names, in order."""
    return re.findall(r'^\| `([^`]+)`', read(page), flags=re.M)


def matcher(patterns):
    """A test of a name against documented names, where ``<i>``, ``<sensor>``, ... stand for any
    text; a pattern that is only a placeholder (``<key>``) matches nothing here."""
    regexes = [
        re.compile('^' + re.sub(r'<[^>]+>', '.+', re.escape(p)) + '$')
        for p in patterns
        if not re.fullmatch(r'<[^>]+>', p)
    ]
    return lambda name: any(r.match(name) for r in regexes)


def test_committed_pages_are_the_generated_ones():
    generated = gen_docs.generate()
    stale = [path for path, text in generated.items() if read(path) != text]
    assert not stale, f'stale documentation {stale}: {FIX}'


def test_every_flag_documented_and_no_other():
    documented = {c.split(' ')[0].lstrip('-') for c in first_cells('docs/reference/flags.md')}
    flags = set(config.RUNNER_FLAGS)
    assert flags - documented == set(), f'flags missing from the docs: {FIX}'
    assert documented - flags == set(), f'documented flags that are gone: {FIX}'


def test_every_workload_documented_and_no_other():
    for page in ('docs/reference/workloads.md', 'README.md'):
        text = read(page)
        if page == 'README.md':
            text = text[text.index(gen_docs.README_START):text.index(gen_docs.README_END)]
        documented = set(re.findall(r'^\| `([a-z0-9_]+)` \| (?:jax|pytorch) \|', text, re.M))
        assert documented == set(registry.WORKLOADS), f'{page}: {FIX}'


def test_every_schema_column_documented_and_no_other():
    documented = first_cells('docs/reference/metrics-csv.md')
    schema = [e.name for e in layout.METRICS_SCHEMA if isinstance(e, layout.Column)]
    leads = [c.name for e in layout.METRICS_SCHEMA if isinstance(e, layout.Group) for c in e.lead]
    patterns = [e.pattern for e in layout.METRICS_SCHEMA if isinstance(e, layout.Group)]
    assert set(schema + leads) <= set(documented), f'columns missing from the docs: {FIX}'
    # The built-in columns in the schema's order.
    assert [c for c in documented if c in set(schema + leads)] == list(layout.BUILTIN_COLUMNS)
    # Each group has its members documented (hparam.<name> for 'hparam.<name>', ...).
    for pattern in patterns:
        stem = pattern.split('<')[0].split('*')[0]
        assert any(d.startswith(stem) for d in documented), f'group {pattern}: {FIX}'
    gone = [d for d in documented if '<' not in d and '.' not in d and d not in schema + leads]
    assert not gone, f'documented columns that are gone: {gone}: {FIX}'


def test_adding_a_flag_or_workload_without_regenerating_fails(monkeypatch):
    """The drift a contributor would cause: the generator's output no longer equals the pages."""
    from absl import flags

    flags.DEFINE_string('docs_probe', None, 'A probe flag.', module_name=gen_docs.__name__)
    try:
        monkeypatch.setattr(config, 'RUNNER_FLAGS', config.RUNNER_FLAGS + ('docs_probe',))
        probe = dataclasses.make_dataclass(
            'RunConfig', [('docs_probe', str | None, None)], bases=(config.RunConfig,), frozen=True
        )
        monkeypatch.setattr(config, 'RunConfig', probe)
        assert '`--docs_probe`' in gen_docs.flags_page()
        assert gen_docs.flags_page() != read('docs/reference/flags.md')
    finally:
        delattr(flags.FLAGS, 'docs_probe')
    monkeypatch.setitem(registry.WORKLOADS, 'mnist2_jax', registry.WORKLOADS['mnist_jax'])
    assert gen_docs.workloads_page() != read('docs/reference/workloads.md')
    # A column the schema gains with no meaning written down stops the generator.
    monkeypatch.setattr(
        layout, 'METRICS_SCHEMA', layout.METRICS_SCHEMA + (layout.Column('new_col', 'float'),)
    )
    with pytest.raises(gen_docs.DocsError, match='new_col'):
        gen_docs.metrics_page()


@pytest.fixture(scope='module')
def fake_gpu_sweep(tmp_path_factory):
    """A real 1-trial, 2-step mnist_jax sweep with two fake NVML GPUs; returns its directory."""
    log_dir = str(tmp_path_factory.mktemp('docs') / 'logs')
    mp = pytest.MonkeyPatch()
    mp.setitem(sys.modules, 'pynvml', make_fake_pynvml(two_devices()))
    telemetry._reset_nvml_for_tests()
    try:
        code = sweep.run(
            sweep.RunConfig(
                workload='mnist_jax',
                submission_path=os.path.join(ROOT, 'baselines/mnist/mnist_jax/submission.py'),
                tuning_search_space=os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json'),
                num_tuning_trials=1, max_global_steps=2, rng_seed=0, log_dir=log_dir,
                telemetry_interval_sec=0.05, summary=False, record_extra_metadata=('exp=docs',),
            )
        )  # fmt: skip
    finally:
        mp.undo()
        telemetry._reset_nvml_for_tests()
    assert code == 0
    return os.path.join(log_dir, 'mnist_jax')


def _rows(page):
    """(name, when) of each table row of a generated keys page."""
    return re.findall(r'^\| `([^`]+)` \| ([^|]+) \|', read(page), flags=re.M)


def test_every_column_of_a_real_sweep_is_documented(fake_gpu_sweep):
    with open(os.path.join(fake_gpu_sweep, 'run_1', 'metrics.csv'), newline='') as f:
        header = next(csv.reader(f))
    assert 'gpu.0.power.current_watts' in header and 'energy.submission_joules' in header
    documented = matcher(first_cells('docs/reference/metrics-csv.md'))
    undocumented = [c for c in header if c != 'exp' and not documented(c)]
    assert not undocumented, f'metrics.csv columns missing from the docs {undocumented}: {FIX}'
    always = [name for name in re.findall(
        r'^\| `([^`]+)` \| [^|]+ \| [^|]+ \| always \|', read('docs/reference/metrics-csv.md'),
        flags=re.M) if '<' not in name]  # fmt: skip
    assert set(always) - set(header) == set(), 'documented as always present but not written'


def test_every_key_of_metadata_and_trial_json_is_documented(fake_gpu_sweep):
    with open(os.path.join(fake_gpu_sweep, 'metadata.json')) as f:
        meta = json.load(f)
    rows = _rows('docs/reference/metadata-json.md')
    documented = matcher([k for k, _ in rows])
    missing = [k for k in meta if k != 'exp' and not documented(k)]
    assert not missing, f'metadata.json keys missing from the docs {missing}: {FIX}'
    always = {k for k, when in rows if when.strip() == 'always' and '<' not in k}
    assert always - set(meta) == set(), 'documented as always present but not written'

    with open(os.path.join(fake_gpu_sweep, 'run_1', 'trial.json')) as f:
        trial = json.load(f)
    keys = [k for k in trial if k != 'heartbeat'] + [f'heartbeat.{k}' for k in trial['heartbeat']]
    rows = _rows('docs/reference/trial-json.md')
    documented = matcher([k for k, _ in rows])
    missing = [k for k in keys if not documented(k)]
    assert not missing, f'trial.json keys missing from the docs {missing}: {FIX}'
    expected = {k for k, when in rows if when.strip() in ('always', 'when ended', 'while training')}
    assert expected - set(keys) == set(), 'documented keys a finished trial lacks'


def test_generating_imports_no_framework():
    """The pages come from framework-free code: a contributor with neither JAX nor PyTorch can
    regenerate them (and the test stays cheap)."""
    import subprocess

    code = (
        'import sys\n'
        "for name in ('jax', 'jaxlib', 'flax', 'optax', 'torch'):\n"
        '    sys.modules[name] = None  # importing it now raises ImportError\n'
        f'sys.path.insert(0, {os.path.join(ROOT, "scripts")!r})\n'
        'import gen_docs\n'
        'print(len(gen_docs.generate()))\n'
    )
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, 'PYTHONPATH': ROOT}, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(len(gen_docs.PAGES) + 1)  # the pages and README.md
