"""The hyperparameters object a submission receives: attribute *and* mapping access.

AlgoPerf submissions read ``hyperparameters.learning_rate`` and test optional
ones with ``hasattr(hyperparameters, 'label_smoothing')`` (the peer hands them a
namedtuple); this project's submissions used dict access
(``hyperparameters['learning_rate']``, ``{**DEFAULTS, **hyperparameters}``).
:class:`Hyperparameters` serves both, so neither kind of file needs an edit:

* attributes: ``hp.learning_rate``; a missing name raises ``AttributeError``
  (so ``hasattr`` and ``getattr(hp, name, default)`` work);
* a read-only mapping: ``hp['learning_rate']``, ``hp.get``, ``in``, ``keys``,
  ``items``, ``**hp``, ``dict(hp)``; iterating yields the *names* (a namedtuple
  would yield the values: the one difference, documented in the README);
* the namedtuple extras submissions use: ``_fields``, ``_asdict()``,
  ``_replace(**changes)``.

It is immutable and hashable (usable as a static argument of ``jax.jit``),
and :func:`register_jax_pytree` makes it a JAX pytree like a namedtuple.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Hyperparameters(Mapping):
    """One trial's hyperparameters, read as attributes or as a mapping."""

    __slots__ = ('_values',)

    def __init__(self, values: Mapping[str, Any] | None = None, **kwargs: Any):
        object.__setattr__(self, '_values', {**(values or {}), **kwargs})

    # --- Attribute access (the peer's API).
    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails, i.e. for hyperparameter names
        # (and for '_values' itself before __init__ ran, e.g. while unpickling).
        if name == '_values':
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"this trial has no hyperparameter '{name}' "
                f"(it has: {', '.join(self._values) or 'none'})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError('hyperparameters are read-only; use _replace(name=value) for a copy')

    def __delattr__(self, name: str) -> None:
        raise AttributeError('hyperparameters are read-only')

    # --- Mapping access (this project's API).
    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    # --- The namedtuple extras.
    @property
    def _fields(self) -> tuple:
        return tuple(self._values)

    def _asdict(self) -> dict:
        return dict(self._values)

    def _replace(self, **changes: Any) -> Hyperparameters:
        unknown = [name for name in changes if name not in self._values]
        if unknown:
            raise ValueError(f"Got unexpected field names: {unknown!r}")
        return Hyperparameters(self._values, **changes)

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._values) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        inner = ', '.join(f'{k}={v!r}' for k, v in self._values.items())
        return f'Hyperparameters({inner})'

    def __reduce__(self):  # pickling (e.g. checkpointing a submission's state)
        return (Hyperparameters, (dict(self._values),))


def as_hyperparameters(values: Mapping[str, Any] | None) -> Hyperparameters | None:
    """The object a submission gets for a trial's dict (``None``, self-tuning, stays ``None``)."""
    if values is None or isinstance(values, Hyperparameters):
        return values
    return Hyperparameters(values)


_registered = False


def register_jax_pytree() -> None:
    """Makes :class:`Hyperparameters` a JAX pytree (values are leaves), once per process.

    Called by the runner for JAX sweeps only, so PyTorch users never import JAX.
    """
    global _registered
    if _registered:
        return
    import jax  # pylint: disable=import-outside-toplevel

    jax.tree_util.register_pytree_node(
        Hyperparameters,
        lambda hp: (tuple(hp._values.values()), tuple(hp._values)),
        lambda names, values: Hyperparameters(dict(zip(names, values, strict=True))),
    )
    _registered = True
