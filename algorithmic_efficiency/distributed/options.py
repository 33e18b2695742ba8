"""The Ray flags as one checked value: address, storage, resources per trial, concurrency, retries.

Standard library only: a sweep without ``--ray_address`` never imports Ray,
and bad values are refused before anything starts or is written.
"""

from __future__ import annotations

import dataclasses
import math
import re

from algorithmic_efficiency.distributed import address as ray_address

STORAGE_MODES = ('shared', 'driver')
# --trial_resources keys -> Ray's resource names.
RESOURCE_KEYS = {'cpu': 'CPU', 'gpu': 'GPU'}
_ADDRESS_RE = re.compile(r'^(ray://)?[A-Za-z0-9_.\-\[\]:]+:\d+$')


@dataclasses.dataclass(frozen=True)
class RayOptions:
    """How a sweep fans its trials out on Ray.

    Attributes:
      address: ``'local'`` (start Ray on this machine, loopback only), ``'auto'``
        (the cluster ``ray start --head`` started here) or ``HOST:PORT``.
      storage: ``'shared'``: each trial writes its ``run_<N>/`` itself (the log
        directory is the same path on every node); ``'driver'``: rows travel
        back to the driver, which writes every file.
      resources: asked per trial, e.g. ``{'cpu': 1.0, 'gpu': 1.0}``; ``None``:
        :func:`default_resources`.
      max_concurrent_trials: trials running at once; ``None``: as many as the
        cluster's resources fit.
      trial_retries: re-runs of a trial whose worker or node died.
    """

    address: str
    storage: str = 'shared'
    resources: dict[str, float] | None = None
    max_concurrent_trials: int | None = None
    trial_retries: int = 1


def parse_trial_resources(text: str | None) -> dict[str, float] | None:
    """``'cpu=1,gpu=0.5'`` -> ``{'cpu': 1.0, 'gpu': 0.5}``; empty or None -> None (the default).

    Raises:
      ValueError: one line naming the bad item and the expected form.
    """
    if not text or not text.strip():
        return None
    resources: dict[str, float] = {}
    for item in text.split(','):
        key, sep, value = item.strip().partition('=')
        key = key.strip().lower()
        if not sep or key not in RESOURCE_KEYS:
            raise ValueError(
                f"--trial_resources item '{item.strip()}' is not cpu=N or gpu=N "
                "(e.g. --trial_resources=cpu=4,gpu=1)"
            )
        try:
            amount = float(value)
        except ValueError:
            amount = math.nan
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(
                f"--trial_resources {key}='{value}' is not a non-negative number "
                "(e.g. --trial_resources=cpu=4,gpu=1)"
            )
        if key in resources:
            raise ValueError(f"--trial_resources gives '{key}' twice; give it once")
        if amount > 1 and amount != int(amount):
            # Ray's rule: fractions only below one unit.
            raise ValueError(f'--trial_resources {key}={value}: above 1 it must be a whole number')
        resources[key] = amount
    if resources.get('cpu', 1.0) == 0 and resources.get('gpu', 0.0) == 0:
        raise ValueError('--trial_resources asks for nothing; give cpu=N and/or gpu=N')
    return resources


def check_options(
    address: str | None,
    storage: str = 'shared',
    trial_resources: str | None = None,
    max_concurrent_trials: int | None = None,
    trial_retries: int = 1,
) -> RayOptions | None:
    """The runner's Ray flags checked; ``None`` when the sweep runs in this process.

    Raises:
      ValueError: one line naming the bad value and the fix.
    """
    if max_concurrent_trials is not None and max_concurrent_trials < 1:
        raise ValueError(f'--max_concurrent_trials must be at least 1, got {max_concurrent_trials}')
    if not address:
        # --max_concurrent_trials alone: a local pool (distributed.local_pool).
        given = {
            '--trial_resources': trial_resources,
            '--ray_storage': storage if storage != 'shared' else None,
        }
        for flag, value in given.items():
            if value:
                raise ValueError(f'{flag} needs --ray_address (e.g. --ray_address=local)')
        return None
    address = address.strip()
    if address not in ('local', 'auto') and not _ADDRESS_RE.match(address):
        raise ValueError(
            f"--ray_address '{address}' is not local, auto or HOST:PORT "
            '(e.g. --ray_address=10.0.0.5:6379)'
        )
    ray_address.check_port(address)
    if address.startswith('ray://'):
        raise ValueError(
            f"--ray_address '{address}': Ray Client (ray://) is not supported; run the "
            'runner on a node of the cluster with --ray_address=auto'
        )
    if storage not in STORAGE_MODES:
        raise ValueError(f"--ray_storage '{storage}' is not one of {', '.join(STORAGE_MODES)}")
    if trial_retries < 0:
        raise ValueError(f'--trial_retries must be 0 or more, got {trial_retries}')
    return RayOptions(
        address=address,
        storage=storage,
        resources=parse_trial_resources(trial_resources),
        max_concurrent_trials=max_concurrent_trials,
        trial_retries=trial_retries,
    )


def default_resources(
    cluster_cpus: float, cluster_gpus: float, num_trials: int, max_concurrent: int | None
) -> dict[str, float]:
    """One GPU per trial where GPUs exist (and the CPUs shared among GPUs), else a CPU share.

    The CPU share is the cluster's CPUs divided evenly among the trials that can
    run at once (``max_concurrent``, else all of them), at least one CPU.
    """
    if cluster_gpus >= 1:
        return {'cpu': float(max(1, int(cluster_cpus // cluster_gpus))), 'gpu': 1.0}
    concurrent = max(1, min(num_trials, max_concurrent or num_trials))
    return {'cpu': float(max(1, int(cluster_cpus // concurrent)))}


def concurrency(
    resources: dict[str, float],
    cluster_cpus: float,
    cluster_gpus: float,
    num_trials: int,
    max_concurrent: int | None,
) -> int:
    """Trials kept in flight: what the cluster fits (at least one), capped by ``max_concurrent``."""
    fit = trials_that_fit(resources, cluster_cpus, cluster_gpus)
    limit = max(1, num_trials if fit is None else fit)
    if max_concurrent is not None:
        limit = min(limit, max_concurrent)
    return max(1, min(limit, num_trials))


def trials_that_fit(
    resources: dict[str, float], cluster_cpus: float, cluster_gpus: float
) -> int | None:
    """How many trials asking ``resources`` the cluster holds at once (None: no limit)."""
    fits = []
    asked = ray_resources(resources)
    for amount, total in ((asked['num_cpus'], cluster_cpus), (asked['num_gpus'], cluster_gpus)):
        if amount > 0:
            fits.append(int(total // amount + 1e-9))
    return min(fits) if fits else None


def ray_resources(resources: dict[str, float]) -> dict[str, float]:
    """``{'cpu': 1, 'gpu': 1}`` -> Ray's ``num_cpus``/``num_gpus`` (one CPU unless asked)."""
    return {'num_cpus': resources.get('cpu', 1.0), 'num_gpus': resources.get('gpu', 0.0)}
