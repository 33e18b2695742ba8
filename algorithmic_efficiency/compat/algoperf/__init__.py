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
