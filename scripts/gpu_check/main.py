"""The GPU check after the installs: versions, the sweeps, NCCL, the sampler; then the report.

Run by ``scripts/gpu_check.sh`` with ``.venv-gpu/pytorch``'s Python (it has pandas and the
project; no framework is imported here). Each step below runs commands in the framework's
own venv and hands what they wrote to a rule in :mod:`gpu_check.checks`.

Exit code: 0 every check held; 1 some did not (one line each, also in the report); 0 with
one line when there is no GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from gpu_check import checks, report, runs, smi
from gpu_check.checks import Check

NO_GPU = 'gpu_check: no GPU (nvidia-smi missing or NVML failed); nothing installed, nothing run'
SAMPLER_SECONDS = 10.0
DTYPE_KEY = 'workload.compute_dtype'
LM_ABSENT = 'LM workload not present: the bfloat16 LM step is skipped'


class Context:
    """Where things are and what was found so far (one per check run)."""

    def __init__(self, out_dir: str, venvs: str, info: smi.GpuInfo):
        self.out = os.path.abspath(out_dir)
        self.logs = os.path.join(self.out, 'logs')
        self.sweeps = os.path.join(self.out, 'sweeps')
        self.cifar_dir = os.path.join(self.out, 'data', 'cifar10')
        self.venvs = os.path.abspath(venvs)
        self.info = info
        self.checks: list[Check] = []
        self.rates: dict[str, float | None] = {}
        self.timings: dict[str, float] = {}
        self.versions: dict[str, dict] = {}
        self.notes: list[str] = []  # what was skipped, and why
        os.makedirs(self.logs, exist_ok=True)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [runs.ROOT, os.path.join(runs.ROOT, 'scripts')]))

    def bin(self, framework: str, name: str = 'python') -> str:
        return os.path.join(self.venvs, framework, 'bin', name)

    def add(self, check: Check) -> bool:
        self.checks.append(check)
        print(check.line(), flush=True)
        return check.ok


def json_result(log_path: str) -> dict | None:
    """The last line of a probe's log that is a JSON object (warnings may follow it: stdout
    and stderr share the log, and libraries write at exit)."""
    with open(log_path, encoding='utf-8', errors='replace') as f:
        lines = f.read().splitlines()
    for line in reversed(lines):
        if line.startswith('{'):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def probe(ctx: Context, label: str, argv: list[str], timeout: float) -> dict | None:
    """Runs a probe; its JSON result, or None after adding the failed run's check."""
    log = os.path.join(ctx.logs, f'{label}.log')
    rc, seconds, _ = runs.execute(argv, log, timeout, ctx.env)
    ctx.timings[label] = seconds
    if rc != 0:
        ctx.add(checks.finished(label, rc, seconds, timeout, log))
        return None
    found = json_result(log)
    if found is None:
        ctx.add(Check(f'{label}: ran', False, f'exited 0 but printed no result (log: {log})'))
    return found


def check_versions(ctx: Context) -> None:
    """Prints and records the driver's and each venv's versions; both frameworks see the GPU."""
    info = ctx.info
    print(f'GPU: {info.name}, driver {info.driver}, CUDA (driver) {info.cuda}', flush=True)
    for framework in ('jax', 'pytorch'):
        found = probe(ctx, f'versions_{framework}',
                      [ctx.bin(framework), '-m', 'gpu_check.probes', 'versions', framework], 180)
        ctx.versions[framework] = found or {'error': f'see logs/versions_{framework}.log'}
        if found is None:
            continue
        print(f'{framework}: ' + ', '.join(f'{k} {v}' for k, v in found.items()), flush=True)
        ctx.add(checks.framework_on_gpu(framework, found))
    built_for = ctx.versions['pytorch'].get('torch.version.cuda')
    if built_for:  # a CPU build already failed above
        ctx.add(checks.driver_supports('pytorch', built_for, info.cuda))


def _rows(ctx: Context, workload: str):
    from algorithmic_efficiency.storage import csv_io  # pandas: the venv's, not bash's

    path = os.path.join(ctx.sweeps, workload, 'run_1', 'metrics.csv')
    return csv_io.read_metrics_csv(path) if os.path.exists(path) else None


def _metadata(ctx: Context, workload: str) -> dict:
    path = os.path.join(ctx.sweeps, workload, 'metadata.json')
    if not os.path.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def bf16_recorded(label: str, metadata: dict) -> Check:
    """The LM's metadata.json says it computed in bfloat16 (``workload.compute_dtype``, a
    property of the LM workloads: bfloat16 on a GPU, float32 on the CPU)."""
    dtype = metadata.get(DTYPE_KEY)
    return Check(f'{label}: bfloat16', dtype == 'bfloat16', f'{DTYPE_KEY} = {dtype!r}')


def check_sweep(ctx: Context, sweep: runs.Sweep) -> None:
    """One capped runner sweep on the GPU, then its files' checks."""
    label = sweep.workload
    log = os.path.join(ctx.logs, f'{label}.log')
    if not os.path.exists(os.path.join(runs.ROOT, sweep.submission)):
        ctx.add(Check(f'{label}: ran', False, f'baseline {sweep.submission} not found'))
        return
    argv = [ctx.bin(sweep.framework)] + runs.runner_args(sweep, ctx.sweeps, ctx.cifar_dir)
    rc, seconds, _ = runs.execute(argv, log, sweep.timeout, ctx.env)
    ctx.timings[label] = seconds
    ctx.add(checks.finished(label, rc, seconds, sweep.timeout, log))
    rows, metadata = _rows(ctx, label), _metadata(ctx, label)
    if rows is None:
        ctx.add(Check(f'{label}: metrics.csv', False, 'not written'))
        return
    ctx.add(checks.telemetry_columns(label, rows))
    ctx.add(checks.device_name(label, metadata, ctx.info.name))
    ctx.add(checks.throughput(label, rows))
    ctx.rates[label] = checks.steps_per_second(rows)
    if label.startswith('mnist_'):  # the one workload that reaches its target in seconds
        ctx.add(checks.energy_to_target(label, rows))
    if label.startswith('lm_'):
        ctx.add(checks.finite_loss(label, rows))
        ctx.add(bf16_recorded(label, metadata))


def check_agreement(ctx: Context, base: str, rel_tol: float = checks.TF32_LOSS_REL_TOL,
                    precision: str = 'TF32') -> None:
    """JAX and PyTorch gave the same first eval (same seed and initial network)."""
    jax_rows, torch_rows = _rows(ctx, f'{base}_jax'), _rows(ctx, f'{base}_pytorch')
    if jax_rows is None or torch_rows is None:
        ctx.add(Check(f'{base}: first-eval loss JAX vs PyTorch', False, 'a run wrote no rows'))
        return
    ctx.add(checks.losses_agree(base, jax_rows, torch_rows, rel_tol, precision))


def check_nccl(ctx: Context) -> None:
    """``torchrun --nproc_per_node=1``: the project's TorchProcesses joins with NCCL."""
    argv = [ctx.bin('pytorch', 'torchrun'), '--standalone', '--nproc_per_node=1',
            '-m', 'gpu_check.probes', 'nccl']
    found = probe(ctx, 'torchrun_nccl', argv, 120)
    if found is not None:
        ctx.add(checks.nccl(found))


def check_sampler(ctx: Context) -> None:
    """The telemetry sampler, 10 s under a matmul load."""
    argv = [ctx.bin('pytorch'), '-m', 'gpu_check.probes', 'sampler', str(SAMPLER_SECONDS)]
    found = probe(ctx, 'sampler', argv, 120)
    if found is not None:
        ctx.add(checks.sampler_under_load(found))


def run_all(ctx: Context) -> None:
    check_versions(ctx)
    runs.write_cifar(ctx.cifar_dir)
    sweeps = [runs.mnist('jax'), runs.mnist('pytorch'), runs.cifar('jax'), runs.cifar('pytorch')]
    lm = runs.registered_lm_workloads()
    if not lm:
        ctx.notes.append(LM_ABSENT)
        print(LM_ABSENT, flush=True)
    sweeps += [runs.lm(name.rsplit('_', 1)[1]) for name in lm]
    for sweep in sweeps:
        check_sweep(ctx, sweep)
    check_agreement(ctx, 'mnist')
    check_agreement(ctx, 'cifar10')
    if len(lm) == 2:  # one NumPy initialisation for both frameworks, as MNIST and CIFAR-10
        check_agreement(ctx, 'lm_tiny', checks.BF16_LOSS_REL_TOL, 'bfloat16')
    check_nccl(ctx)
    check_sampler(ctx)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='gpu_check', help='report, logs and sweeps go here')
    parser.add_argument('--venvs', default='.venv-gpu', help='holds the jax/ and pytorch/ venvs')
    parser.add_argument('--install_seconds', type=float, default=0.0)
    parser.add_argument('--started', type=float, default=None, help='epoch s the check began')
    args = parser.parse_args(argv)
    started = args.started or time.time()
    info = smi.query()
    if info is None:
        print(NO_GPU)
        return 0
    ctx = Context(args.out, args.venvs, info)
    run_all(ctx)
    ctx.timings['install'] = args.install_seconds
    ctx.timings['total'] = time.time() - started
    path = report.write(ctx.out, report.render(info, ctx.versions, ctx.checks, ctx.rates,
                                               ctx.timings, ctx.notes))
    failed = report.failures(ctx.checks)
    print(f'gpu_check: {len(ctx.checks) - len(failed)}/{len(ctx.checks)} checks held; '
          f'report: {path}')
    for line in failed:
        print(line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
