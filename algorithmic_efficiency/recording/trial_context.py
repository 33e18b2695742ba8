"""The running trial, as a submission sees it: its ``run_<N>`` directory.

The recorder hands the trial over explicitly: :func:`enter` (called by
:class:`~algorithmic_efficiency.recording.recorder.TrialRecorder` when a trial
starts) makes it the *current trial* in a :mod:`contextvars` variable, and
:func:`leave` (when the trial's recording closes) closes what the trial opened
through it, such as its ``Logger``, and restores the previous state.

A submission that runs code in another process (a data-loader worker, a
launched script) can't see a context variable, so :func:`enter` also exports
the directory as the ``AE_TRIAL_DIR`` environment variable, which a child
process inherits; :func:`current` falls back to it. That variable is set and
read here only.

Standard library only.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
from collections.abc import Callable
from typing import Any

_log = logging.getLogger(__name__)

TRIAL_DIR_ENV = 'AE_TRIAL_DIR'  # the current trial's run_<N> directory, for child processes


class Trial:
    """A running trial: its directory, and the resources opened for it (closed at its end)."""

    def __init__(self, run_dir: str):
        self.run_dir = os.path.abspath(run_dir)
        self._resources: dict[str, Any] = {}
        self.closed = False

    def resource(self, key: str, make: Callable[[], Any]) -> Any:
        """The trial's object for `key`, made by `make()` on first use (or if it was closed)."""
        obj = self._resources.get(key)
        if obj is None or getattr(obj, 'closed', False):
            obj = self._resources[key] = make()
        return obj

    def close(self) -> None:
        """Closes every resource; an error is logged, never raised (a trial's end must go on)."""
        self.closed = True
        resources, self._resources = self._resources, {}
        for key, obj in resources.items():
            try:
                obj.close()
            except Exception as e:  # noqa: BLE001
                _log.warning('closing %s of trial %s: %s', key, self.run_dir, e)


_current: contextvars.ContextVar[Trial | None] = contextvars.ContextVar(
    'algorithmic_efficiency_trial', default=None
)
# The trial enter() exported through TRIAL_DIR_ENV (seen by threads, which
# start with an empty context), and one made by current() for a directory no
# entered trial has (in a child process, or given explicitly).
_exported: Trial | None = None
_adopted: Trial | None = None


class _Entered:
    """What leave() needs to undo an enter()."""

    def __init__(self, trial: Trial, token: contextvars.Token, env: str | None, exported):
        self.trial, self.token, self.env, self.exported = trial, token, env, exported


def enter(run_dir: str) -> _Entered:
    """Makes `run_dir`'s trial current (here and, through the environment, in child processes)."""
    global _exported
    trial = Trial(run_dir)
    entered = _Entered(trial, _current.set(trial), os.environ.get(TRIAL_DIR_ENV), _exported)
    os.environ[TRIAL_DIR_ENV] = trial.run_dir
    _exported = trial
    return entered


def leave(entered: _Entered) -> None:
    """Ends the trial of `entered`: closes its resources, restores the previous state."""
    global _exported
    entered.trial.close()
    try:
        _current.reset(entered.token)
    except ValueError:  # left from another context (another thread): set it back by hand
        _current.set(None)
    if entered.env is None:
        os.environ.pop(TRIAL_DIR_ENV, None)
    else:
        os.environ[TRIAL_DIR_ENV] = entered.env
    _exported = entered.exported


@contextlib.contextmanager
def trial(run_dir: str):
    """``with trial(run_dir):`` -- :func:`enter` and :func:`leave` around a block."""
    entered = enter(run_dir)
    try:
        yield entered.trial
    finally:
        leave(entered)


def current(run_dir: str | None = None) -> Trial | None:
    """The current trial, or the trial of `run_dir` if given; None outside a trial.

    Without `run_dir`: the context's trial, else the one ``AE_TRIAL_DIR`` names
    (in a thread started by the submission, or in a child process). A
    directory no entered trial has gets a trial of its own, which replaces
    (closes) the previous one made that way.
    """
    global _adopted
    here = _current.get()
    if run_dir is None:
        if here is not None:
            return here
        run_dir = os.environ.get(TRIAL_DIR_ENV) or None
        if run_dir is None:
            return None
    path = os.path.abspath(run_dir)
    for known in (here, _exported, _adopted):
        if known is not None and known.run_dir == path and not known.closed:
            return known
    if _adopted is not None:
        _adopted.close()
    _adopted = Trial(path)
    return _adopted


def current_trial_dir() -> str | None:
    """The current trial's ``run_<N>`` directory (absolute), or None outside a trial."""
    found = current()
    return found.run_dir if found is not None else None
