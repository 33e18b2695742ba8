"""Is a ``running`` trial still running? Its heartbeat and its process tell.

The recorder writes into ``trial.json`` who runs the trial (``host``, ``pid``)
and, every few seconds of training and at every eval, a ``heartbeat`` (step,
submission time, wall time, steps/s, ETA). A trial whose ``trial.json`` still
says ``running`` is *stale* (killed: SIGKILL, a crash of the machine, an
out-of-memory kill) when

* on this host, its process is gone (as MLflow and W&B mark a run whose
  process died); or
* on another host (where the process can't be looked at), its last sign of
  life (heartbeat, else start) is older than :data:`REMOTE_STALE_SEC`, long
  enough for the longest eval to finish.

Files written before heartbeats existed have no ``pid``: a ``running`` trial
that started before the sweep's latest one is stale (the runner runs one
trial at a time; not so on Ray, whose trials carry a ``node.id`` and run side
by side); the latest one can't be told and stays ``running``.
Standard library only (``status`` must start fast).
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from algorithmic_efficiency.layout import host_id

STALE = 'stale'
REMOTE_STALE_SEC = 3600.0  # another host's trial: no sign of life for an hour


@functools.lru_cache(maxsize=64)
def _hostname(salt: str = '') -> str:
    return host_id(salt=salt)


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    except (OSError, ValueError, OverflowError):
        return False
    return True


def last_sign_of_life(info: dict[str, Any]) -> float | None:
    """Unix seconds of the trial's last heartbeat, else its start; None if unknown."""
    beat = info.get('heartbeat')
    when = beat.get('wall_time') if isinstance(beat, dict) else None
    when = when if isinstance(when, (int, float)) else info.get('started')
    return float(when) if isinstance(when, (int, float)) else None


def is_stale(info: dict[str, Any] | None, now: float | None = None) -> bool | None:
    """Whether a ``running`` trial's `info` (trial.json) belongs to a dead run.

    Returns None when `info` says nothing about its process (older files).
    """
    if not isinstance(info, dict) or not isinstance(info.get('pid'), int):
        return None
    salt = info.get('host_salt')
    if info.get('host_id') == _hostname(salt if isinstance(salt, str) else ''):
        return not pid_alive(info['pid'])
    last = last_sign_of_life(info)
    now = time.time() if now is None else now
    return last is not None and now - last > REMOTE_STALE_SEC


def mark_stale(trials: list[tuple[dict[str, Any] | None, str]]) -> list[str]:
    """The statuses of a sweep's trials, ``running`` ones that are dead turned ``stale``.

    Args:
      trials: ``(trial.json or None, status)`` per trial.
    """
    started = [
        None if 'node.id' in (info or {}) else (info or {}).get('started') for info, _ in trials
    ]
    known = [s for s in started if isinstance(s, (int, float))]
    latest = max(known) if known else None
    out = []
    for (info, status), start in zip(trials, started, strict=True):
        if status == 'running':
            stale = is_stale(info)
            if stale is None:  # no pid: only the latest trial can be live
                stale = isinstance(start, (int, float)) and start < latest
            status = STALE if stale else status
        out.append(status)
    return out
