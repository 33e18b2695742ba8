"""Runs of many sweeps and tools in one hierarchical pandas DataFrame.

Reads two layouts, side by side:

* this project's ``--log_dir`` (``LOG_DIR/<workload>/metadata.json`` and
  ``run_<N>/{metrics.csv,trial.json}``), through
  :func:`algorithmic_efficiency.analysis.load` (the same numbers as the
  ``status``/``summary`` commands);
* Hydra multirun folders (``multirun/<date>/<time>/<job>/.hydra/{config.yaml,
  overrides.yaml,hydra.yaml}``, ``multirun.yaml`` at the sweep root), and
  single Hydra runs (``outputs/<date>/<time>/.hydra``).

:func:`load_folder` returns the frame; one column per run, one row per
parameter::

                               mnist_pytorch                2024-01-02 03-04-05
                               1        2        3          0      1   ...  11
  group           parameter
  hyperparameters learning_rate 0.0081  0.0008  ...         NaN    NaN
                  lr            NaN     NaN      ...        0.1    0.1
  metrics         best_loss     0.41    0.33     ...        NaN    ...
  dataset         source        embedded ...
  other           status        complete ...
  path            *.csv         .../run_1/metrics.csv ...

* columns, level 0 ``sweep``: the log-dir sweep (its directory relative to
  the folder, usually the workload name) or the Hydra sweep's
  ``"<date> <time>"``; level 1 ``run``: the trial (``run_<N>``) or the Hydra
  job number, as an int, sorted numerically (job 10 after job 2);
* rows, level 0 ``group``: ``hyperparameters``, ``metrics``, ``dataset``,
  ``other``, ``path`` (in that order); level 1 ``parameter``.

So ``df.loc['hyperparameters']`` is every run's hyperparameters,
``df.loc[:, ('mnist_pytorch', 2)]`` all of trial 2, ``df.loc[('path', '*.npy')]``
each run's file; ``df.T`` (or :func:`by_run`) turns it to one row per run,
and :func:`to_tidy` to one row per (run, parameter). Cells a run does not
have are NaN. Nothing here imports JAX, PyTorch or Hydra (omegaconf and
PyYAML are imported only to read Hydra folders).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from algorithmic_efficiency import analysis
from algorithmic_efficiency.analysis import loader
from algorithmic_efficiency.storage.files import natural_key
from algorithmic_efficiency.layout import METADATA_FILE, METRICS_FILE, RUN_DIR_RE, TRIAL_FILE

_log = logging.getLogger(__name__)

__all__ = [
    'COLUMN_NAMES',
    'GROUPS',
    'INDEX_NAMES',
    'ExplorerError',
    'FileLoader',
    'Loaded',
    'by_run',
    'fingerprint',
    'load',
    'load_folder',
    'natural_key',
    'telemetry_columns',
    'to_tidy',
    'wallclock',
]

GROUPS = ('hyperparameters', 'metrics', 'dataset', 'other', 'path')
INDEX_NAMES = ('group', 'parameter')
COLUMN_NAMES = ('sweep', 'run')
SOURCE_LOG_DIR = 'log_dir'
SOURCE_HYDRA = 'hydra'

# load_trials columns that are results (the 'metrics' group), in this order.
LOG_DIR_METRICS = (
    'best_loss',
    'final_loss',
    'best_accuracy',
    'final_accuracy',
    'time_to_target',
    'best_loss_step',
    'global_step',
    'num_evals',
    'accumulated_submission_time',
    'wallclock_sec',
    'energy_joules',
    'cpu_util_mean_percent',
    'peak_rss_bytes',
)
# load_trials columns about the trial that go to 'other'.
LOG_DIR_TRIAL_OTHER = ('status', 'stop_reason', 'error', 'seed', 'started', 'finished')
# metadata.json keys not shown: the search space is the hyperparameters' domain, the
# flags repeat other keys.
_META_SKIP = ('search_space', 'flags')
HYDRA_DIR = '.hydra'
HYDRA_FILES = ('config.yaml', 'overrides.yaml', 'hydra.yaml')
MULTIRUN_FILE = 'multirun.yaml'
# Top-level config nodes that make the 'dataset' group of a Hydra run.
HYDRA_DATASET_NODES = ('dataset', 'data')
# Top-level config node whose keys are hyperparameters too (the peer tool's convention).
HYDRA_HPARAM_NODE = 'hyperparameters'
# Results read from a Hydra job directory's top level (the 'metrics' group).
MAX_RESULT_BYTES = 10 * 1024 * 1024
# The walk for runs: how deep below the given folder, and how many directories at most.
MAX_DEPTH = 6
MAX_DIRS = 20000
_SKIP_DIRS = frozenset({'__pycache__', 'node_modules', 'site-packages'})
_DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_TIME_RE = re.compile(r'^\d{2}-\d{2}-\d{2}$')
# ${name:...}: an interpolation with a resolver (hydra:, now:, oc.env:, ...).
_RESOLVER_RE = re.compile(r'\$\{\s*[A-Za-z_][\w.]*\s*:')
_TELEMETRY_PREFIXES = ('cpu.', 'mem.', 'disk.', 'net.', 'gpu.', 'temp.', 'proc.', 'framework.')


class ExplorerError(ValueError):
    """A folder with no runs, a missing path, ...: a one-line message naming the path."""


@dataclasses.dataclass
class Loaded:
    """What :func:`load` read from one or more folders.

    Attributes:
      frame: the hierarchical frame (see the module docstring).
      evals: one row per eval of every log-dir trial (``load_runs`` columns),
        with ``sweep`` set to the frame's level-0 key and ``run`` its level-1
        key; Hydra runs have no eval rows.
      warnings: damaged or unexpected files (an unreadable YAML, a job without
        ``.hydra``), one line each; the runs around them are still loaded.
      errors: folders that gave nothing (missing, no runs), one line each.
      notes: facts worth showing (e.g. both layouts found in one folder).
    """

    frame: pd.DataFrame
    evals: pd.DataFrame
    warnings: list[str] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)


# ---------------------------------------------------------------------------
# Finding runs
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class _Found:
    log_dir_sweeps: list[str] = dataclasses.field(default_factory=list)
    # Hydra sweep directory -> its job directories (a single run: [itself]).
    hydra_sweeps: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    single_runs: set[str] = dataclasses.field(default_factory=set)
    warnings: list[str] = dataclasses.field(default_factory=list)



def _scandir(path: str) -> list[os.DirEntry] | None:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return None


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_log_dir_sweep(path: str, entries: list[os.DirEntry]) -> bool:
    """A runner sweep: run_<N>/ with a trial or metrics file, or the runner's metadata.json."""
    for e in entries:
        if (
            RUN_DIR_RE.match(e.name)
            and _is_dir(e)
            and any(os.path.isfile(os.path.join(e.path, n)) for n in (TRIAL_FILE, METRICS_FILE))
        ):
            return True
    meta = os.path.join(path, METADATA_FILE)
    if os.path.isfile(meta):
        # Another tool may leave a metadata.json too: the runner's names its workload.
        try:
            with open(meta, encoding='utf-8') as f:
                obj = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(obj, dict) and 'workload' in obj
    return False


def _has_hydra_dir(path: str) -> bool:
    return os.path.isdir(os.path.join(path, HYDRA_DIR))


def _find(root: str) -> _Found:
    """Walks `root` (at most MAX_DEPTH levels, MAX_DIRS directories) for both layouts."""
    found = _Found()
    stack = [(root, 0)]
    visited = 0
    while stack:
        path, depth = stack.pop()
        visited += 1
        if visited > MAX_DIRS:
            found.warnings.append(
                f"{root}: stopped looking for runs after {MAX_DIRS} directories; "
                'pass a narrower folder'
            )
            break
        entries = _scandir(path)
        if entries is None:
            found.warnings.append(f'{path}: cannot be listed; skipped')
            continue
        names = {e.name for e in entries}
        if _is_log_dir_sweep(path, entries):
            found.log_dir_sweeps.append(path)
            continue  # its run_<N>/ are trials, not more sweeps
        if MULTIRUN_FILE in names or _looks_like_multirun(path, entries):
            jobs = [
                e.path
                for e in entries
                if _is_dir(e) and (e.name.isdigit() or _has_hydra_dir(e.path))
            ]
            found.hydra_sweeps.setdefault(path, [])
            for job in jobs:
                if job not in found.hydra_sweeps[path]:
                    found.hydra_sweeps[path].append(job)
                if not _has_hydra_dir(job):
                    found.warnings.append(
                        f'{job}: a job folder of a Hydra multirun without {HYDRA_DIR}/; '
                        'listed with what it holds'
                    )
        elif HYDRA_DIR in names and os.path.isdir(os.path.join(path, HYDRA_DIR)):
            parent = os.path.dirname(os.path.abspath(path))
            if os.path.basename(path).isdigit() and path == root:
                # One job of a multirun passed on its own: its sweep is the parent.
                found.hydra_sweeps.setdefault(parent, []).append(path)
            elif not any(path in jobs for jobs in found.hydra_sweeps.values()):
                found.hydra_sweeps.setdefault(path, []).append(path)
                found.single_runs.add(path)
        if depth >= MAX_DEPTH:
            continue
        children = [
            e.path
            for e in entries
            if _is_dir(e) and not e.name.startswith('.') and e.name not in _SKIP_DIRS
        ]
        # Depth-first, in natural order (the stack pops the last pushed first).
        for child in sorted(children, key=natural_key, reverse=True):
            stack.append((child, depth + 1))
    return found


def _looks_like_multirun(path: str, entries: list[os.DirEntry]) -> bool:
    """A multirun sweep whose multirun.yaml is missing: numbered children with .hydra/."""
    return any(e.name.isdigit() and _is_dir(e) and _has_hydra_dir(e.path) for e in entries)


def _check_root(path: str) -> str:
    root = os.path.normpath(os.fspath(path))  # 'multirun/3/' names job 3 too
    if not os.path.exists(root):
        raise ExplorerError(f"'{root}' does not exist; pass a --log_dir or a Hydra multirun folder")
    if not os.path.isdir(root):
        raise ExplorerError(f"'{root}' is a file, not a folder; pass the folder holding the runs")
    name = os.path.basename(os.path.normpath(root))
    if RUN_DIR_RE.match(name) and any(
        os.path.isfile(os.path.join(root, n)) for n in (TRIAL_FILE, METRICS_FILE)
    ):
        raise ExplorerError(
            f"'{root}' is a single trial's directory; pass its sweep "
            f"'{os.path.dirname(os.path.normpath(root))}' or the --log_dir above it"
        )
    return root


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _scalar(v: Any) -> Any:
    """A plain Python value for a cell (numpy scalars unwrapped)."""
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA or v is pd.NaT:
        return math.nan
    return v


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def _flatten(obj: Any, prefix: str = '') -> dict[str, Any]:
    """Nested dicts as ``a.b.c`` keys; lists and scalars are leaves."""
    if isinstance(obj, dict) and obj:
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f'{prefix}{k}.'))
        return out
    return {prefix[:-1]: obj} if prefix else {}


def _matches(run_dir: str, patterns: Sequence[str]) -> dict[str, Any]:
    """Per glob: the run's one matching file, a sorted list if several, None if none.

    A glob without ``/`` matches file names anywhere below `run_dir`; one with
    ``/`` matches paths relative to it. Paths are `run_dir` joined with the
    file's relative path (relative if `run_dir` is).
    """
    if not patterns:
        return {}
    files = []
    for dirpath, dirnames, filenames in os.walk(run_dir):
        dirnames.sort(key=natural_key)
        for name in filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), run_dir)
            files.append((rel.replace(os.sep, '/'), name))
    files.sort(key=lambda f: natural_key(f[0]))
    out = {}
    for pattern in patterns:
        hits = [
            os.path.join(run_dir, rel)
            for rel, name in files
            if fnmatch.fnmatch(rel if '/' in pattern else name, pattern)
        ]
        out[pattern] = hits[0] if len(hits) == 1 else (hits or None)
    return out


def _patterns(query_string: str | Iterable[str] | None) -> list[str]:
    if query_string is None:
        return []
    if isinstance(query_string, str):
        return [query_string]
    patterns = list(query_string)
    bad = [p for p in patterns if not isinstance(p, str) or not p]
    if bad:
        raise ExplorerError(f'query_string: globs must be non-empty strings, got {bad[0]!r}')
    return list(dict.fromkeys(patterns))


# ---------------------------------------------------------------------------
# This project's --log_dir
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class _Run:
    """One column of the frame before it is assembled."""

    sweep: str
    run: int | str
    values: dict[tuple[str, str], Any]


def _log_dir_runs(sweep_dir: str, key: str, patterns: list[str]) -> tuple[list[_Run], pd.DataFrame]:
    runs_df, trials, infos = analysis.load(sweep_dir)
    info = infos[0]
    meta = info.metadata
    dataset = {k[len('data.') :]: v for k, v in meta.items() if k.startswith('data.')}
    for n in ('num_train_examples', 'num_eval_examples'):
        if n not in dataset and f'workload.{n}' in meta:  # recorded before data.* existed
            dataset[n] = meta[f'workload.{n}']
    meta_other = {}
    for k, v in meta.items():
        if k in _META_SKIP or k.startswith('data.') or k == 'workload':
            continue
        if isinstance(v, dict):
            meta_other.update({f'{k}.{kk}': vv for kk, vv in v.items() if not isinstance(vv, dict)})
        elif not isinstance(v, list):
            meta_other[k] = v
    first_rows = (
        runs_df.groupby('run_idx', sort=False).head(1).set_index('run_idx')
        if len(runs_df)
        else pd.DataFrame()
    )
    out = []
    for rec in trials.to_dict('records'):
        run = int(rec['run_idx'])
        values: dict[tuple[str, str], Any] = {}
        for col, v in rec.items():
            if col.startswith('hparam.') and not _is_missing(v):
                values[('hyperparameters', col[len('hparam.') :])] = _scalar(v)
        for col in LOG_DIR_METRICS:
            values[('metrics', col)] = _scalar(rec.get(col))
        for k, v in dataset.items():
            values[('dataset', k)] = v
        other = {
            'source': SOURCE_LOG_DIR,
            'workload': rec.get('workload'),
            'framework': rec.get('framework') or info.framework,
        }
        other.update({c: _scalar(rec.get(c)) for c in LOG_DIR_TRIAL_OTHER})
        if run in first_rows.index:
            row = first_rows.loc[run]
            for c in ('batch_size', 'steps_per_epoch'):
                if c in row.index and not _is_missing(row[c]):
                    other[c] = _scalar(row[c])
        other['run_dir'] = rec.get('run_dir')
        other.update({k: v for k, v in meta_other.items() if k not in other})
        for k, v in other.items():
            values[('other', k)] = v
        for pattern, hit in _matches(rec['run_dir'], patterns).items():
            values[('path', pattern)] = hit
        out.append(_Run(key, run, values))
    evals = runs_df.copy()
    if len(evals):
        evals['sweep'] = key
        evals['run'] = evals['run_idx'].astype('int64')
        evals['source'] = SOURCE_LOG_DIR
    return out, evals


# ---------------------------------------------------------------------------
# Hydra
# ---------------------------------------------------------------------------
def _yaml_modules():
    try:
        # Imported here: only Hydra folders need them.
        import yaml
        from omegaconf import OmegaConf
    except ImportError as e:
        raise ExplorerError(
            f"reading Hydra folders needs PyYAML and omegaconf ({e}); "
            "install them with: pip install -e '.[dashboard]'"
        ) from None
    return yaml, OmegaConf


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
        warnings.append(f'{path}: unreadable YAML ({_first_line(e)}); its values are left out')
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


def _resolve_config(raw: Any) -> dict[str, Any]:
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
    flat_raw = _flatten(raw)
    try:
        cfg = omegaconf.create(_escape_resolvers(raw))
    except Exception:  # noqa: BLE001
        return flat_raw
    try:
        return _flatten(omegaconf.to_container(cfg, resolve=True))
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


def _parse_override(text: str) -> tuple[str, str | None] | None:
    """``[+|++|~]key[@pkg][=value]`` -> (key, value) (value None for a deletion)."""
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    deletion = text.startswith('~')
    text = text.lstrip('~+')
    key, sep, value = text.partition('=')
    key = key.split('@', 1)[0].strip()
    if not key:
        return None
    return key, (value if sep and not deletion else None)


def _override_value(raw_value: str | None, yaml) -> Any:
    if raw_value is None:
        return None
    try:
        v = yaml.safe_load(raw_value)
    except Exception:  # noqa: BLE001
        return raw_value
    return v if v is None or isinstance(v, (str, int, float, bool)) else raw_value


def _read_result_files(job_dir: str, warnings: list[str]) -> dict[str, Any]:
    """Scalars of the job's top-level ``*.json`` objects and numeric ``*.npy`` files.

    JSON: every number, bool or string of an object (nested keys as ``a.b``).
    ``.npy``: a single number as ``<stem>``; a 1-D array as ``<stem>`` (its
    last value), ``<stem>.min`` and ``<stem>.max``. Other files are ignored.
    """
    out: dict[str, Any] = {}
    entries = _scandir(job_dir) or []
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
                    for k, v in _flatten(obj).items():
                        if v is None or isinstance(v, (int, float, str, bool)):
                            out.setdefault(k, v)
            else:
                arr = np.load(e.path, allow_pickle=False)
                if arr.dtype.kind not in 'biuf':
                    continue
                if arr.size == 1:
                    out.setdefault(stem, _scalar(arr.reshape(-1)[0]))
                elif arr.ndim == 1 and arr.size:
                    out.setdefault(stem, _scalar(arr[-1]))
                    out.setdefault(f'{stem}.min', _scalar(np.nanmin(arr)))
                    out.setdefault(f'{stem}.max', _scalar(np.nanmax(arr)))
        except Exception as ex:  # noqa: BLE001  (a half-written result is not a crash)
            warnings.append(f'{e.path}: unreadable ({_first_line(ex)}); left out')
    return out


def _hydra_key(sweep_dir: str, root: str) -> str:
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


def _hydra_runs(
    sweep_dir: str, jobs: list[str], key: str, patterns: list[str], single: bool, warnings: list
) -> list[_Run]:
    yaml, _ = _yaml_modules()
    multirun = None
    if not single:
        multirun = _read_yaml(os.path.join(sweep_dir, MULTIRUN_FILE), warnings)
        if not os.path.exists(os.path.join(sweep_dir, MULTIRUN_FILE)):
            warnings.append(f'{sweep_dir}: no {MULTIRUN_FILE} (an interrupted or copied sweep?)')
    sweep_overrides = None
    if isinstance(multirun, dict):
        task = ((multirun.get('hydra') or {}).get('overrides') or {}).get('task')
        if isinstance(task, list):
            sweep_overrides = ' '.join(map(str, task))
    out = []
    for job in jobs:
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
        config = _resolve_config(raw_cfg or {})
        values: dict[tuple[str, str], Any] = {}
        hparam_keys = set()
        for item in overrides or []:
            parsed = _parse_override(item)
            if parsed is None or parsed[0].startswith('hydra.') or parsed[0].startswith('hydra/'):
                continue
            name, raw_value = parsed
            dotted = name.replace('/', '.')
            value = config.get(dotted)
            if dotted not in config or isinstance(value, (dict, list)):
                # A config-group choice (db=mysql), a deletion, or no config.
                value = _override_value(raw_value, yaml)
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
        hydra = (hydra_cfg or {}).get('hydra') if isinstance(hydra_cfg, dict) else None
        hydra = hydra if isinstance(hydra, dict) else {}
        job_info = hydra.get('job') if isinstance(hydra.get('job'), dict) else {}
        runtime = hydra.get('runtime') if isinstance(hydra.get('runtime'), dict) else {}
        other = {
            'source': SOURCE_HYDRA,
            'workload': job_info.get('name'),
            'run_dir': job,
        }
        for k, v in config.items():
            if k in hparam_keys or k.split('.', 1)[0] in HYDRA_DATASET_NODES:
                continue
            other[k] = v
        other['hydra.job.name'] = job_info.get('name')
        other['hydra.job.num'] = job_info.get('num')
        other['hydra.job.override_dirname'] = job_info.get('override_dirname')
        other['hydra.runtime.version'] = runtime.get('version')
        choices = runtime.get('choices') if isinstance(runtime.get('choices'), dict) else {}
        for group, choice in choices.items():
            if not str(group).startswith('hydra/'):
                other[f'hydra.runtime.choices.{group}'] = choice
        if sweep_overrides is not None:
            other['hydra.sweep.overrides'] = sweep_overrides
        for k, v in other.items():
            if not (k.startswith('hydra.') and v is None):
                values[('other', k)] = v
        for pattern, hit in _matches(job, patterns).items():
            values[('path', pattern)] = hit
        run = _job_number(job, hydra_cfg)
        if single and not isinstance(run, int):
            run = 0  # a single run: hydra.job.num is '???' outside a multirun
        out.append(_Run(key, run, values))
    out.sort(key=lambda r: (0, r.run, '') if isinstance(r.run, int) else (1, 0, str(r.run)))
    seen = set()
    for r in out:
        if r.run in seen:
            warnings.append(
                f"{sweep_dir}: two jobs numbered {r.run} (hydra.job.num); both listed under it"
            )
        seen.add(r.run)
    return out


# ---------------------------------------------------------------------------
# Assembling
# ---------------------------------------------------------------------------
def _frame(runs: list[_Run]) -> pd.DataFrame:
    rows: dict[tuple[str, str], None] = {}
    for group in GROUPS:
        for r in runs:
            for k in r.values:
                if k[0] == group:
                    rows.setdefault(k, None)
    row_keys = list(rows)
    data = np.full((len(row_keys), len(runs)), np.nan, dtype=object)
    where = {k: i for i, k in enumerate(row_keys)}
    for j, r in enumerate(runs):
        for k, v in r.values.items():
            data[where[k], j] = v
    index = pd.MultiIndex.from_tuples(row_keys, names=INDEX_NAMES) if row_keys else None
    if index is None:
        index = pd.MultiIndex.from_arrays([[], []], names=INDEX_NAMES)
    columns = pd.MultiIndex.from_tuples([(r.sweep, r.run) for r in runs], names=COLUMN_NAMES)
    if not runs:
        columns = pd.MultiIndex.from_arrays([[], []], names=COLUMN_NAMES)
    return pd.DataFrame(data, index=index, columns=columns)


class _CaptureWarnings(logging.Handler):
    """Collects this thread's warnings from the project's loggers (damaged files)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


def _unique_key(key: str, taken: set[str], fallback: str) -> str:
    if key not in taken:
        return key
    if fallback not in taken:
        return fallback
    n = 2
    while f'{fallback} ({n})' in taken:
        n += 1
    return f'{fallback} ({n})'


def load(paths: str | Sequence[str], query_string: str | Iterable[str] | None = None) -> Loaded:
    """Reads every run under `paths` (folders) into a :class:`Loaded`; never raises for data.

    A folder that is missing or holds no runs becomes a line in
    ``Loaded.errors``; damaged files a line in ``Loaded.warnings``. Level-0
    keys that two folders share get the folder's path in front.

    Args:
      paths: one folder or several.
      query_string: a glob (``'*.npy'``) or a list of globs (``['*.npy',
        '*.log']``): each run's matching files become ``path`` rows.

    Raises:
      ExplorerError: `query_string` is not a glob or list of globs.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    patterns = _patterns(query_string)
    capture = _CaptureWarnings()
    pkg_log = logging.getLogger('algorithmic_efficiency')
    pkg_log.addHandler(capture)
    runs: list[_Run] = []
    evals: list[pd.DataFrame] = []
    warnings: list[str] = []
    errors: list[str] = []
    notes: list[str] = []
    taken: set[str] = set()
    try:
        for path in paths:
            try:
                root = _check_root(path)
                found = _find(root)
                warnings.extend(found.warnings)
                n_runs = _load_found(root, found, patterns, taken, runs, evals, warnings, notes)
            except ExplorerError as e:
                errors.append(str(e))
                continue
            if not found.log_dir_sweeps and not found.hydra_sweeps:
                errors.append(
                    f"no runs found in '{root}': expected a --log_dir "
                    '(<workload>/run_<N>/metrics.csv, metadata.json) or a Hydra multirun '
                    '(multirun/<date>/<time>/<job>/.hydra/config.yaml)'
                )
            elif found.log_dir_sweeps and found.hydra_sweeps:
                notes.append(
                    f'{root}: mixed layouts: {len(found.log_dir_sweeps)} --log_dir sweep(s) and '
                    f'{len(found.hydra_sweeps)} Hydra sweep(s), {n_runs} runs, shown together'
                )
    finally:
        pkg_log.removeHandler(capture)
    for w in warnings:  # the analysis loader logged its own (captured) ones already
        _log.warning('%s', w)
    warnings.extend(capture.messages)
    frame = _frame(runs)
    evals_df = pd.concat(evals, ignore_index=True, sort=False) if evals else pd.DataFrame()
    return Loaded(frame, evals_df, list(dict.fromkeys(warnings)), errors, notes)


def _load_found(
    root: str,
    found: _Found,
    patterns: list[str],
    taken: set[str],
    runs: list[_Run],
    evals: list[pd.DataFrame],
    warnings: list[str],
    notes: list[str],
) -> int:
    n = 0
    for sweep_dir in found.log_dir_sweeps:
        rel = os.path.relpath(sweep_dir, root)
        key = os.path.basename(os.path.abspath(sweep_dir)) if rel == '.' else rel
        key = _unique_key(key, taken, os.path.normpath(sweep_dir))
        taken.add(key)
        try:
            sweep_runs, sweep_evals = _log_dir_runs(sweep_dir, key, patterns)
        except ValueError as e:  # analysis.LogDirError: vanished between the walk and the read
            warnings.append(f'{sweep_dir}: {_first_line(e)}')
            continue
        if not sweep_runs:
            notes.append(f'{sweep_dir}: a sweep with no trial yet')
        runs.extend(sweep_runs)
        n += len(sweep_runs)
        if len(sweep_evals):
            evals.append(sweep_evals)
    for sweep_dir in sorted(found.hydra_sweeps, key=natural_key):
        jobs = found.hydra_sweeps[sweep_dir]
        key = _unique_key(_hydra_key(sweep_dir, root), taken, os.path.normpath(sweep_dir))
        taken.add(key)
        single = sweep_dir in found.single_runs
        sweep_runs = _hydra_runs(sweep_dir, jobs, key, patterns, single, warnings)
        runs.extend(sweep_runs)
        n += len(sweep_runs)
    return n


def load_folder(path: str, query_string: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Every run under `path` as one hierarchical DataFrame (see the module docstring).

    Args:
      path: a ``--log_dir`` (or one ``LOG_DIR/<workload>``), a Hydra
        ``multirun/`` folder (or one ``<date>/<time>`` sweep of it), or any
        folder holding those (searched up to 6 levels down).
      query_string: a glob or a list of globs (``"*.npy"``, ``["*.npy",
        "*.log"]``); each run's matching files become ``('path', <glob>)``
        rows: the file's path (`path` joined with its place in the run's
        folder), a sorted list if several match, NaN if none.

    Returns:
      The frame. Warnings about damaged files (also logged) are in
      ``frame.attrs['warnings']``, notes (mixed layouts) in ``frame.attrs['notes']``.

    Raises:
      ExplorerError: `path` is missing, a file, a single trial's directory,
        or holds no runs.
    """
    loaded = load([path], query_string)
    if loaded.errors:
        raise ExplorerError(loaded.errors[0])
    frame = loaded.frame
    frame.attrs['warnings'] = list(loaded.warnings)
    frame.attrs['notes'] = list(loaded.notes)
    return frame


class FileLoader:
    """The peer tool's spelling: ``FileLoader(query_string='*.npy').load_folder(path)``."""

    def __init__(self, query_string: str | Iterable[str] | None = None):
        self.query_string = query_string

    def load_folder(self, path: str) -> pd.DataFrame:
        """See :func:`load_folder`."""
        return load_folder(path, self.query_string)


# ---------------------------------------------------------------------------
# Other views
# ---------------------------------------------------------------------------
def to_tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """The long view: one row per (run, parameter) a run has.

    Columns ``sweep``, ``run``, ``group``, ``parameter``, ``value`` (object:
    numbers stay numbers), in the frame's column then row order; missing
    cells are left out.
    """
    records = []
    for j, (sweep, run) in enumerate(frame.columns):
        col = frame.iloc[:, j]
        for (group, parameter), value in zip(frame.index, col.to_numpy(), strict=True):
            if isinstance(value, list) or not _is_missing(value):
                records.append((sweep, run, group, parameter, value))
    return pd.DataFrame.from_records(
        records, columns=list(COLUMN_NAMES) + list(INDEX_NAMES) + ['value']
    )


def _infer(series: pd.Series) -> pd.Series:
    """Numbers (or bools) as such if every present value is one; else as given."""
    present = [v for v in series.to_numpy() if not _is_missing(v)]
    if present and all(isinstance(v, bool) for v in present):
        return series.map(lambda v: v if isinstance(v, bool) else None).astype('boolean')
    if present and all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in present
    ):
        return pd.to_numeric(series, errors='coerce')
    return series


def by_run(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run (index ``sweep``, ``run``), columns ``(group, parameter)``.

    The frame transposed, with each column made numeric (or boolean) where all
    its present values are.
    """
    t = frame.T
    return pd.DataFrame({c: _infer(t[c]) for c in t.columns}, index=t.index).reindex(
        columns=t.columns
    )


def wallclock(evals: pd.DataFrame) -> pd.Series:
    """When each eval row's training interval ended (UTC datetimes): ``loader.wall_times``."""
    if not len(evals) or 'global_start_time' not in evals.columns:
        return pd.Series(pd.NaT, index=evals.index, dtype='datetime64[ns, UTC]')
    return pd.to_datetime(loader.wall_times(evals, keys=('sweep', 'run')), unit='s', utc=True)


def telemetry_columns(evals: pd.DataFrame) -> list[str]:
    """The numeric hardware columns of `evals` (``cpu.*``, ``mem.*``, ``gpu.*``, ...)."""
    out = []
    for c in evals.columns:
        if (
            c.startswith(_TELEMETRY_PREFIXES)
            and pd.api.types.is_numeric_dtype(evals[c])
            and evals[c].notna().any()
        ):
            out.append(c)
    return out


def _walk_files(root: str) -> Iterator[tuple[str, os.stat_result]]:
    stack = [(root, 0)]
    seen = 0
    while stack:
        path, depth = stack.pop()
        seen += 1
        if seen > MAX_DIRS:
            return
        for e in _scandir(path) or []:
            try:
                if e.is_dir():
                    hidden = e.name.startswith('.') and e.name != HYDRA_DIR
                    if depth < MAX_DEPTH + 2 and e.name not in _SKIP_DIRS and not hidden:
                        stack.append((e.path, depth + 1))
                elif e.is_file():
                    yield e.path, e.stat()
            except OSError:
                continue


def fingerprint(paths: str | Sequence[str]) -> str:
    """A hash of the names, sizes and mtimes of the files under `paths`.

    It changes when a running sweep appends a row, starts a trial or a job
    writes its results: the dashboard reloads when it does.
    """
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    h = hashlib.sha1()
    for root in paths:
        h.update(os.fspath(root).encode('utf-8', 'replace') + b'\0')
        if not os.path.isdir(root):
            h.update(b'missing' if not os.path.exists(root) else b'file')
            continue
        for path, st in sorted(_walk_files(os.fspath(root))):
            h.update(f'{path}\0{st.st_size}\0{st.st_mtime_ns}\n'.encode('utf-8', 'replace'))
    return h.hexdigest()
