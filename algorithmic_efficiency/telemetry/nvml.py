"""NVML half of the hardware telemetry: lazy init, device visibility, reads.

Used by :mod:`algorithmic_efficiency.telemetry.sampler`, which owns the public API.
Nothing starts at import: ``pynvml`` is imported and initialised on first use
only, so importing this on a machine without an NVIDIA driver costs nothing,
and tests can swap in a fake module through ``sys.modules['pynvml']``.

Reads return plain dicts keyed by the per-GPU metric suffix (for example
``'compute.util'``); :func:`add_aggregates` prefixes them with ``gpu.<i>.``.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
from typing import Any

_log = logging.getLogger(__name__)

# pynvml's error codes, used when a (fake or old) module lacks the subclass.
_NOT_SUPPORTED = 3
_FUNCTION_NOT_FOUND = 13  # An older driver lacks the symbol: same as "no data".

_lock = threading.Lock()  # Guards every module-level cache below.
_nvml = None  # The initialised pynvml module, or None.
_init_done = False  # True once an init attempt was made, successful or not.
_init_error = None  # Why NVML is unavailable, for the log line.
_visible_cache: dict[str | None, list] = {}  # CUDA_VISIBLE_DEVICES -> handles.
_warned: set = set()  # (device position, error class) pairs already logged.


def _reset_nvml_for_tests() -> None:
    """Forgets the cached NVML module, device mapping and warn-once state."""
    global _nvml, _init_done, _init_error
    with _lock:
        _nvml, _init_done, _init_error = None, False, None
        _visible_cache.clear()
        _warned.clear()


def _to_str(value: Any) -> str:
    """pynvml returns bytes or str depending on its version; normalise."""
    if isinstance(value, bytes):
        return value.decode('utf-8', errors='replace')
    return str(value)


def _describe(exc: BaseException) -> str:
    # str() of a real NVMLError calls back into the library, which may be the
    # very thing that is missing; never let that escape.
    try:
        return f'{type(exc).__name__}: {exc}'
    except Exception:  # noqa: BLE001
        return type(exc).__name__


def _init() -> tuple[Any, bool]:
    """Imports and initialises pynvml once per process.

    Returns:
        (module or None, whether this very call logged why it is unavailable).
    """
    global _nvml, _init_done, _init_error
    with _lock:
        if _init_done:
            return _nvml, False
        _init_done = True
        try:
            module = importlib.import_module('pynvml')
            module.nvmlInit()
        except Exception as e:  # noqa: BLE001
            # ModuleNotFoundError, NVMLError_LibraryNotFound/DriverNotLoaded or
            # anything else: no GPU is a normal setup, so info, not warning.
            _init_error = _describe(e)
            _log.info('NVML unavailable (%s): GPU telemetry off, gpu.count = 0.',
                      _init_error)
            return None, True
        _nvml = module
        return module, False


def get_nvml() -> Any:
    """Returns the initialised pynvml module, or None if NVML is unavailable."""
    return _init()[0]


def is_not_supported(nvml: Any, exc: BaseException) -> bool:
    """True when ``exc`` means "this device or driver has no such reading"."""
    classes = tuple(
        c for c in (getattr(nvml, 'NVMLError_NotSupported', None),
                    getattr(nvml, 'NVMLError_FunctionNotFound', None))
        if isinstance(c, type))
    if classes and isinstance(exc, classes):
        return True
    base = getattr(nvml, 'NVMLError', None)
    return (isinstance(base, type) and isinstance(exc, base) and
            getattr(exc, 'value', None) in (_NOT_SUPPORTED, _FUNCTION_NOT_FOUND))


def _optional(nvml: Any, fn, *args) -> Any:
    """Calls an NVML function: None if unsupported; other errors propagate."""
    try:
        return fn(*args)
    except Exception as e:
        if is_not_supported(nvml, e):
            return None
        raise


def warn_once(position: int, exc: BaseException) -> None:
    """Logs a GPU error once per (device, error type), not once per sample."""
    key = (position, type(exc).__name__)
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    where = 'device enumeration' if position < 0 else f'visible GPU {position}'
    _log.warning('NVML error on %s (%s); its gpu.* columns are absent until it '
                 'answers again. Repeats of this error are not logged.', where,
                 _describe(exc))


def _resolve(nvml: Any, env: str | None) -> list:
    """Maps CUDA_VISIBLE_DEVICES to NVML handles the way CUDA does."""
    count = nvml.nvmlDeviceGetCount()
    if env is None:
        return [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    uuids = None  # Fetched only if some entry is a UUID.
    handles, seen = [], set()
    for raw in env.split(','):
        entry = raw.strip()
        if entry.isascii() and entry.isdigit():
            key = int(entry)
            if key >= count:
                break  # CUDA drops the first invalid entry and all after it.
            handle = nvml.nvmlDeviceGetHandleByIndex(key)
        elif entry[:4].upper() in ('GPU-', 'MIG-'):
            if uuids is None:
                uuids = [_to_str(nvml.nvmlDeviceGetUUID(
                    nvml.nvmlDeviceGetHandleByIndex(i))).lower()
                         for i in range(count)]
            # CUDA accepts any unambiguous prefix of the UUID.
            matches = [i for i, u in enumerate(uuids)
                       if u.startswith(entry.lower())]
            if len(matches) > 1:
                break  # Ambiguous prefix: invalid.
            if matches:
                key = matches[0]
                handle = nvml.nvmlDeviceGetHandleByIndex(key)
            else:
                # MIG instances are not in the index enumeration, but NVML
                # resolves their full UUID directly.
                try:
                    handle = nvml.nvmlDeviceGetHandleByUUID(entry)
                except Exception:  # noqa: BLE001
                    break
                key = entry.lower()
        else:
            break  # '', '-1' or garbage: nothing from here on is visible.
        if key in seen:
            break  # A repeated device is treated as an invalid entry.
        seen.add(key)
        handles.append(handle)
    return handles


def visible_devices(nvml: Any) -> list:
    """Returns NVML handles of the GPUs this process sees, in CUDA order.

    The mapping is cached per CUDA_VISIBLE_DEVICES value, so later calls are
    free and a GPU that fails mid-run keeps its position (gpu.count stays).
    A failed enumeration is not cached: the next call retries.
    """
    env = os.environ.get('CUDA_VISIBLE_DEVICES')
    with _lock:
        if env in _visible_cache:
            return _visible_cache[env]
    try:
        handles = _resolve(nvml, env)
    except Exception as e:  # noqa: BLE001
        warn_once(-1, e)
        return []
    with _lock:
        _visible_cache[env] = handles
    return handles


def read_device(nvml: Any, handle: Any, full: bool = True) -> dict[str, float]:
    """Reads one GPU.

    Args:
        nvml: The initialised pynvml module.
        handle: An NVML device handle.
        full: False reads only what the sampler thread needs (util, power).

    Returns:
        Metric suffix -> value; unsupported readings are left out.

    Raises:
        Any NVML error other than "not supported"; the caller then drops the
        device from that row.
    """
    out = {}
    util = _optional(nvml, nvml.nvmlDeviceGetUtilizationRates, handle)
    if util is not None:
        out['compute.util'] = util.gpu / 100.0
    milliwatts = _optional(nvml, nvml.nvmlDeviceGetPowerUsage, handle)
    if milliwatts is not None:
        out['power.current_watts'] = milliwatts / 1000.0
    if not full:
        return out
    mem = _optional(nvml, nvml.nvmlDeviceGetMemoryInfo, handle)
    if mem is not None:
        out['mem.total'] = mem.total / 2**20
        out['mem.used'] = mem.used / 2**20
        out['mem.free'] = mem.free / 2**20
        if mem.total > 0:
            out['mem.util'] = mem.used / mem.total
    temp = _optional(nvml, nvml.nvmlDeviceGetTemperature, handle,
                     getattr(nvml, 'NVML_TEMPERATURE_GPU', 0))
    if temp is not None:
        out['temp.current'] = float(temp)
    return out


def energy_millijoules(nvml: Any, handle: Any) -> int | None:
    """Energy counter (mJ since driver load, Volta+); None if unsupported."""
    return _optional(nvml, nvml.nvmlDeviceGetTotalEnergyConsumption, handle)


def read_devices(nvml: Any, handles: list, full: bool = True,
                 energy: list[bool] | None = None) -> list[dict | None]:
    """Reads every visible GPU; a GPU that raises yields None (logged once).

    Args:
        nvml: The initialised pynvml module.
        handles: Visible device handles, in CUDA order.
        full: See :func:`read_device`.
        energy: Optional per-device flags: also read the energy counter into
            the private ``'_energy_mj'`` entry where the flag is set.

    Returns:
        One dict, or None for a device that raised, per handle.
    """
    out = []
    for i, handle in enumerate(handles):
        try:
            reading = read_device(nvml, handle, full)
            if energy and energy[i]:
                mj = energy_millijoules(nvml, handle)
                if mj is not None:
                    reading['_energy_mj'] = mj
        except Exception as e:  # noqa: BLE001
            warn_once(i, e)
            reading = None
        out.append(reading)
    return out


# The guide's per-GPU columns, in its order; other metrics follow them.
GUIDE_METRIC_ORDER = ('compute.util', 'mem.util', 'mem.total', 'mem.used', 'mem.free',
                      'temp.current')


def _metric_rank(item: tuple) -> int:
    metric = item[0]
    return (GUIDE_METRIC_ORDER.index(metric) if metric in GUIDE_METRIC_ORDER
            else len(GUIDE_METRIC_ORDER))


def add_aggregates(row: dict, readings: list[dict | None]) -> None:
    """Writes gpu.<i>.*, gpu.avg.* (mean over reporting GPUs) and totals."""
    by_metric: dict[str, list] = {}
    for i, reading in enumerate(readings):
        for metric, value in sorted((reading or {}).items(), key=_metric_rank):
            if not metric.startswith('_'):
                row[f'gpu.{i}.{metric}'] = value
                by_metric.setdefault(metric, []).append(value)
    for metric, values in by_metric.items():
        row[f'gpu.avg.{metric}'] = sum(values) / len(values)
    for metric in ('power.current_watts', 'energy.trial_joules'):
        if metric in by_metric:
            row[f'gpu.total.{metric}'] = sum(by_metric[metric])


def gpu_info() -> dict:
    """Describes the visible GPUs for metadata.json.

    Returns:
        ``{'gpu_count': int, 'gpu_model_name': str, 'gpu_driver': str}`` for
        the GPUs this process can see (CUDA_VISIBLE_DEVICES honoured); several
        different models are joined with ', '. Without NVML or without a
        visible GPU: ``{'gpu_count': 0}`` only, and one info line says why.
    """
    nvml, logged = _init()
    if nvml is None:
        if not logged:
            _log.info('gpu_info: 0 GPUs (NVML unavailable: %s).', _init_error)
        return {'gpu_count': 0}
    handles = visible_devices(nvml)
    if not handles:
        _log.info('gpu_info: 0 GPUs visible (CUDA_VISIBLE_DEVICES=%r).',
                  os.environ.get('CUDA_VISIBLE_DEVICES'))
        return {'gpu_count': 0}
    info: dict[str, Any] = {'gpu_count': len(handles)}
    names: list[str] = []
    for handle in handles:
        try:
            name = _to_str(nvml.nvmlDeviceGetName(handle))
        except Exception as e:  # noqa: BLE001  (metadata is best effort)
            _log.debug('gpu_info: no name for a GPU: %s', _describe(e))
            continue
        if name not in names:
            names.append(name)
    if names:
        info['gpu_model_name'] = ', '.join(names)
    try:
        info['gpu_driver'] = _to_str(nvml.nvmlSystemGetDriverVersion())
    except Exception as e:  # noqa: BLE001  (metadata is best effort)
        _log.debug('gpu_info: no driver version: %s', _describe(e))
    return info
