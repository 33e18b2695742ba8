"""Analysis never imports a framework: every module under ``algorithmic_efficiency.analysis``
(found by walking the package, so a new module is covered without listing it here) and the
root analysis commands import in an interpreter where JAX, jaxlib, flax, optax and PyTorch
cannot be imported at all; any attempt to import one is recorded and fails the test.
"""

import json
import textwrap

from pyrun import run_python

BLOCKED = ('jax', 'jaxlib', 'flax', 'optax', 'torch')
ROOT_CLIS = ('status', 'summary', 'plot', 'tensorboard', 'dashboard', 'score')
# Modules the walk must find (a walk that silently found nothing would pass otherwise).
EXPECTED = (
    'algorithmic_efficiency.analysis.loader',
    'algorithmic_efficiency.analysis.incumbent',
    'algorithmic_efficiency.analysis.tensorboard_export',
    'algorithmic_efficiency.analysis.explorer.hydra_runs',
    'algorithmic_efficiency.analysis.explorer.walk',
    'algorithmic_efficiency.analysis.dashboard.app',
    'algorithmic_efficiency.analysis.dashboard.figures',
)

IMPORT_ALL = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys, traceback

    BLOCKED = {blocked!r}
    attempts = []


    class Block:
        # A finder ahead of all others: a blocked name can't be found anywhere.
        def find_spec(self, name, path=None, target=None):
            if name.partition('.')[0] in BLOCKED:
                caller = sys._getframe(1)
                while caller and caller.f_code.co_filename.startswith('<frozen'):
                    caller = caller.f_back
                where = caller.f_code.co_filename if caller else '?'
                attempts.append(f'{{name}} (from {{where}})')
                raise ImportError(f'{{name}} is blocked: analysis must not import a framework')
            return None


    sys.meta_path.insert(0, Block())
    assert not [m for m in BLOCKED if m in sys.modules]
    failed = {{}}

    def on_error(name):
        failed[name] = traceback.format_exc(limit=-3)

    import algorithmic_efficiency.analysis as pkg

    names = [pkg.__name__]
    names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.', on_error)]
    names += ['algorithmic_efficiency.' + n for n in {clis!r}]
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            failed[name] = traceback.format_exc(limit=-3)
    loaded = sorted(m for m in sys.modules if m.partition('.')[0] in BLOCKED)
    print(json.dumps({{'names': names, 'failed': failed, 'attempts': attempts, 'loaded': loaded}}))
    """
)


def test_every_analysis_module_imports_without_any_framework():
    code = IMPORT_ALL.format(blocked=BLOCKED, clis=ROOT_CLIS)
    proc = run_python(code, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(EXPECTED) <= set(result['names']), result['names']
    assert len(result['names']) >= 20, result['names']
    assert result['failed'] == {}
    assert result['attempts'] == []
    assert result['loaded'] == []


def test_the_blocker_catches_a_module_that_imports_a_framework(tmp_path):
    """The check itself: a module that tries (even inside try/except) is caught."""
    pkg = tmp_path / 'fake_analysis'
    pkg.mkdir()
    (pkg / '__init__.py').write_text('')
    (pkg / 'quiet.py').write_text('try:\n    import torch\nexcept ImportError:\n    torch = None\n')
    code = IMPORT_ALL.format(blocked=BLOCKED, clis=()).replace(
        'import algorithmic_efficiency.analysis as pkg', 'import fake_analysis as pkg'
    )
    proc = run_python(f'import sys; sys.path.insert(0, {str(tmp_path)!r})\n' + code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result['names'] == ['fake_analysis', 'fake_analysis.quiet']
    assert result['failed'] == {}  # the module swallowed the ImportError ...
    assert len(result['attempts']) == 1  # ... but the attempt is recorded
    assert result['attempts'][0].startswith('torch (from ')
    assert result['attempts'][0].endswith("quiet.py)")


def test_the_runners_tensorboard_hook_module_loads_no_pandas():
    """The runner imports tensorboard_export at a sweep's start: pandas only later."""
    code = textwrap.dedent(
        """
        import sys
        from algorithmic_efficiency.analysis import tensorboard_export
        print([m for m in ('pandas', 'numpy', 'matplotlib') if m in sys.modules])
        """
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == '[]'
