"""``metadata.json``'s content: the guide's keys, then what makes the sweep reproducible."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from typing import Any

from algorithmic_efficiency import compat, spec
from algorithmic_efficiency.sweep.config import PATH_FLAGS, RAY_FLAGS, CheckedInputs, RunConfig

FRAMEWORK_PACKAGES = {'jax': ('jax', 'jaxlib', 'flax', 'optax'), 'pytorch': ('torch',)}


def package_versions(names) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions



def _flags_metadata(config: RunConfig) -> dict[str, Any]:
    """metadata.json's ``flags``: every flag (Ray's only for a Ray sweep), paths shareable."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import redact

    flags = {
        **{
            k: v
            for k, v in dataclasses.asdict(config).items()
            if config.ray_address or k not in RAY_FLAGS
        },
        'record_extra_metadata': list(config.record_extra_metadata),
    }
    # Paths as the user may share them: relative to the working directory, else ~/...
    for name in PATH_FLAGS:
        flags[name] = redact.display_path(flags[name])
    return flags


def sweep_metadata(
    config: RunConfig,
    inputs: CheckedInputs,
    workload: spec.Workload,
    rng_seed: int,
    num_trials: int,
    data_info: dict[str, Any],
    device_info: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metadata.json: the guide's keys, then what makes the sweep reproducible."""
    # pylint: disable=import-outside-toplevel
    from algorithmic_efficiency.recording import sysinfo
    from algorithmic_efficiency.telemetry import energy
    from algorithmic_efficiency.telemetry import sampler as telemetry

    flags = _flags_metadata(config)
    return {
        'workload': config.workload,
        'framework': inputs.framework,
        'log_dir': flags['log_dir'],
        **sysinfo.system_metadata(None),  # git of this code's checkout
        **telemetry.gpu_info(),
        **(device_info or {}),  # devices.count, devices.kind, distributed.*
        # What energy.submission_joules adds up: 'nvml', 'rapl'; [] = not measured.
        energy.METADATA_KEY: energy.sources(),
        **workload.properties(),
        'framework_versions': package_versions(FRAMEWORK_PACKAGES[inputs.framework]),
        'rng_seed': rng_seed,
        'tuning_ruleset': config.tuning_ruleset,
        'num_tuning_trials': num_trials,
        'search_algorithm': config.search_algorithm,
        'search_space': inputs.search_space.to_json() if inputs.search_space else None,
        # 'native', 'algoperf-compat' (this project's layer) or 'algoperf <version>'.
        'submission.api': compat.submission_api(),
        'flags': flags,
        **data_info,
        **inputs.extra,
    }


