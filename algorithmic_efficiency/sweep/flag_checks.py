"""Ranges of the runner's numeric flags, checked at start-up before any file is written.

Every numeric flag must be a finite number within a stated range: a ``nan``
compares false with everything and would slip past ``<= 0``, an ``inf`` or
``1e12`` telemetry period would kill the sampler thread, a billion trials
would exhaust memory long after the sweep started. Each violation is one
line naming the flag, the value and the range (``UsageError``: exit 2).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from algorithmic_efficiency.errors import UsageError

MAX_TRIALS = 100_000
MAX_STEPS = 10**12
MAX_SEED = 2**64 - 1  # numpy's SeedSequence takes any non-negative int; 64 bits is plenty
MAX_BUDGET_SEC = 10**8  # about three years
TELEMETRY_RANGE_SEC = (0.01, 3600.0)
# More devices than any host has; a larger count would be appended to XLA_FLAGS
# as that many simulated CPU devices (host_devices) before JAX could refuse it.
MAX_DEVICES = 4096
# A study is a whole sweep (the rules use 5); each holds its directory's lock (an open
# file) to the end: 100,000 studies made 19,997 folders, then ran out of descriptors.
MAX_STUDIES = 100


@dataclasses.dataclass(frozen=True)
class NumericFlag:
    """A flag's allowed range (inclusive) and whether it must be an integer."""

    name: str
    low: float
    high: float
    integer: bool = False
    optional: bool = True  # None allowed (the flag's default)

    def check(self, value: Any) -> None:
        """Raises UsageError (one line) unless `value` is in range."""
        if value is None:
            if self.optional:
                return
            raise UsageError(f'--{self.name} is required')
        kind = 'an integer' if self.integer else 'a number'
        ok_type = isinstance(value, int) if self.integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type:
            raise UsageError(f'--{self.name} must be {kind}, got {value!r}')
        if not math.isfinite(value):
            raise UsageError(
                f'--{self.name} must be a finite number in [{_fmt(self.low)}, '
                f'{_fmt(self.high)}], got {value}'
            )
        if not self.low <= value <= self.high:
            raise UsageError(
                f'--{self.name} must be in [{_fmt(self.low)}, {_fmt(self.high)}], got {value}'
            )


def _fmt(x: float) -> str:
    return f'{x:,}' if isinstance(x, int) else f'{x:g}'


NUMERIC_FLAGS = (
    NumericFlag('num_tuning_trials', 1, MAX_TRIALS, integer=True, optional=False),
    NumericFlag('rng_seed', 0, MAX_SEED, integer=True),
    NumericFlag('max_global_steps', 1, MAX_STEPS, integer=True),
    NumericFlag('max_submission_time_sec', 0.001, MAX_BUDGET_SEC),
    NumericFlag('telemetry_interval_sec', *TELEMETRY_RANGE_SEC, optional=False),
    NumericFlag('num_devices', 1, MAX_DEVICES, integer=True),
)
# Checked after the "at least 1" check of sweep.config (whose message stays).
NUM_STUDIES = NumericFlag('num_studies', 1, MAX_STUDIES, integer=True, optional=False)


def check_numeric_flags(config: Any) -> None:
    """Checks every numeric flag of a ``sweep.RunConfig`` (UsageError, one line)."""
    for flag in NUMERIC_FLAGS:
        flag.check(getattr(config, flag.name))
