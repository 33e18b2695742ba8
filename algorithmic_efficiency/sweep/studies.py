"""Studies: ``--num_studies K`` repeats the whole sweep K times with derived seeds.

A study is a complete sweep: its own seed, lock, ``metadata.json`` and trials.
The benchmark scores a submission on a workload by the median over studies
of each study's fastest time to target (``analysis/scoring.py``), so that one
lucky or unlucky draw of the search does not decide the score.

With K = 1 nothing changes: the sweep is ``LOG_DIR/<workload>/`` and its seed
is ``--rng_seed`` itself. With K > 1 study k (1..K) is
``LOG_DIR/study_<k>/<workload>/`` with seed ``derive_seed(base, 'study', k)``,
where the base seed is ``--rng_seed`` (or drawn once, or, on ``--resume``,
read back from the studies' ``metadata.json``). Each study's metadata records
``study.index``, ``study.count`` and ``study.base_rng_seed``; ``flags`` keeps
the command line as given.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import statistics
from collections.abc import Iterable
from typing import Any

from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.layout import METADATA_FILE, study_dir_name
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.storage import files

BASE_SEED_KEY = 'study.base_rng_seed'


def study_seed(base_seed: int, k: int) -> int:
    """Study k's sweep seed: independent of the other studies', stable across runs."""
    return seeds.derive_seed(base_seed, 'study', k)


def _recorded_base_seed(log_dir: str, workload: str, num_studies: int) -> int | None:
    """The base seed a previous run of these studies recorded (resume), if any."""
    for k in range(1, num_studies + 1):
        path = os.path.join(log_dir, study_dir_name(k), workload, METADATA_FILE)
        try:
            meta = files.read_json(path)
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and isinstance(meta.get(BASE_SEED_KEY), int):
            return meta[BASE_SEED_KEY]
    return None


def base_seed(config: Any) -> int:
    """The seed the studies' seeds derive from.

    Raises:
      UsageError: on ``--resume``, a ``--rng_seed`` other than the recorded one.
    """
    recorded = None
    if config.resume and config.log_dir:
        recorded = _recorded_base_seed(config.log_dir, config.workload, config.num_studies)
    if recorded is not None:
        if config.rng_seed is not None and config.rng_seed != recorded:
            raise UsageError(
                f"--rng_seed={config.rng_seed} differs from the resumed studies' {recorded}; "
                'omit --rng_seed to resume them'
            )
        return recorded
    if config.rng_seed is not None:
        return config.rng_seed
    drawn = seeds.draw_seed()
    logging.info('No --rng_seed given: drew %d for the studies (recorded in metadata.json)', drawn)
    return drawn


def study_configs(config: Any, base: int) -> list[tuple[int, Any]]:
    """``(k, config)`` for k = 1..K: each study's own ``--log_dir`` and ``--rng_seed``."""
    out = []
    for k in range(1, config.num_studies + 1):
        log_dir = os.path.join(config.log_dir, study_dir_name(k)) if config.log_dir else None
        out.append((k, dataclasses.replace(config, log_dir=log_dir, rng_seed=study_seed(base, k))))
    return out


def study_metadata(k: int, num_studies: int, base: int) -> dict[str, Any]:
    """The keys a study adds to its ``metadata.json``."""
    return {'study.index': k, 'study.count': num_studies, BASE_SEED_KEY: base}


def median_time_to_target(scores: Iterable[float]) -> float:
    """The median over studies of each study's fastest time to target (inf: none reached).

    inf sorts last, as in the scoring (``analysis/performance_profile.py``);
    an even count averages the middle two (inf if either is inf).
    """
    values = sorted(scores)
    if not values:
        return math.inf
    return float(statistics.median(values))


def format_studies(workload: str, scores: list[float], energies: list[float] | None = None) -> str:
    """The line after the last study's table: each study's score and their median."""

    def fmt(v: float, unit: str) -> str:
        return f'{v:.2f} {unit}' if math.isfinite(v) else 'inf'

    per_study = ', '.join(fmt(s, 's') for s in scores)
    median = fmt(median_time_to_target(scores), 's')
    line = f'{workload}: {len(scores)} studies, fastest time to target per study: {per_study}; '
    line += f'median {median}'
    if energies and not any(math.isnan(e) for e in energies):
        line += f'; median energy to target {fmt(median_time_to_target(energies), "J")}'
    return line
