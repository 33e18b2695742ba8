"""``import algoperf`` for submissions written against the peer's API.

:func:`install` puts a finder first on ``sys.meta_path`` that resolves
``algoperf`` and ``algoperf.<module>`` to this project's layer
(``algorithmic_efficiency.compat.algoperf``) -- but only when the real
``algoperf`` package is *not* importable: an installed ``algoperf`` is never
shadowed. The decision is made once, when the runner loads a submission.

The alias is the very same module object (``sys.modules['algoperf.spec'] is
algorithmic_efficiency.compat.algoperf.spec``), so enums and exceptions are
identical wherever they are imported from: ``spec.ForwardPassMode.TRAIN``
passed by a submission is the workload's own, and ``spec.TrainingCompleteError``
raised by it is the one the trial loop catches.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.metadata
import importlib.util
import sys

ALIAS = 'algoperf'
TARGET = 'algorithmic_efficiency.compat.algoperf'
# The peer's modules this layer provides (what published submissions import).
PROVIDED = ('spec', 'pytorch_utils', 'jax_sharding_utils', 'random_utils')

API_COMPAT = 'algoperf-compat'
API_NATIVE = 'native'


class _AliasLoader(importlib.abc.Loader):
    """Hands out an already importable module under a second name."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        pass  # executed once, under its own name


class AlgoperfFinder(importlib.abc.MetaPathFinder):
    """Resolves ``algoperf[.x]`` to ``algorithmic_efficiency.compat.algoperf[.x]``."""

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + '.'):
            return None
        rest = fullname[len(ALIAS):]
        module = rest.lstrip('.').split('.')[0]
        if module and module not in PROVIDED:
            raise missing_module_error(fullname)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(TARGET + rest))


def missing_module_error(fullname: str) -> ModuleNotFoundError:
    """What importing a peer module this layer lacks raises: one line naming the way out."""
    return ModuleNotFoundError(
        f"No module named '{fullname}': this project's AlgoPerf layer provides "
        f"{', '.join(f'{ALIAS}.{m}' for m in PROVIDED)}; for others install the "
        'real package (pip install algoperf), which the runner then uses instead',
        name=fullname,
    )


def _installed_finder() -> AlgoperfFinder | None:
    return next((f for f in sys.meta_path if isinstance(f, AlgoperfFinder)), None)


def install() -> bool:
    """Makes ``import algoperf`` resolve to this layer unless the real package is importable.

    Idempotent. Returns True when this layer answers ``import algoperf``.
    """
    if _installed_finder() is not None:
        return True
    if ALIAS in sys.modules:  # the real one, already imported
        return False
    try:
        real = importlib.util.find_spec(ALIAS)
    except (ImportError, ValueError):
        real = None
    if real is not None:
        return False
    sys.meta_path.insert(0, AlgoperfFinder())
    return True


def uninstall() -> None:
    """Removes the finder and any ``algoperf`` aliases (for tests)."""
    finder = _installed_finder()
    if finder is not None:
        sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n == ALIAS or n.startswith(ALIAS + '.')]:
        if sys.modules[name].__name__.startswith(TARGET):
            del sys.modules[name]


def real_version(module) -> str:
    """The installed distribution's version of a real ``algoperf``."""
    try:
        return importlib.metadata.version(ALIAS)
    except importlib.metadata.PackageNotFoundError:
        return str(getattr(module, '__version__', 'unknown version'))


def submission_api() -> str:
    """Which API the loaded submission imported, for metadata.json's ``submission.api``.

    ``'algoperf-compat'`` (this layer), ``'algoperf <version>'`` (the real
    package) or ``'native'`` (no ``algoperf`` import).
    """
    module = sys.modules.get(ALIAS)
    if module is None:
        return API_NATIVE
    if module.__name__ == TARGET:
        return API_COMPAT
    return f'{ALIAS} {real_version(module)}'


def training_complete_errors() -> tuple:
    """The exception classes that end a trial cleanly: ours, and the real algoperf's if in use."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency import spec

    errors = [spec.TrainingCompleteError]
    real_spec = sys.modules.get(ALIAS + '.spec')
    other = getattr(real_spec, 'TrainingCompleteError', None)
    if isinstance(other, type) and issubclass(other, BaseException) and other not in errors:
        errors.append(other)
    return tuple(errors)
