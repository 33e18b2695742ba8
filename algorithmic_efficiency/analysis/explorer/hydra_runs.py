"""The Hydra multirun reader: each job folder's ``.hydra/`` files as a frame column.

Per job: ``.hydra/overrides.yaml`` (what the command line set) gives the
hyperparameters, parsed by hydra-core's own override grammar
(``OverridesParser``), so a value means what it meant to Hydra (``1e-3`` a
float, ``0x10`` a string, quotes removed); ``.hydra/config.yaml`` (resolved
where possible) gives their typed values and the ``dataset``/``other``
groups; ``.hydra/hydra.yaml`` the job's name, number and choices; top-level
``*.json``/``*.npy`` files the ``metrics``.

PyYAML, omegaconf and hydra-core are imported here only when a Hydra folder
is read. ``benchmarks/bench_hydra_overrides.py`` (200 jobs x 6 overrides, a
loaded 2-core machine): hydra-core's parser takes ~0.35 ms per override, the
hand-written split plus ``yaml.safe_load`` used before ~0.07 ms, a job's
whole load ~10 ms (its three YAML files and config resolution dominate).
Parses are cached, and a grid sweep repeats the same few overrides across its
jobs: 0.02 ms per override there, faster than by hand; a random search
(every value new) loads ~15 % slower than by hand. Not material, so no
hand-written parser is kept.
"""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

import numpy as np

from algorithmic_efficiency.analysis.explorer.columns import (
    ExplorerError,
    RunColumn,
    first_line,
    flatten,
    path_matches,
    scalar,
)
from algorithmic_efficiency.analysis.explorer.walk import (
    HYDRA_DIR,
    HYDRA_FILES,
    MULTIRUN_FILE,
    scandir,
)
from algorithmic_efficiency.storage.files import natural_key

SOURCE_HYDRA = 'hydra'
# Top-level config nodes that make the 'dataset' group of a Hydra run.
HYDRA_DATASET_NODES = ('dataset', 'data')
# Top-level config node whose keys are hyperparameters too (the peer tool's convention).
HYDRA_HPARAM_NODE = 'hyperparameters'
# Results read from a Hydra job directory's top level (the 'metrics' group).
MAX_RESULT_BYTES = 10 * 1024 * 1024
_DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_TIME_RE = re.compile(r'^\d{2}-\d{2}-\d{2}$')
# ${name:...}: an interpolation with a resolver (hydra:, now:, oc.env:, ...).
_RESOLVER_RE = re.compile(r'\$\{\s*[A-Za-z_][\w.]*\s*:')
_INSTALL = "install them with: pip install -e '.[dashboard]'"


def _yaml_modules():
    try:
        # Imported here: only Hydra folders need them.
        import yaml
        from omegaconf import OmegaConf
    except ImportError as e:
        raise ExplorerError(
            f'reading Hydra folders needs PyYAML and omegaconf ({e}); {_INSTALL}'
        ) from None
    return yaml, OmegaConf


@functools.cache
def _override_parser():
    """hydra-core's override parser (built once; imported only when a Hydra folder is read)."""
    try:
        from hydra.core.override_parser.overrides_parser import OverridesParser
    except ImportError as e:
        raise ExplorerError(f'reading Hydra folders needs hydra-core ({e}); {_INSTALL}') from None
    return OverridesParser.create()


def _read_yaml(path: str, warnings: list[str], use_omegaconf: bool = False) -> Any:
    """The parsed file, or None (a warning if present but unreadable)."""
    if not os.path.exists(path):
        return None
    yaml, omegaconf = _yaml_modules()
    try:
        if use_omegaconf:
            cfg = omegaconf.load(path)
            return omegaconf.to_container(cfg, resolve=False)
        with open(path, encoding='utf-8') as f:
            return yaml.safe_load(f)
    except Exception as e:  # noqa: BLE001  (a damaged file is data, not a crash)
        warnings.append(f'{path}: unreadable YAML ({first_line(e)}); its values are left out')
        return None


def _escape_resolvers(obj: Any) -> Any:
    r"""Strings with ``${resolver:...}`` escaped (``\${``) so resolving keeps them raw."""
    if isinstance(obj, dict):
        return {k: _escape_resolvers(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_escape_resolvers(v) for v in obj]
    if isinstance(obj, str) and _RESOLVER_RE.search(obj):
        return obj.replace('${', '\\${')
    return obj


def resolve_config(raw: Any) -> dict[str, Any]:
    """Flat ``a.b`` -> value of a job's config, interpolations resolved where possible.

    Interpolations between the config's own nodes (``${model.depth}``) are
    resolved. Those with a resolver (``${hydra:...}``, ``${now:...}``,
    ``${oc.env:...}``) cannot be resolved outside the run (and an env var read
    here would be the viewer's, not the run's): they stay as written. A node
    that fails to resolve (a dangling reference) stays as written too.
    """
    if not isinstance(raw, dict):
        return {}
    _, omegaconf = _yaml_modules()
    flat_raw = flatten(raw)
    try:
        cfg = omegaconf.create(_escape_resolvers(raw))
    except Exception:  # noqa: BLE001
        return flat_raw
    try:
        return flatten(omegaconf.to_container(cfg, resolve=True))
    except Exception:  # noqa: BLE001, S110  (one bad node: resolve node by node below)
        pass
    out = {}
    for key, value in flat_raw.items():
        try:
            node = omegaconf.select(cfg, key, throw_on_resolution_failure=True)
            if omegaconf.is_config(node):
                node = omegaconf.to_container(node, resolve=True)
            out[key] = node
        except Exception:  # noqa: BLE001
            out[key] = value
    return out


@functools.lru_cache(maxsize=65536)
def _parsed(text: str) -> tuple[str, Any] | str:
    """``(key, value)`` of one override by Hydra's grammar, or why it can't be parsed.

    Cached: the jobs of a multirun repeat the same few overrides (``lr=0.1``
    in every job with that value), and a parse costs far more than a lookup.
    """
    try:
        override = _override_parser().parse_override(text)
    except ExplorerError:
        raise
    except Exception as e:  # noqa: BLE001  (HydraException: a hand-edited file, not a crash)
        return first_line(e)
    key = override.key_or_group
    if override.is_delete() or override.value_type is None:
        return key, None
    value = override.value()
    if value is None or isinstance(value, (str, int, float, bool)):
        return key, value
    return key, text.partition('=')[2]


def parse_override(item: Any, where: str, warnings: list[str]) -> tuple[str, Any] | None:
    """One line of overrides.yaml -> ``(key, value)`` by Hydra's grammar, or None to skip.

    The key is without its ``+``/``++``/``~`` prefix and ``@package``. The value
    is what Hydra makes of it when it is a scalar (number, bool, string,
    null), the text as written otherwise (a list, a dict, a sweep), and None
    for a deletion (``~key``). An item Hydra cannot parse gets a warning.
    """
    if not isinstance(item, str) or not item.strip():
        return None
    text = item.strip()
    parsed = _parsed(text)
    if isinstance(parsed, str):
        warnings.append(f'{where}: override {text!r} not understood ({parsed}); ignored')
        return None
    return parsed if parsed[0] else None


def _read_result_files(  # noqa: C901  one warning per kind of unreadable file
    job_dir: str, warnings: list[str]
) -> dict[str, Any]:
    """Scalars of the job's top-level ``*.json`` objects and numeric ``*.npy`` files.

    JSON: every number, bool or string of an object (nested keys as ``a.b``).
    ``.npy``: a single number as ``<stem>``; a 1-D array as ``<stem>`` (its
    last value), ``<stem>.min`` and ``<stem>.max``. Other files are ignored.
    """
    out: dict[str, Any] = {}
    entries = scandir(job_dir) or []
    for e in sorted(entries, key=lambda e: natural_key(e.name)):
        if not e.is_file() or e.name.startswith('.'):
            continue
        stem, ext = os.path.splitext(e.name)
        if ext not in ('.json', '.npy'):
            continue
        try:
            if e.stat().st_size > MAX_RESULT_BYTES:
                continue
            if ext == '.json':
                with open(e.path, encoding='utf-8') as f:
                    obj = json.load(f)
                if isinstance(obj, dict):
                    for k, v in flatten(obj).items():
                        if v is None or isinstance(v, (int, float, str, bool)):
                            out.setdefault(k, v)
            else:
                arr = np.load(e.path, allow_pickle=False)
                if arr.dtype.kind not in 'biuf':
                    continue
                if arr.size == 1:
                    out.setdefault(stem, scalar(arr.reshape(-1)[0]))
                elif arr.ndim == 1 and arr.size:
                    out.setdefault(stem, scalar(arr[-1]))
                    out.setdefault(f'{stem}.min', scalar(np.nanmin(arr)))
                    out.setdefault(f'{stem}.max', scalar(np.nanmax(arr)))
        except Exception as ex:  # noqa: BLE001  (a half-written result is not a crash)
            warnings.append(f'{e.path}: unreadable ({first_line(ex)}); left out')
    return out


def hydra_key(sweep_dir: str, root: str) -> str:
    """The frame's level-0 key of a Hydra sweep: ``"<date> <time>"`` or its relative path."""
    absolute = os.path.abspath(sweep_dir)
    name = os.path.basename(absolute)
    parent = os.path.basename(os.path.dirname(absolute))
    if _TIME_RE.match(name) and _DATE_RE.match(parent):
        return f'{parent} {name}'
    rel = os.path.relpath(sweep_dir, root)
    return os.path.basename(absolute) if rel in ('.', '') or rel.startswith('..') else rel


def _job_number(job_dir: str, hydra_cfg: Any) -> int | str:
    num = None
    if isinstance(hydra_cfg, dict):
        num = ((hydra_cfg.get('hydra') or {}).get('job') or {}).get('num')
    if isinstance(num, int) and not isinstance(num, bool):
        return num
    name = os.path.basename(os.path.normpath(job_dir))
    return int(name) if name.isdigit() else name


def _sweep_overrides(sweep_dir: str, single: bool, warnings: list[str]) -> str | None:
    """The sweep's command line (multirun.yaml's ``hydra.overrides.task``), or None."""
    if single:
        return None
    multirun = _read_yaml(os.path.join(sweep_dir, MULTIRUN_FILE), warnings)
    if not os.path.exists(os.path.join(sweep_dir, MULTIRUN_FILE)):
        warnings.append(f'{sweep_dir}: no {MULTIRUN_FILE} (an interrupted or copied sweep?)')
    if isinstance(multirun, dict):
        task = ((multirun.get('hydra') or {}).get('overrides') or {}).get('task')
        if isinstance(task, list):
            return ' '.join(map(str, task))
    return None


def _hydra_other(hydra_cfg: Any) -> dict[str, Any]:
    """The 'other' facts from hydra.yaml: the job's name, number, choices, Hydra's version."""
    hydra = (hydra_cfg or {}).get('hydra') if isinstance(hydra_cfg, dict) else None
    hydra = hydra if isinstance(hydra, dict) else {}
    job_info = hydra.get('job') if isinstance(hydra.get('job'), dict) else {}
    runtime = hydra.get('runtime') if isinstance(hydra.get('runtime'), dict) else {}
    other = {
        'hydra.job.name': job_info.get('name'),
        'hydra.job.num': job_info.get('num'),
        'hydra.job.override_dirname': job_info.get('override_dirname'),
        'hydra.runtime.version': runtime.get('version'),
    }
    choices = runtime.get('choices') if isinstance(runtime.get('choices'), dict) else {}
    for group, choice in choices.items():
        if not str(group).startswith('hydra/'):
            other[f'hydra.runtime.choices.{group}'] = choice
    return other


def _job_values(  # noqa: C901  each Hydra file is optional, each absence a warning
    job: str, patterns: list[str], sweep_overrides, warnings
) -> tuple[dict, Any]:
    """One job's cells, and its parsed hydra.yaml (for its number)."""
    hdir = os.path.join(job, HYDRA_DIR)
    hydra_cfg = _read_yaml(os.path.join(hdir, 'hydra.yaml'), warnings)
    overrides = _read_yaml(os.path.join(hdir, 'overrides.yaml'), warnings)
    raw_cfg = _read_yaml(os.path.join(hdir, 'config.yaml'), warnings, use_omegaconf=True)
    if os.path.isdir(hdir):
        for n in HYDRA_FILES:
            if not os.path.exists(os.path.join(hdir, n)):
                warnings.append(f'{hdir}: no {n}')
    if overrides is not None and not isinstance(overrides, list):
        warnings.append(f'{hdir}/overrides.yaml: not a list of overrides; ignored')
        overrides = None
    if raw_cfg is not None and not isinstance(raw_cfg, dict):
        warnings.append(f'{hdir}/config.yaml: not a mapping; ignored')
        raw_cfg = None
    config = resolve_config(raw_cfg or {})
    values: dict[tuple[str, str], Any] = {}
    hparam_keys = set()
    for item in overrides or []:
        parsed = parse_override(item, f'{hdir}/overrides.yaml', warnings)
        if parsed is None or parsed[0].startswith(('hydra.', 'hydra/')):
            continue
        name, override_value = parsed
        dotted = name.replace('/', '.')
        value = config.get(dotted)
        if dotted not in config or isinstance(value, (dict, list)):
            # A config-group choice (db=mysql), a deletion, or no config.
            value = override_value
        values[('hyperparameters', name)] = value
        hparam_keys.add(dotted)
    for k, v in config.items():
        if k.startswith(HYDRA_HPARAM_NODE + '.') and k not in hparam_keys:
            values[('hyperparameters', k)] = v
            hparam_keys.add(k)
    for k, v in _read_result_files(job, warnings).items():
        values[('metrics', k)] = v
    for k, v in config.items():
        node = k.split('.', 1)[0]
        if node in HYDRA_DATASET_NODES and '.' in k:
            values[('dataset', k.split('.', 1)[1])] = v
    hydra_other = _hydra_other(hydra_cfg)
    other = {'source': SOURCE_HYDRA, 'workload': hydra_other['hydra.job.name'], 'run_dir': job}
    for k, v in config.items():
        if k in hparam_keys or k.split('.', 1)[0] in HYDRA_DATASET_NODES:
            continue
        other[k] = v
    other.update(hydra_other)
    if sweep_overrides is not None:
        other['hydra.sweep.overrides'] = sweep_overrides
    for k, v in other.items():
        if not (k.startswith('hydra.') and v is None):
            values[('other', k)] = v
    for pattern, hit in path_matches(job, patterns).items():
        values[('path', pattern)] = hit
    return values, hydra_cfg


def hydra_runs(
    sweep_dir: str, jobs: list[str], key: str, patterns: list[str], single: bool, warnings: list
) -> list[RunColumn]:
    """A Hydra sweep's jobs (or a single run) as columns keyed `key`, by job number.

    Damaged or missing files add lines to `warnings`; the job is still listed.

    Raises:
      ExplorerError: PyYAML, omegaconf or hydra-core is not installed.
    """
    _yaml_modules()
    sweep_overrides = _sweep_overrides(sweep_dir, single, warnings)
    out = []
    for job in jobs:
        values, hydra_cfg = _job_values(job, patterns, sweep_overrides, warnings)
        run = _job_number(job, hydra_cfg)
        if single and not isinstance(run, int):
            run = 0  # a single run: hydra.job.num is '???' outside a multirun
        out.append(RunColumn(key, run, values))
    out.sort(key=lambda r: (0, r.run, '') if isinstance(r.run, int) else (1, 0, str(r.run)))
    seen = set()
    for r in out:
        if r.run in seen:
            warnings.append(
                f"{sweep_dir}: two jobs numbered {r.run} (hydra.job.num); both listed under it"
            )
        seen.add(r.run)
    return out
