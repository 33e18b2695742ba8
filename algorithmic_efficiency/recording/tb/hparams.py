"""The HParams plugin's protos: which hyperparameters a search varies, their domains,
the experiment config and the session start and end summaries.

Summaries are serialized with sorted maps, so building them twice gives the
same bytes. Imported through :mod:`.events`, which says how to install
``tensorboard`` when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.hparams import summary_v2 as hparams_summary


def distinct(values: Iterable[Any]) -> list[Any]:
    out = []
    for v in values:
        if not any(type(v) is type(u) and v == u for u in out):
            out.append(v)
    return out


def searched_hparams(search_space: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None) -> list:
    """The hyperparameters the search varies, in the space's order.

    A range with ``min < max``, or two or more feasible points; for a list of
    fixed trials, the keys whose values differ between them. ``None`` (the
    ``self`` ruleset) varies nothing.
    """
    if not search_space:
        return []
    if isinstance(search_space, Mapping):
        names = []
        for name, dim in search_space.items():
            if not isinstance(dim, Mapping):
                continue
            if 'feasible_points' in dim:
                if len(distinct(dim['feasible_points'])) > 1:
                    names.append(name)
            elif dim.get('min') != dim.get('max'):
                names.append(name)
        return names
    keys = list(dict.fromkeys(k for trial in search_space for k in trial))
    return [k for k in keys if len(distinct(t.get(k) for t in search_space)) > 1]


def hparam_domains(search_space: Any, names: Iterable[str] | None = None) -> dict[str, tuple]:
    """Domains, ``('interval', lo, hi)`` or ``('discrete', values)``, of `names` (the searched)."""
    domains = {}
    for name in searched_hparams(search_space) if names is None else names:
        if isinstance(search_space, Mapping):
            dim = search_space[name]
            if 'feasible_points' in dim:
                domains[name] = ('discrete', distinct(dim['feasible_points']))
            else:
                domains[name] = ('interval', float(dim['min']), float(dim['max']))
        else:
            values = [t[name] for t in search_space if t.get(name) is not None]
            domains[name] = ('discrete', distinct(values))
    return domains


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _domain_values(domain: tuple) -> list:
    return [domain[1], domain[2]] if domain[0] == 'interval' else list(domain[1])


def merge_domains(a: tuple, b: tuple) -> tuple:
    """The smallest domain holding both (two sweeps sharing one LOG_DIR)."""
    values = _domain_values(a) + _domain_values(b)
    if (a[0] == 'interval' or b[0] == 'interval') and all(is_number(v) for v in values):
        return ('interval', float(min(values)), float(max(values)))
    return ('discrete', distinct(values))


def _hparam_info(name: str, domain: tuple) -> api_pb2.HParamInfo:
    info = api_pb2.HParamInfo(name=name, differs=True)
    if domain[0] == 'interval':
        info.type = api_pb2.DATA_TYPE_FLOAT64
        info.domain_interval.min_value = domain[1]
        info.domain_interval.max_value = domain[2]
        return info
    values = domain[1]
    if all(isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_BOOL
    elif all(is_number(v) for v in values):
        info.type = api_pb2.DATA_TYPE_FLOAT64
        values = sorted(float(v) for v in values)
    elif all(isinstance(v, str) for v in values):
        info.type = api_pb2.DATA_TYPE_STRING
    else:  # mixed types: no domain the plugin could check values against
        info.type = api_pb2.DATA_TYPE_STRING
        return info
    info.domain_discrete.extend(values)
    return info


def _deterministic(summary: summary_pb2.Summary) -> summary_pb2.Summary:
    """Re-serializes hparams plugin data with sorted maps (the same bytes on every build)."""
    for value in summary.value:
        data = value.metadata.plugin_data
        if data.plugin_name == hparams_metadata.PLUGIN_NAME:
            parsed = plugin_data_pb2.HParamsPluginData.FromString(data.content)
            data.content = parsed.SerializeToString(deterministic=True)
    return summary


def _plugin_summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary:
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag,
        metadata=hparams_metadata.create_summary_metadata(data),
        tensor=hparams_metadata.NULL_TENSOR,
    )
    return _deterministic(summary)


def experiment_summary(
    domains: Mapping[str, tuple], metric_tags: Sequence[str], time_created: float
) -> summary_pb2.Summary:
    """The HParams experiment config: hparams with their domains, metrics as ``run/tag``.

    A metric ``'eval/loss'`` is the scalar tag ``loss`` of each session's
    ``eval`` child run (the part before the first ``/`` is the run).
    """
    metrics = []
    for name in metric_tags:
        group, _, tag = name.partition('/')
        metrics.append(
            api_pb2.MetricInfo(
                name=api_pb2.MetricName(group=group if tag else '', tag=tag or group),
                display_name=name,
            )
        )
    experiment = api_pb2.Experiment(
        hparam_infos=[_hparam_info(n, d) for n, d in domains.items()],
        metric_infos=metrics,
        time_created_secs=time_created,
    )
    return _plugin_summary(
        hparams_metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)
    )


def hparam_value(v: Any) -> bool | int | float | str | None:
    """A value the HParams plugin can show: numbers, bools and strings; others as text."""
    if v is None:
        return None
    item = getattr(v, 'item', None)
    if callable(item) and getattr(v, 'shape', None) == ():
        v = item()
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def session_start_summary(
    hparams: Mapping[str, Any], trial_id: str, start_time: float
) -> summary_pb2.Summary:
    values = {k: hparam_value(v) for k, v in hparams.items()}
    values = {k: v for k, v in values.items() if v is not None}
    return _deterministic(
        hparams_summary.hparams_pb(values, trial_id=trial_id, start_time_secs=start_time)
    )


def session_end_summary(status: int, end_time: float) -> summary_pb2.Summary:
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=end_time)
    return _plugin_summary(
        hparams_metadata.SESSION_END_INFO_TAG,
        plugin_data_pb2.HParamsPluginData(session_end_info=info),
    )
