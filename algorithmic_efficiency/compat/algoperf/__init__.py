"""This project's stand-in for the peer's ``algoperf`` package (MLCommons AlgoPerf).

Submissions reach it as ``algoperf`` when the real package is not installed
(``algorithmic_efficiency.compat.importer``). It provides the modules
published submissions import -- ``spec``, ``pytorch_utils.pytorch_setup``,
``jax_sharding_utils`` and ``random_utils`` -- written for this project, on
this project's own types (``spec`` re-exports ``algorithmic_efficiency.spec``).
Importing this package imports neither JAX nor PyTorch; each module imports
only its own framework.
"""

__version__ = 'algorithmic_efficiency-compat'


def __getattr__(name: str):
    """``from algoperf import x``: the provided modules on first use, a clear error for others."""
    # pylint: disable=import-outside-toplevel
    import importlib

    from algorithmic_efficiency.compat import importer

    if name in importer.PROVIDED:
        return importlib.import_module(f'{__name__}.{name}')
    if name.startswith('_'):
        raise AttributeError(name)
    raise importer.missing_module_error(f'{importer.ALIAS}.{name}')
