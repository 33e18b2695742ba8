"""TensorBoard views of a sweep: ``python -m algorithmic_efficiency.tensorboard LOG_DIR``.

Builds, from the files a sweep left (``metadata.json``, ``run_<N>/metrics.csv``,
``run_<N>/trial.json``), the event files that ``tensorboard --logdir LOG_DIR``
shows in its Scalars and HParams tabs; the runner's ``--tensorboard`` writes
the same files while the sweep runs. Per sweep ``LOG_DIR/<workload>/``::

  events.out.tfevents.<T>.algorithmic_efficiency            HParams experiment config: the
                                                            searched hparams' domains, metrics
  incumbent/events.out.tfevents.<T>.algorithmic_efficiency  best loss so far, by trial, by eval
  run_<N>/...                                               one HParams session per trial
                                                            (see :mod:`tb_writer`)

Only our own files (``*.algorithmic_efficiency`` event files) are replaced;
building twice gives the same bytes. Needs the ``tensorboard`` package, not
TensorFlow, and never imports JAX or PyTorch. Exit codes: 0, 2 bad input (one
line on stderr).

The command line is :mod:`algorithmic_efficiency.tensorboard`; the event-file
encoding is :mod:`algorithmic_efficiency.recording.tb.events`.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import math
import os
from collections.abc import Sequence
from typing import Any

from algorithmic_efficiency import layout, spec
from algorithmic_efficiency.analysis.sweep_dirs import read_metadata
from algorithmic_efficiency.errors import UsageError
from algorithmic_efficiency.storage import files

_log = logging.getLogger(__name__)

PROG = 'tensorboard'
METADATA_FILE = layout.METADATA_FILE
INCUMBENT_RUN = 'incumbent'
INCUMBENT_TAGS = ('incumbent/best_loss_by_trial', 'incumbent/best_loss_by_eval')
# HParams metrics, as '<child run>/<tag>' of every trial (see tb_writer.EVAL_TAGS).
DEFAULT_METRICS = (
    'eval/loss',
    'eval/accuracy',
    'eval/best_loss',
    'eval/accumulated_submission_time',
)
ENERGY_METRIC = 'telemetry/gpu/total.energy.trial_joules'  # added when the sweep saw GPUs
# Failed and diverged trials never become the incumbent (as in the summary).
NOT_CANDIDATES = spec.NOT_CANDIDATES


def _tb():
    """The event-file module; a missing tensorboard package becomes a one-line UsageError."""
    try:
        return importlib.import_module('algorithmic_efficiency.recording.tb.events')
    except ImportError as e:
        raise UsageError(str(e)) from None


def _time_created(meta: dict[str, Any]) -> float:
    try:
        return datetime.datetime.fromisoformat(str(meta['datetime'])).timestamp()
    except (KeyError, ValueError, OverflowError):
        return 0.0


def _siblings(workload_dir: str) -> list[str]:
    """Other sweeps in the same LOG_DIR (a TensorBoard over LOG_DIR sees their configs too)."""
    me = os.path.normpath(os.path.abspath(workload_dir))
    parent = os.path.dirname(me)
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    dirs = [os.path.join(parent, n) for n in names]
    return [d for d in dirs if d != me and os.path.isfile(os.path.join(d, METADATA_FILE))]


def _config_domains(tb, spaces: Sequence[Any], names: Sequence[str] | None) -> dict[str, tuple]:
    """The union of the spaces' domains; `names`: what the first space searched (None: its own)."""
    domains: dict[str, tuple] = {}
    for i, space in enumerate(spaces):
        for name, domain in tb.hparam_domains(space, names if i == 0 else None).items():
            domains[name] = tb.merge_domains(domains[name], domain) if name in domains else domain
    return domains


def _write_config(
    workload_dir: str,
    search_space: Any,
    metric_tags: Sequence[str] | None,
    searched: Sequence[str] | None = None,
) -> list[str]:
    tb = _tb()
    meta = read_metadata(workload_dir)
    if search_space is None:
        search_space = meta.get('search_space')
    # One TensorBoard over LOG_DIR picks ONE experiment config among the sweeps':
    # every sweep's config covers the hparams of all sweeps beside it.
    siblings = [(d, read_metadata(d)) for d in _siblings(workload_dir)]
    spaces = [search_space] + [m.get('search_space') for _, m in siblings]
    domains = _config_domains(tb, spaces, searched)
    gpus = any((m.get('gpu_count') or 0) > 0 for m in [meta] + [m for _, m in siblings])
    metrics = list(metric_tags) if metric_tags is not None else list(DEFAULT_METRICS)
    if metric_tags is None and gpus:
        metrics.append(ENERGY_METRIC)
    written = []
    for directory, m in [(workload_dir, meta)] + siblings:
        if directory != workload_dir and not tb.own_files(directory):
            continue  # a sweep without TensorBoard output stays without
        t = _time_created(m)
        event = tb.summary_event(tb.experiment_summary(domains, metrics, t), 0, t)
        written.append(
            tb.replace_events(directory, tb.event_file_name(t), [tb.file_version_event(t), event])
        )
    return written


def write_experiment_config(
    workload_dir: str,
    search_space: dict | list | None = None,
    metric_tags: Sequence[str] | None = None,
) -> list[str]:
    """Writes the HParams experiment config at the sweep's root; never raises.

    The runner's hook at sweep start (idempotent: call it again on resume).

    Args:
      workload_dir: ``LOG_DIR/<workload>``.
      search_space: the normalised search space (``SearchSpace.to_json()``:
        a dict, a list of fixed trials, or None); None reads metadata.json's.
        Only hyperparameters the search varies are listed, with their
        domains (ranges as intervals, feasible points as discrete values).
      metric_tags: the HParams metrics as ``'<child run>/<tag>'``; default
        :data:`DEFAULT_METRICS` (plus GPU energy when metadata.json saw GPUs).

    Returns:
      The paths written (maybe none: on any problem a warning is logged).
    """
    try:
        return _write_config(workload_dir, search_space, metric_tags)
    except Exception as e:  # noqa: BLE001  (TensorBoard must never stop a sweep)
        _log.warning(
            'TensorBoard config of %s not written: %s: %s', workload_dir, type(e).__name__, e
        )
        return []


def _incumbent_events(tb, trials, runs) -> list:
    """Best loss so far: by trial (step run_idx) and by eval (step: evals so far, trial order)."""
    from algorithmic_efficiency.analysis import incumbent  # pandas: not at the sweep's start

    events = []
    for t in incumbent.by_trial(trials).to_dict('records'):
        if not math.isnan(t['incumbent']):
            wall = next((float(t[c]) for c in ('finished', 'started') if math.isfinite(t[c])), 0.0)
            summary = tb.scalars_summary({INCUMBENT_TAGS[0]: float(t['incumbent'])})
            events.append(tb.summary_event(summary, int(t['run_idx']), wall))
    if not len(runs):
        return events
    ordered = runs.sort_values(['run_idx', 'eval_idx'], kind='stable')
    best = incumbent.by_eval(ordered)['best_loss'].tolist()
    trial_events, current = None, None
    for n, row in enumerate(ordered.to_dict('records'), start=1):
        if trial_events is None or row['run_idx'] != current:
            trial_events, current = tb.TrialEvents(0.0), row['run_idx']
        trial_events.add(row)  # only for the row's wall time
        if not math.isnan(best[n - 1]):
            summary = tb.scalars_summary({INCUMBENT_TAGS[1]: float(best[n - 1])})
            events.append(tb.summary_event(summary, n, trial_events.wall_time(row)))
    return events


def _write_incumbent(workload_dir: str, trials, runs, meta: dict[str, Any]) -> list[str]:
    tb = _tb()
    t = _time_created(meta)
    events = _incumbent_events(tb, trials, runs)
    path = tb.replace_events(
        os.path.join(workload_dir, INCUMBENT_RUN),
        tb.event_file_name(t),
        [tb.file_version_event(t)] + events if events else [],
    )
    return [path] if path else []


def write_incumbent(workload_dir: str) -> list[str]:
    """Rebuilds ``<workload_dir>/incumbent/`` from the sweep's files; never raises.

    The runner's hook after each trial or at sweep end (idempotent). It
    reads every trial's metrics.csv (about 1.5 s for 400 trials), so on long
    sweeps call it at the end. Returns the paths written (maybe none).
    """
    try:
        from algorithmic_efficiency.analysis import loader  # pandas: not at the sweep's start

        runs, trials, _ = loader.load(workload_dir, metadata=False)
        return _write_incumbent(workload_dir, trials, runs, read_metadata(workload_dir))
    except Exception as e:  # noqa: BLE001
        _log.warning(
            'TensorBoard incumbent of %s not written: %s: %s', workload_dir, type(e).__name__, e
        )
        return []


def _inferred_space(tb, trials) -> dict[str, dict[str, Any]]:
    """Without a search space in metadata.json: a space spanning what the trials used.

    Numbers become a ``min``/``max`` range, other values feasible points; a
    hyperparameter with one value is not searched.
    """
    used: dict[str, list] = {}
    for rec in trials.to_dict('records'):
        for name, value in _trial_hparams(tb, rec).items():
            used.setdefault(name, []).append(value)
    space = {}
    for name, values in used.items():
        if all(tb.is_number(v) for v in values):
            space[name] = {'min': min(values), 'max': max(values)}
        else:
            space[name] = {'feasible_points': tb.distinct(values)}
    return space


def _trial_hparams(tb, rec: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for c, v in rec.items():
        if c.startswith('hparam.'):
            v = tb.hparam_value(v)
            if v is not None and not (isinstance(v, float) and math.isnan(v)):
                values[c[len('hparam.') :]] = v
    return values


def build_from_logs(log_dir: str) -> list[str]:
    """Writes every sweep's TensorBoard files from its metrics.csv, trial.json and metadata.json.

    `log_dir` is a runner ``--log_dir`` or one ``LOG_DIR/<workload>``. Our
    earlier files are replaced (idempotent), nothing else is touched.

    Returns:
      The paths written.

    Raises:
      LogDirError: `log_dir` holds no sweep.
      UsageError: the tensorboard package is missing.
      UserPathError: a sweep directory can't be written.
    """
    from algorithmic_efficiency.analysis import loader

    tb = _tb()
    runs, trials, sweeps = loader.load(log_dir, metadata=False)
    written = []
    for sweep in sweeps:
        # The event files go into the user's log directory: one that can't be
        # written is bad input, said before the first file.
        files.make_user_dir(sweep.dir, 'the sweep directory')
        t = trials[trials['sweep'] == sweep.key]
        r = runs[runs['sweep'] == sweep.key] if len(runs) else runs
        if 'search_space' in sweep.metadata:
            space = sweep.metadata['search_space']
        else:  # an older or damaged sweep: what its trials varied
            space = _inferred_space(tb, t)
        searched = tb.searched_hparams(space)
        if 'search_space' not in sweep.metadata and len(t) < 2:
            searched = list(space)  # one trial: what was searched can't be told; show all
        for rec in t.to_dict('records'):
            run_idx = int(rec['run_idx'])
            rows = r[r['run_idx'] == run_idx].to_dict('records') if len(r) else []
            written += tb.write_trial(
                rec['run_dir'],
                rows,
                _trial_hparams(tb, rec),
                searched,
                start_time=rec.get('started'),
                status=rec.get('status'),
            )
        written += _write_config(sweep.dir, space, None, searched)[:1]
        written += _write_incumbent(sweep.dir, t, r, sweep.metadata)
    return written
