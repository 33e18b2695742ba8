"""Which code may import a framework: the package's source, read as syntax trees.

JAX, flax, optax and PyTorch belong to the workloads (and the baselines that
train with them). Everything else -- the runner, the recorder, analysis --
must import without either framework, which a subprocess test can only check
for the modules it happens to import; this scan covers every file, including
imports inside functions and ``importlib.import_module('torch')``.
"""

import ast
import os

import pytest
from sweeps import ROOT

FRAMEWORKS = ('jax', 'jaxlib', 'flax', 'optax', 'torch')
# compat/ is the AlgoPerf layer submissions import (its sharding and RNG helpers are JAX's).
ALLOWED = ('algorithmic_efficiency/workloads/', 'algorithmic_efficiency/compat/', 'baselines/')


def framework_imports(source, filename='<string>'):
    """``(line, module)`` of every import of a framework in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and (getattr(node.func, 'attr', None) == 'import_module'
                   or getattr(node.func, 'id', None) in ('__import__', 'import_module'))):
            names = [node.args[0].value]
        found += [(node.lineno, n) for n in names if n.split('.')[0] in FRAMEWORKS]
    return found


def python_files(*roots):
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, root)):
            dirnames[:] = [d for d in dirnames if d != '__pycache__']
            for name in filenames:
                if name.endswith('.py'):
                    path = os.path.join(dirpath, name)
                    yield os.path.relpath(path, ROOT).replace(os.sep, '/'), path


def test_framework_imports_only_in_workloads_and_baselines():
    offenders, allowed = [], []
    for rel, path in python_files('algorithmic_efficiency', 'baselines'):
        with open(path, encoding='utf-8') as f:
            hits = framework_imports(f.read(), rel)
        (allowed if rel.startswith(ALLOWED) else offenders).extend(
            f'{rel}:{line} imports {module}' for line, module in hits)
    assert not offenders, '\n'.join(offenders)
    # The scan does see the framework code where it belongs.
    assert any('mnist_jax/workload.py' in a and 'imports jax' in a for a in allowed)
    assert any('mnist_pytorch/workload.py' in a and 'imports torch' in a for a in allowed)


@pytest.mark.parametrize('source, expected', [
    ('import torch', ['torch']),
    ('import numpy, jax.numpy as jnp', ['jax.numpy']),
    ('from flax import linen as nn', ['flax']),
    ('from optax.losses import x', ['optax.losses']),
    ('def f():\n    import jaxlib\n', ['jaxlib']),
    ("importlib.import_module('torch.cuda')", ['torch.cuda']),
    ("__import__('jax')", ['jax']),
    ('import torchvision, jaxtyping, flaxen', []),  # other packages whose names start alike
    ('from . import torch', []),  # a local module named torch is not PyTorch
    ("importlib.import_module('algorithmic_efficiency.workloads.mnist.mnist_jax.workload')", []),
])
def test_the_scan_finds_every_spelling(source, expected):
    assert [m for _, m in framework_imports(source)] == expected
