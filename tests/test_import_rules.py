"""docs/ARCHITECTURE.md's import table, enforced: every import of every module, as syntax trees.

The table ("The rooms") says which rooms each room may import; this test reads
it from the document itself (so the two cannot drift), scans every module of
the package -- imports at the top, inside functions, and
``importlib.import_module('...')`` with a literal name -- and fails on any
import the table does not allow, on any import circle between modules, and on
a workload importing another workload.
"""

import ast
import os
import re

import pytest
from sweeps import ROOT

PKG = 'algorithmic_efficiency'
ARCHITECTURE = os.path.join(ROOT, 'docs', 'ARCHITECTURE.md')
# Third-party names the table mentions (imported lazily where it says so).
EXTERNAL = {'ray', 'psutil', 'pynvml'}
# Every room may import the bad-input hierarchy (standard library only).
EVERYONE_MAY_IMPORT = ('errors',)


# --- The scan.
def package_modules(root=ROOT, package=PKG):
    """``{dotted module name: path}`` of every ``.py`` file of the package."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, package)):
        dirnames[:] = [d for d in dirnames if d != '__pycache__']
        for name in filenames:
            if name.endswith('.py'):
                path = os.path.join(dirpath, name)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, '.')
                out[dotted.removesuffix('.__init__')] = path
    return out


def _known(name, modules):
    """The longest prefix of `name` that is a module (``a.b.attr`` -> ``a.b``), or None."""
    parts = name.split('.')
    while parts:
        if '.'.join(parts) in modules:
            return '.'.join(parts)
        parts.pop()
    return None


def imports_of(module, source, modules, is_package=False):
    """``[(line, imported module)]`` of `source` (the module `module`), package modules only.

    ``from a.b import c`` names ``a.b.c`` when that is a module, else ``a.b``;
    relative imports are resolved; ``importlib.import_module('x')`` and
    ``__import__('x')`` with a literal count; imports inside functions count.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = module.split('.')
                parts = parts if is_package else parts[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            names = [f'{base}.{a.name}' if f'{base}.{a.name}' in modules else base
                     for a in node.names]
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
              and (getattr(node.func, 'attr', None) == 'import_module'
                   or getattr(node.func, 'id', None) in ('__import__', 'import_module'))):
            names = [node.args[0].value]
        for name in names:
            target = _known(name, modules) if name.split('.')[0] == PKG else None
            if target is not None and target != module:
                found.append((node.lineno, target))
    return found


def import_graph(modules):
    """``{module: [(line, imported module)]}`` for every module of the package."""
    graph = {}
    for name, path in modules.items():
        with open(path, encoding='utf-8') as f:
            graph[name] = imports_of(name, f.read(), modules, path.endswith('__init__.py'))
    return graph


def room(module):
    """The room of a module: ``a_e.training.trainer`` -> ``training``; ``a_e.plot`` -> ``plot``;
    the package's own ``__init__`` -> ``__init__``."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def circles(edges):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def runtime_edges(graph):
    """Module -> modules whose code runs when it is imported: each target and the
    ``__init__`` of the target's packages (except packages holding the importer,
    which are already initialising)."""
    edges = {}
    for module, imports in graph.items():
        targets = set()
        for _, target in imports:
            parts = target.split('.')
            for n in range(2, len(parts) + 1):
                prefix = '.'.join(parts[:n])
                if prefix == target or not (module + '.').startswith(prefix + '.'):
                    targets.add(prefix)
        edges[module] = sorted(targets - {module})
    return edges


# --- The table.
def _ticked(cell):
    return re.findall(r'`([^`]+)`', cell)


def read_table(path=ARCHITECTURE, modules=None):
    """``{room: allowed prefixes}`` from the "| room | job | may import |" table.

    "all of the above" allows every room of the rows before it; a name not in
    the package must be one of :data:`EXTERNAL` (a typo fails the test).
    """
    modules = modules if modules is not None else package_modules()
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r'\|\s*room\s*\|', line))
    rules, above = {}, []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        rooms_cell, _, allowed_cell = [c.strip() for c in line.strip('|').split('|')]
        rooms = [t.rstrip('/').removesuffix('.py') for t in _ticked(rooms_cell)]
        allowed = set()
        for token in _ticked(allowed_cell):
            if token in EXTERNAL:
                continue
            module = _known(f'{PKG}.{token}', modules)
            if module is None:
                raise AssertionError(f'{path}: {token!r} (row {rooms}) names no module')
            allowed.add(module.removeprefix(PKG + '.'))  # `sweep.load_submission` -> sweep
        if 'all of the above' in allowed_cell:
            allowed.update(above)
        for r in rooms:
            rules[r] = tuple(sorted(allowed))
        above += rooms
    return rules


def violations(graph, rules):
    out = []
    for module, imports in sorted(graph.items()):
        own = room(module)
        if own not in rules:
            out.append(f'{module}: room {own!r} is not in the table')
            continue
        allowed = rules[own] + EVERYONE_MAY_IMPORT
        for line, target in imports:
            rel = target.removeprefix(PKG + '.')
            if room(target) == own or target == PKG:
                continue
            if not any(rel == a or rel.startswith(a + '.') for a in allowed):
                out.append(f'{module}:{line} imports {rel}; {own} may import {", ".join(allowed)}')
    return out


def workload_packages(modules):
    """The packages under workloads/ that hold a workload (a ``workload`` module)."""
    return sorted({m.split('.')[2] for m in modules
                   if m.startswith(f'{PKG}.workloads.') and m.endswith('.workload')})


# --- The tests.
@pytest.fixture(scope='module')
def graph():
    return import_graph(package_modules())


def test_every_import_is_one_the_architecture_table_allows(graph):
    rules = read_table()
    assert {'spec', 'layout', 'errors', 'training', 'workloads', 'submission_runner'} <= set(rules)
    assert not violations(graph, rules), '\n'.join(violations(graph, rules))


def test_no_import_circles(graph):
    found = circles(runtime_edges(graph))
    assert not found, '\n'.join(' <-> '.join(c) for c in found)


def test_no_workload_imports_another_workload(graph):
    modules = package_modules()
    workloads = workload_packages(modules)
    assert {'mnist', 'cifar'} <= set(workloads)
    offenders = []
    for module, imports in graph.items():
        parts = module.split('.')
        if len(parts) < 3 or parts[1] != 'workloads' or parts[2] not in workloads + ['common']:
            continue
        for line, target in imports:
            other = target.split('.')
            if len(other) > 2 and other[1] == 'workloads' and other[2] in workloads \
                    and other[2] != parts[2]:
                offenders.append(f'{module}:{line} imports {target}')
    assert not offenders, '\n'.join(offenders)


# --- The scan and the checks can fail.
MODULES = {f'{PKG}.{m}': '' for m in (
    'spec', 'layout', 'sweep', 'sweep.core', 'training', 'training.trainer', 'workloads',
    'workloads.mnist', 'workloads.mnist.data', 'workloads.mnist.data_tfds', 'analysis',
    'sweep.submission')}


@pytest.mark.parametrize('module, source, expected', [
    ('training.trainer', 'from algorithmic_efficiency import spec', ['spec']),
    ('training.trainer', 'import algorithmic_efficiency.sweep.core as c', ['sweep.core']),
    ('training.trainer', 'def f():\n    from algorithmic_efficiency.sweep import core\n',
     ['sweep.core']),
    ('training.trainer', 'from algorithmic_efficiency.sweep import RunConfig', ['sweep']),
    ('training.trainer', "importlib.import_module('algorithmic_efficiency.analysis')",
     ['analysis']),
    ('workloads.mnist.data', 'from . import data_tfds', ['workloads.mnist.data_tfds']),
    ('workloads.mnist.data', 'from .. import mnist', ['workloads.mnist']),
    ('training.trainer', 'import numpy, jax', []),
])
def test_the_scan_finds_every_spelling(module, source, expected):
    found = imports_of(f'{PKG}.{module}', source, MODULES)
    assert [t.removeprefix(PKG + '.') for _, t in found] == expected


def test_a_forbidden_import_and_a_circle_are_reported():
    graph = {f'{PKG}.training.trainer': [(3, f'{PKG}.sweep.core')],
             f'{PKG}.sweep.core': [(5, f'{PKG}.training.trainer')],
             f'{PKG}.spec': []}
    rules = {'training': ('spec',), 'sweep': ('training',), 'spec': ()}
    assert violations(graph, rules) == [
        f'{PKG}.training.trainer:3 imports sweep.core; training may import spec, errors']
    assert circles(runtime_edges(graph)) == [[f'{PKG}.sweep.core', f'{PKG}.training.trainer']]
    # Importing a package module runs the package's __init__: a circle through it counts.
    graph = {f'{PKG}.workloads.mnist.data': [(1, f'{PKG}.analysis')],
             f'{PKG}.analysis': [(2, f'{PKG}.workloads.mnist.data_tfds')],
             f'{PKG}.workloads.mnist': [(1, f'{PKG}.workloads.mnist.data')],
             f'{PKG}.workloads.mnist.data_tfds': []}
    assert circles(runtime_edges(graph)) == [
        [f'{PKG}.analysis', f'{PKG}.workloads.mnist', f'{PKG}.workloads.mnist.data']]


def test_the_table_is_read_from_the_document(tmp_path):
    doc = tmp_path / 'ARCHITECTURE.md'
    doc.write_text('| room | job | may import |\n| --- | --- | --- |\n'
                   '| `spec.py` | contract | standard library |\n'
                   '| `training/` | loop | `spec`, `sweep.load_submission`; `ray` lazily |\n'
                   '| `sweep/`, `plot.py` | all | all of the above |\n\ntext\n')
    assert read_table(str(doc), MODULES) == {
        'spec': (), 'training': ('spec', 'sweep'), 'sweep': ('spec', 'training'),
        'plot': ('spec', 'training')}
    doc.write_text('| room | job | may import |\n| --- | --- | --- |\n'
                   '| `spec.py` | x | `nothere` |\n')
    with pytest.raises(AssertionError, match="'nothere'"):
        read_table(str(doc), MODULES)
