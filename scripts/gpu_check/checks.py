"""The GPU check's pass/fail rules, each a function with one job, over files a run wrote.

Every function takes what was read from disk (``metrics.csv`` rows as a DataFrame,
``metadata.json`` as a dict, the sampler probe's JSON) and returns a :class:`Check`, so
tests drive each rule with recorded inputs. Nothing here touches a GPU.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

# The per-row columns that prove the telemetry met the GPU (layout.py; the guide's names).
GPU_COLUMNS = (
    'gpu.0.compute.util',
    'gpu.0.mem.used',
    'gpu.0.power.current_watts',
    'energy.submission_joules',
)
FRAMEWORK_MEMORY_PREFIX = 'framework.0.mem.'

# Relative tolerance for the first eval's loss, JAX vs PyTorch (same seed, same initial
# network, same batches; they agree to 1e-4..1e-3 on the CPU). On an Ampere/Hopper GPU both
# run float32 models with TF32 inside: XLA uses TF32 for float32 matmuls and convolutions by
# default, PyTorch for convolutions (torch.backends.cudnn.allow_tf32 defaults to True; its
# matmuls stay float32). TF32 keeps 10 mantissa bits, a relative rounding of 2**-11 ~ 5e-4
# per product; through one training step and an eval of a ResNet-18 that grows to ~1e-3, and
# different cuDNN/cuBLAS algorithms add their own. 1e-2 holds that with margin, while a real
# fault (another init, other batches, a model on the wrong device) moves the loss by far more.
# Not bfloat16: MNIST and CIFAR-10 are float32 models; bf16 (8 mantissa bits) is the LM's.
TF32_LOSS_REL_TOL = 1e-2
# The LM computes in bfloat16 on a GPU (workload.compute_dtype): 8 mantissa bits, a relative
# rounding of 2**-9 ~ 2e-3 per operation, through attention, softmax and one AdamW step.
BF16_LOSS_REL_TOL = 5e-2

# The sampler under load: a busy GPU must read as busy.
MIN_LOADED_UTIL = 0.5
# GPU energy from the NVML counter vs mean power x time over the same seconds.
ENERGY_POWER_REL_TOL = 0.25


@dataclasses.dataclass(frozen=True)
class Check:
    """One rule's outcome.

    Attributes:
      name: what was checked, e.g. ``mnist_jax: telemetry columns``.
      ok: whether it held.
      detail: the evidence (numbers) when it held, what failed when it did not.
    """

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        """The one line the console and the report give it."""
        return f'{"PASS" if self.ok else "FAIL"} {self.name}: {self.detail}'


def framework_on_gpu(framework: str, versions: dict[str, Any]) -> Check:
    """The framework's versions probe found a CUDA device (JAX: platform ``gpu``; PyTorch: a
    CUDA build, ``torch.version.cuda`` set, and ``torch.cuda.is_available()``)."""
    name = f'{framework}: sees the GPU'
    if framework == 'jax':
        ok = versions.get('platform') == 'gpu'
    else:
        ok = bool(versions.get('cuda_available')) and bool(versions.get('torch.version.cuda'))
    if ok:
        return Check(name, True, f'{versions.get("device_kind")!r}')
    shown = {k: versions.get(k) for k in ('platform', 'torch', 'torch.version.cuda',
                                          'cuda_available') if k in versions}
    return Check(name, False, f'no CUDA device ({shown}): a CPU build, or a driver too old '
                 'for its CUDA')


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split('.') if part.isdigit())


def driver_supports(framework: str, built_for: str | None, driver_cuda: str) -> Check:
    """The driver's CUDA (nvidia-smi's header) is at least the one the framework was built
    for: an older driver is the usual reason a CUDA build "sees no GPU"."""
    name = f'{framework}: driver supports its CUDA'
    if not built_for or not driver_cuda:
        return Check(name, False, f'unknown: framework CUDA {built_for!r}, driver CUDA '
                     f'{driver_cuda!r}')
    ok = _version_tuple(driver_cuda) >= _version_tuple(built_for)[:2]
    detail = f'driver CUDA {driver_cuda}, {framework} built for CUDA {built_for}'
    return Check(name, ok, detail if ok else f'{detail}: update the driver')


def _empty(series: pd.Series) -> int:
    return int(series.isna().sum())


def telemetry_columns(label: str, rows: pd.DataFrame) -> Check:
    """Every row carries GPU util, memory, power, energy and framework memory values."""
    name = f'{label}: telemetry columns'
    if rows.empty:
        return Check(name, False, 'metrics.csv has no rows')
    problems = []
    for column in GPU_COLUMNS:
        if column not in rows.columns:
            problems.append(f'{column} missing')
        elif _empty(rows[column]):
            problems.append(f'{column} empty in {_empty(rows[column])}/{len(rows)} rows')
    framework = [c for c in rows.columns if c.startswith(FRAMEWORK_MEMORY_PREFIX)]
    if not framework:
        problems.append(f'no {FRAMEWORK_MEMORY_PREFIX}* column (framework not on the GPU?)')
    elif any(_empty(rows[c]) for c in framework):
        problems.append(f'{FRAMEWORK_MEMORY_PREFIX}* empty in some rows')
    if problems:
        return Check(name, False, '; '.join(problems))
    last = rows.iloc[-1]
    return Check(name, True, (
        f'{len(rows)} rows; last: util {last["gpu.0.compute.util"]:.2f}, '
        f'mem {last["gpu.0.mem.used"]:.0f} MiB, power {last["gpu.0.power.current_watts"]:.0f} W, '
        f'energy {last["energy.submission_joules"]:.1f} J, {len(framework)} framework memory '
        'columns'))


def energy_to_target(label: str, rows: pd.DataFrame) -> Check:
    """The energy at the first eval at target is a finite, positive number of joules."""
    name = f'{label}: energy to target'
    if 'goal_reached' not in rows.columns or 'energy.submission_joules' not in rows.columns:
        return Check(name, False, 'goal_reached or energy.submission_joules column missing')
    reached = rows[rows['goal_reached'].astype(str).str.lower().isin(('true', '1', '1.0'))]
    if reached.empty:
        return Check(name, False, f'target not reached in {len(rows)} evals')
    joules = float(reached.iloc[0]['energy.submission_joules'])
    if not (math.isfinite(joules) and joules > 0):
        return Check(name, False, f'energy.submission_joules at target is {joules}')
    step = int(reached.iloc[0]['global_step'])
    return Check(name, True, f'{joules:.1f} J at step {step}')


def device_name(label: str, metadata: dict[str, Any], smi_name: str) -> Check:
    """metadata.json names the GPU nvidia-smi names, both from NVML and from the framework."""
    name = f'{label}: device in metadata.json'
    got = {key: metadata.get(key) for key in ('gpu_model_name', 'devices.kind')}
    wrong = {k: v for k, v in got.items() if v != smi_name}
    if wrong:
        shown = ', '.join(f'{k}={v!r}' for k, v in wrong.items())
        return Check(name, False, f'{shown}; nvidia-smi says {smi_name!r}')
    return Check(name, True, f'{smi_name} (gpu_model_name and devices.kind)')


def losses_agree(label: str, jax_rows: pd.DataFrame, torch_rows: pd.DataFrame,
                 rel_tol: float = TF32_LOSS_REL_TOL, precision: str = 'TF32') -> Check:
    """The first eval's loss of the JAX and the PyTorch run agree within ``rel_tol``."""
    name = f'{label}: first-eval loss JAX vs PyTorch (rel. tol. {rel_tol:g}, {precision})'
    if jax_rows.empty or torch_rows.empty or 'loss' not in jax_rows or 'loss' not in torch_rows:
        return Check(name, False, 'a run has no eval rows')
    a, b = float(jax_rows['loss'].iloc[0]), float(torch_rows['loss'].iloc[0])
    steps = (int(jax_rows['global_step'].iloc[0]), int(torch_rows['global_step'].iloc[0]))
    diff = abs(a - b) / max(abs(a), abs(b), 1e-12)
    detail = f'JAX {a:.6f}, PyTorch {b:.6f} (steps {steps[0]}, {steps[1]}): rel. diff {diff:.2e}'
    ok = math.isfinite(diff) and diff <= rel_tol and steps[0] == steps[1]
    return Check(name, ok, detail)


def steps_per_second(rows: pd.DataFrame) -> float | None:
    """Training steps per second between the first and the last eval (the first step's
    compilation excluded); None with fewer than two evals."""
    if len(rows) < 2:
        return None
    steps = float(rows['global_step'].iloc[-1] - rows['global_step'].iloc[0])
    seconds = float(rows['accumulated_submission_time'].iloc[-1]
                    - rows['accumulated_submission_time'].iloc[0])
    return steps / seconds if seconds > 0 and steps > 0 else None


def throughput(label: str, rows: pd.DataFrame) -> Check:
    """The run trained at a measurable rate (steps/s between its first and last eval)."""
    rate = steps_per_second(rows)
    if rate is None:
        return Check(f'{label}: steps/s', False, f'not measurable from {len(rows)} eval rows')
    return Check(f'{label}: steps/s', True, f'{format_rate(rate)} steps/s')


def format_rate(rate: float | None) -> str:
    """Steps/s for people: one decimal, or three significant digits below 1."""
    if rate is None:
        return 'n/a'
    return f'{rate:.1f}' if rate >= 1 else f'{rate:.3g}'


def finite_loss(label: str, rows: pd.DataFrame) -> Check:
    """Every eval row has a finite loss (bfloat16 overflows show up as inf/NaN)."""
    name = f'{label}: finite loss'
    if rows.empty or 'loss' not in rows:
        return Check(name, False, 'no eval rows')
    bad = [float(v) for v in rows['loss'] if not math.isfinite(float(v))]
    if bad:
        return Check(name, False, f'{len(bad)}/{len(rows)} losses not finite')
    return Check(name, True, f'{len(rows)} evals, last loss {float(rows["loss"].iloc[-1]):.4f}')


def nccl(result: dict[str, Any]) -> Check:
    """The torchrun probe joined with NCCL and its all-reduce and DDP step gave the values."""
    name = 'torchrun --nproc_per_node=1: NCCL'
    if result.get('backend') != 'nccl':
        return Check(name, False, f'backend {result.get("backend")!r}, not nccl')
    if result.get('all_reduce') != result.get('expected_all_reduce'):
        return Check(name, False, f'all_reduce gave {result.get("all_reduce")}, expected '
                     f'{result.get("expected_all_reduce")}')
    if not result.get('ddp_grad_finite'):
        return Check(name, False, 'the DDP step gave no finite gradient')
    return Check(name, True, f'NCCL {result.get("nccl_version")}, world size '
                 f'{result.get("world_size")}, all_reduce and a DDP step on {result.get("device")}')


def sampler_under_load(result: dict[str, Any]) -> Check:
    """The telemetry sampler saw the load: high utilisation, power, and energy that matches."""
    name = f'telemetry sampler {result.get("seconds", 0):.0f} s under load'
    row = result.get('row', {})
    util = row.get('gpu.0.compute.util.interval_mean')
    watts = row.get('gpu.0.power.interval_mean_watts')
    joules = row.get('gpu.0.energy.trial_joules')
    if util is None or watts is None or joules is None:
        return Check(name, False, 'missing gpu.0.compute.util.interval_mean, '
                     'gpu.0.power.interval_mean_watts or gpu.0.energy.trial_joules')
    expected = watts * float(result.get('seconds', 0))
    detail = (f'util {util:.2f}, power {watts:.0f} W, energy {joules:.0f} J vs power x time '
              f'{expected:.0f} J')
    if util < MIN_LOADED_UTIL:
        return Check(name, False, f'{detail}: util below {MIN_LOADED_UTIL}')
    if not (expected > 0 and abs(joules - expected) <= ENERGY_POWER_REL_TOL * expected):
        return Check(name, False, f'{detail}: differ by more than {ENERGY_POWER_REL_TOL:.0%}')
    return Check(name, True, detail)


def finished(label: str, rc: int | None, seconds: float, timeout: float, log: str) -> Check:
    """The command exited 0 inside its time limit (``rc`` None: it was stopped at the limit)."""
    name = f'{label}: ran'
    if rc is None:
        return Check(name, False, f'stopped at the {timeout:.0f} s time limit (log: {log})')
    if rc != 0:
        return Check(name, False, f'exit code {rc} after {seconds:.0f} s (log: {log})')
    return Check(name, True, f'{seconds:.0f} s')
