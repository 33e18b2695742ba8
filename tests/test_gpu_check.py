"""The GPU check (scripts/gpu_check.sh, scripts/gpu_check/) on a machine without a GPU.

No GPU is lent on this machine, so what a GPU would produce is faked, and only at the
NVML/CUDA boundary: ``nvidia-smi`` is a small shell script on ``PATH`` printing output
recorded in nvidia-smi's real formats, and the rules are fed ``metrics.csv`` rows,
``metadata.json`` dicts and probe results shaped as a GPU run writes them (the CSV goes
through the project's real reader). The script itself runs for real: its no-GPU path is
what a machine without a GPU gets, and it must install nothing.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

from gpu_check import checks, main, report, runs, smi  # noqa: E402

from algorithmic_efficiency.storage import csv_io  # noqa: E402

H100 = 'NVIDIA H100 80GB HBM3'
# nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit
#            --format=csv,noheader,nounits, and the banner of plain nvidia-smi.
SMI_QUERY = f'{H100}, 570.124.06, 81559, 700.00\n'
SMI_BANNER = '''Sun Dec  6 07:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.124.06             Driver Version: 570.124.06     CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
'''
NVML_FAILED = ('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA '
               'driver. Make sure that the latest NVIDIA driver is installed and running.')

# Two eval rows of a GPU run, as the recorder writes them (columns trimmed to the ones read).
GPU_ROWS = '''framework,workload,run_idx,accumulated_submission_time,global_step,accuracy,loss,\
goal_reached,status,framework.0.mem.in_use_bytes,framework.0.mem.peak_bytes,gpu.count,\
gpu.0.compute.util,gpu.0.mem.used,gpu.0.power.current_watts,energy.submission_joules
pytorch,mnist_pytorch,1,0.5,1,0.31,2.2465,False,running,1048576,2097152,1,0.12,900,110.5,40.2
pytorch,mnist_pytorch,1,4.5,801,0.91,0.3237,True,complete,1048576,4194304,1,0.85,910,310.0,980.7
'''


@pytest.fixture
def gpu_rows(tmp_path):
    path = tmp_path / 'metrics.csv'
    path.write_text(GPU_ROWS)
    return csv_io.read_metrics_csv(str(path))


def fake_smi(bin_dir, query=SMI_QUERY, banner=SMI_BANNER, fail=False):
    """An ``nvidia-smi`` on PATH: the recorded output, or NVML's failure (exit 9)."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / 'nvidia-smi'
    if fail:
        script.write_text(f'#!/bin/sh\necho "{NVML_FAILED}"\nexit 9\n')
    else:
        script.write_text('#!/bin/sh\ncase "$1" in\n'
                          f'  --query-gpu=*) printf "%s" "{query}" ;;\n'
                          f'  -L) echo "GPU 0: {H100} (UUID: GPU-aaaa)" ;;\n'
                          f'  *) cat <<"EOF"\n{banner}EOF\n;;\nesac\n')
    script.chmod(0o755)
    return bin_dir


# --- The script's no-GPU path, run for real.
def checkout_copy(tmp_path):
    """A checkout holding just what the scripts read, so whatever they create is seen."""
    root = tmp_path / 'checkout'
    (root / 'scripts').mkdir(parents=True)
    for name in ('gpu_check.sh', 'setup_env.sh'):
        shutil.copy(os.path.join(ROOT, 'scripts', name), root / 'scripts' / name)
    for name in ('setup.py', 'constraints.txt'):  # setup_env.sh's install stamp reads them
        shutil.copy(os.path.join(ROOT, name), root / name)
    return root


def tool_dir(tmp_path, with_nvidia_smi_failing):
    """PATH for the script: the tools it needs, a python3 that records any call, and either
    no nvidia-smi at all or one whose NVML fails."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for tool in ('dirname', 'grep', 'date', 'mkdir', 'head', 'env'):
        os.symlink(shutil.which(tool), bin_dir / tool)
    marker = tmp_path / 'python_was_called'
    for name in ('python3', 'python', 'pip'):
        (bin_dir / name).write_text(f'#!/bin/sh\ntouch {marker}\nexit 1\n')
        (bin_dir / name).chmod(0o755)
    if with_nvidia_smi_failing:
        fake_smi(bin_dir, fail=True)
    return bin_dir, marker


@pytest.mark.parametrize('nvml_fails', [False, True], ids=['no-nvidia-smi', 'nvml-fails'])
def test_script_without_gpu_says_one_line_and_installs_nothing(tmp_path, nvml_fails):
    root = checkout_copy(tmp_path)
    bin_dir, marker = tool_dir(tmp_path, nvml_fails)
    before = sorted(os.listdir(root))
    proc = subprocess.run([shutil.which('bash'), str(root / 'scripts' / 'gpu_check.sh')],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path,
                          env={'PATH': str(bin_dir), 'HOME': str(tmp_path)}, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [main.NO_GPU]
    assert proc.stderr == ''
    assert sorted(os.listdir(root)) == before  # no .venv-gpu, no gpu_check/
    assert not marker.exists()  # no Python, no pip: nothing was installed


def test_python_entry_without_gpu_says_the_same_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PATH', str(fake_smi(tmp_path / 'bin', fail=True)))
    assert main.main(['--out', str(tmp_path / 'out')]) == 0
    assert capsys.readouterr().out.splitlines() == [main.NO_GPU]
    assert not (tmp_path / 'out').exists()


# --- nvidia-smi.
def test_smi_parses_recorded_output():
    info = smi.parse(SMI_QUERY, SMI_BANNER)
    assert info == smi.GpuInfo(name=H100, driver='570.124.06', cuda='12.8',
                               memory_mib=81559.0, power_limit_watts=700.0, count=1)


def test_smi_parse_unsupported_power_several_gpus_and_nothing():
    info = smi.parse(f'{H100}, 570.124.06, 81559, [N/A]\n{H100}, 570.124.06, 81559, [N/A]\n', '')
    assert info.power_limit_watts is None and info.count == 2 and info.cuda == ''
    assert smi.parse('', SMI_BANNER) is None
    assert smi.parse('garbage\n', SMI_BANNER) is None


def test_smi_query_through_a_fake_nvidia_smi(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(fake_smi(tmp_path / 'ok')))
    assert smi.query().name == H100
    monkeypatch.setenv('PATH', str(fake_smi(tmp_path / 'failing', fail=True)))
    assert smi.query() is None
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert smi.query() is None


# --- The rules.
def test_telemetry_columns_pass_on_gpu_rows(gpu_rows):
    check = checks.telemetry_columns('mnist_pytorch', gpu_rows)
    assert check.ok, check.detail
    assert 'util 0.85' in check.detail and 'power 310 W' in check.detail
    assert '2 framework memory columns' in check.detail


def test_telemetry_columns_name_what_is_missing_or_empty(gpu_rows):
    no_power = gpu_rows.drop(columns=['gpu.0.power.current_watts'])
    check = checks.telemetry_columns('x', no_power)
    assert not check.ok and check.detail == 'gpu.0.power.current_watts missing'
    gap = gpu_rows.copy()
    gap.loc[0, 'energy.submission_joules'] = math.nan
    check = checks.telemetry_columns('x', gap)
    assert not check.ok and check.detail == 'energy.submission_joules empty in 1/2 rows'
    cpu = gpu_rows.drop(columns=[c for c in gpu_rows if c.startswith('framework.0.')])
    check = checks.telemetry_columns('x', cpu)
    assert not check.ok and 'no framework.0.mem.* column' in check.detail
    assert not checks.telemetry_columns('x', gpu_rows.iloc[:0]).ok


def test_energy_to_target(gpu_rows):
    check = checks.energy_to_target('mnist_pytorch', gpu_rows)
    assert check.ok and check.detail == '980.7 J at step 801'
    never = gpu_rows.assign(goal_reached=False)
    assert checks.energy_to_target('x', never).detail == 'target not reached in 2 evals'
    inf = gpu_rows.copy()
    inf.loc[1, 'energy.submission_joules'] = math.inf
    assert not checks.energy_to_target('x', inf).ok
    assert not checks.energy_to_target('x', gpu_rows.drop(columns=['goal_reached'])).ok


def test_device_name_against_nvidia_smi():
    meta = {'gpu_model_name': H100, 'devices.kind': H100, 'gpu_count': 1}
    assert checks.device_name('x', meta, H100).ok
    cpu = dict(meta, **{'devices.kind': 'cpu'})
    check = checks.device_name('mnist_jax', cpu, H100)
    assert not check.ok
    assert check.line() == (f"FAIL mnist_jax: device in metadata.json: devices.kind='cpu'; "
                            f"nvidia-smi says '{H100}'")
    assert not checks.device_name('x', {}, H100).ok


def test_losses_agree_within_the_tf32_tolerance(gpu_rows):
    near = gpu_rows.assign(loss=gpu_rows['loss'] * (1 + 0.5 * checks.TF32_LOSS_REL_TOL))
    assert checks.losses_agree('mnist', gpu_rows, near).ok
    far = gpu_rows.assign(loss=gpu_rows['loss'] * (1 + 2 * checks.TF32_LOSS_REL_TOL))
    check = checks.losses_agree('mnist', gpu_rows, far)
    assert not check.ok and 'rel. diff 1.96e-02' in check.detail
    later = gpu_rows.assign(global_step=gpu_rows['global_step'] + 1)
    assert not checks.losses_agree('mnist', gpu_rows, later).ok  # not the same eval
    assert not checks.losses_agree('mnist', gpu_rows, gpu_rows.iloc[:0]).ok


def test_steps_per_second_excludes_the_first_step(gpu_rows):
    assert checks.steps_per_second(gpu_rows) == pytest.approx(800 / 4.0)
    assert checks.throughput('x', gpu_rows).detail == '200.0 steps/s'
    assert checks.steps_per_second(gpu_rows.iloc[:1]) is None
    assert not checks.throughput('x', gpu_rows.iloc[:1]).ok


def test_finite_loss(gpu_rows):
    assert checks.finite_loss('lm_tiny_jax', gpu_rows).ok
    bad = gpu_rows.assign(loss=[2.0, math.nan])
    assert checks.finite_loss('lm', bad).detail == '1/2 losses not finite'


NCCL_RESULT = {'backend': 'nccl', 'world_size': 1, 'device': H100, 'nccl_version': '2.29.7',
               'all_reduce': 1.0, 'expected_all_reduce': 1.0, 'ddp_grad_finite': True}


def test_nccl():
    assert checks.nccl(NCCL_RESULT).ok
    assert checks.nccl(dict(NCCL_RESULT, backend='gloo')).detail == "backend 'gloo', not nccl"
    assert not checks.nccl(dict(NCCL_RESULT, all_reduce=2.0)).ok
    assert not checks.nccl(dict(NCCL_RESULT, ddp_grad_finite=False)).ok


SAMPLER_RESULT = {'seconds': 10.0, 'row': {'gpu.0.compute.util.interval_mean': 0.98,
                                           'gpu.0.power.interval_mean_watts': 650.0,
                                           'gpu.0.energy.trial_joules': 6300.0}}


def test_sampler_under_load():
    assert checks.sampler_under_load(SAMPLER_RESULT).ok
    idle = json.loads(json.dumps(SAMPLER_RESULT))
    idle['row']['gpu.0.compute.util.interval_mean'] = 0.1
    assert 'util below 0.5' in checks.sampler_under_load(idle).detail
    off = json.loads(json.dumps(SAMPLER_RESULT))
    off['row']['gpu.0.energy.trial_joules'] = 3000.0  # half of 650 W x 10 s
    assert 'differ by more than 25%' in checks.sampler_under_load(off).detail
    assert not checks.sampler_under_load({'seconds': 10.0, 'row': {'gpu.count': 0}}).ok


def test_finished():
    assert checks.finished('x', 0, 12.0, 60, 'l.log').ok
    assert checks.finished('x', None, 60.2, 60, 'l.log').detail == (
        'stopped at the 60 s time limit (log: l.log)')
    assert checks.finished('x', 1, 3.0, 60, 'l.log').detail == 'exit code 1 after 3 s (log: l.log)'


def test_bf16_recorded():
    check = main.bf16_recorded('lm_tiny_jax', {'workload.compute_dtype': 'bfloat16'})
    assert check.ok and check.detail == "workload.compute_dtype = 'bfloat16'"
    assert not main.bf16_recorded('lm', {'workload.compute_dtype': 'float32'}).ok  # the CPU's
    assert main.bf16_recorded('lm', {}).detail == 'workload.compute_dtype = None'


def test_lm_losses_agree_within_the_bf16_tolerance(gpu_rows):
    near = gpu_rows.assign(loss=gpu_rows['loss'] * 1.03)
    assert not checks.losses_agree('lm_tiny', gpu_rows, near).ok  # beyond TF32's
    check = checks.losses_agree('lm_tiny', gpu_rows, near, checks.BF16_LOSS_REL_TOL, 'bfloat16')
    assert check.ok and check.name.endswith('(rel. tol. 0.05, bfloat16)')


# --- The report.
def test_report_lists_every_check_and_one_line_per_failure(tmp_path):
    info = smi.parse(SMI_QUERY, SMI_BANNER)
    results = [checks.Check('mnist_jax: ran', True, '21 s'),
               checks.Check('cifar10: first-eval loss', False, 'JAX 2.3, PyTorch 2.5')]
    text = report.render(info, {'pytorch': {'torch': '2.13.0', 'torch.version.cuda': '13.0'}},
                         results, {'mnist_jax': 812.3, 'cifar10_jax': None},
                         {'install': 150.0, 'total': 420.0, 'mnist_jax': 21.0},
                         [main.LM_ABSENT])
    path = report.write(str(tmp_path), text)
    written = open(path, encoding='utf-8').read()
    assert written == text and os.listdir(tmp_path) == ['report.md']
    assert '- Result: **FAIL (1 of 2 checks)**' in written
    assert ('Wall time: 420 s in all (budget 480 s on one H100), of which installs 150 s\n'
            in written)
    assert f'| name | {H100} |' in written and '| cuda | 12.8 |' in written
    assert '| torch.version.cuda | 13.0 |' in written
    assert f'## Checks\n\n- {main.LM_ABSENT}\n\n| result |' in written
    assert '| PASS | mnist_jax: ran | 21 s |' in written
    assert '| mnist_jax | 812.3 | 21 |' in written and '| cifar10_jax | n/a | 0 |' in written
    assert written.endswith('## Failed\n\n- FAIL cifar10: first-eval loss: JAX 2.3, PyTorch 2.5\n')
    assert report.failures(results) == ['FAIL cifar10: first-eval loss: JAX 2.3, PyTorch 2.5']


def test_report_all_passed_and_over_budget():
    info = smi.parse(SMI_QUERY, SMI_BANNER)
    text = report.render(info, {}, [checks.Check('a', True, 'ok')], {}, {'total': 500.0})
    assert '- Result: **PASS**' in text and '## Failed' not in text
    assert 'OVER BUDGET' in text


# --- The runs.
def test_runner_args_cap_steps_and_time():
    args = runs.runner_args(runs.cifar('jax'), '/logs', '/data')
    assert '--max_global_steps=100' in args and '--max_submission_time_sec=120' in args
    assert '--data_dir=/data' in args and '--rng_seed=0' in args
    assert not [a for a in runs.runner_args(runs.mnist('pytorch'), '/l', '/d')
                if a.startswith('--data_dir')]
    lm = [runs.lm(name.rsplit('_', 1)[1]) for name in runs.registered_lm_workloads()]
    for sweep in (runs.mnist('jax'), runs.cifar('pytorch'), *lm):  # LM: once it has landed
        assert os.path.exists(os.path.join(ROOT, sweep.submission))
        assert os.path.exists(os.path.join(ROOT, sweep.search_space))


def test_lm_runs_only_once_registered(monkeypatch):
    from algorithmic_efficiency.workloads import registry

    present = [n for n in runs.LM_WORKLOADS if n in registry.WORKLOADS]
    assert runs.registered_lm_workloads() == present
    monkeypatch.setitem(registry.WORKLOADS, 'lm_tiny_jax',
                        registry.WorkloadEntry('x.y:Z', 'jax'))
    assert 'lm_tiny_jax' in runs.registered_lm_workloads()


def test_execute_returns_code_and_stops_at_the_limit(tmp_path):
    rc, _, last = runs.execute([sys.executable, '-c', 'print("a"); print("{}")'],
                               str(tmp_path / 'ok.log'), 30)
    assert rc == 0 and last == '{}'
    start = time.monotonic()
    rc, seconds, _ = runs.execute([sys.executable, '-c', 'import time; time.sleep(60)'],
                                  str(tmp_path / 'slow.log'), 0.5)
    assert rc is None and time.monotonic() - start < 30
    assert open(tmp_path / 'slow.log').read().startswith('$ ')


def test_write_cifar_writes_the_real_format(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, 'CIFAR_TRAIN_IMAGES', 50)
    monkeypatch.setattr(runs, 'CIFAR_TEST_IMAGES', 10)
    runs.write_cifar(str(tmp_path))
    from algorithmic_efficiency.workloads.cifar import data as cifar_data

    loaded = cifar_data.load_cifar10(str(tmp_path), cache=False)  # the workload's reader
    assert loaded.source == 'python'
    assert loaded.train_images.shape == (50, 32, 32, 3) and loaded.test_labels.shape == (10,)


# --- The probes' output, run for real on this CPU machine, meets the rule.
@pytest.mark.parametrize('framework', ['jax', 'pytorch'])
def test_versions_probe_on_the_cpu_fails_the_gpu_rule(framework):
    proc = subprocess.run([sys.executable, '-m', 'gpu_check.probes', 'versions', framework],
                          capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [ROOT, os.path.join(ROOT, 'scripts')])))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    check = checks.framework_on_gpu(framework, found)
    assert not check.ok and 'no CUDA device' in check.detail
    assert found['device_kind'] == ('cpu' if framework == 'jax' else None)


def test_framework_on_gpu_with_recorded_gpu_probes():
    jax_gpu = {'jax': '0.10.2', 'platform': 'gpu', 'device_kind': H100}
    torch_gpu = {'torch': '2.13.0', 'torch.version.cuda': '13.0', 'cuda_available': True,
                 'device_kind': H100}
    assert checks.framework_on_gpu('jax', jax_gpu).ok
    assert checks.framework_on_gpu('pytorch', torch_gpu).ok
    # A CPU build on a GPU machine (a local CPU wheel won): CUDA "available" is not enough.
    cpu_build = dict(torch_gpu, **{'torch.version.cuda': None})
    assert not checks.framework_on_gpu('pytorch', cpu_build).ok


def test_probes_usage_error():
    from gpu_check import probes

    assert probes.main(['probes', 'nonsense']) == 2


def test_nccl_probe_under_torchrun_on_the_cpu_names_gloo():
    """The real probe through torchrun (rendezvous on 127.0.0.1): the project's TorchProcesses,
    an all-reduce and a DDP step run; on the CPU the backend is gloo, which the rule names."""
    torchrun = os.path.join(os.path.dirname(sys.executable), 'torchrun')
    proc = subprocess.run([torchrun, '--standalone', '--nproc_per_node=1', '-m',
                           'gpu_check.probes', 'nccl'], capture_output=True, text=True,
                          timeout=180, check=False, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              [ROOT, os.path.join(ROOT, 'scripts')])))
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = json.loads(proc.stdout.splitlines()[-1])
    assert found['all_reduce'] == found['expected_all_reduce'] == 1.0
    assert found['ddp_grad_finite'] is True and found['world_size'] == 1
    assert checks.nccl(found).detail == "backend 'gloo', not nccl"
    assert checks.nccl(dict(found, backend='nccl')).ok


def test_format_rate():
    assert [checks.format_rate(r) for r in (812.34, 1.0, 0.04567, None)] == [
        '812.3', '1.0', '0.0457', 'n/a']


def recording_python(bin_dir, log_dir, version_ok):
    """A ``python3`` that records its arguments and environment, then fails (no install)."""
    script = bin_dir / 'python3'
    script.write_text('#!/bin/sh\n'
                      f'case "$*" in *version_info*) exit {0 if version_ok else 1} ;;\n'
                      '  --version) echo "Python 3.11.7"; exit 0 ;; esac\n'
                      f'env > "{log_dir}/env.$$"; echo "$*" > "{log_dir}/args.$$"\nexit 1\n')
    script.chmod(0o755)


def run_script_with_fake_gpu(tmp_path, version_ok):
    root = checkout_copy(tmp_path)
    bin_dir, _ = tool_dir(tmp_path, False)
    for tool in ('bash', 'cat', 'sha256sum', 'cut'):
        os.symlink(shutil.which(tool), bin_dir / tool)
    fake_smi(bin_dir)
    calls = tmp_path / 'calls'
    calls.mkdir()
    recording_python(bin_dir, calls, version_ok)
    env = {'PATH': str(bin_dir), 'HOME': str(tmp_path), 'PIP_FIND_LINKS': '/opt/wheels',
           'PIP_EXTRA_INDEX_URL': 'file:///opt/pypi/simple', 'PIP_INDEX_URL': 'https://mirror/'}
    proc = subprocess.run([shutil.which('bash'), str(root / 'scripts' / 'gpu_check.sh')],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
                          check=False)
    return root, proc, calls


def test_script_with_a_gpu_but_no_python_310_fails_in_one_line(tmp_path):
    root, proc, calls = run_script_with_fake_gpu(tmp_path, version_ok=False)
    assert proc.returncode == 1 and proc.stdout == ''
    assert proc.stderr.splitlines() == [
        'gpu_check: FAIL install: python3 is missing or older than 3.10; set PYTHON=python3.11']
    assert not (root / '.venv-gpu').exists() and not os.listdir(calls)


def test_script_installs_each_framework_from_the_registry_only(tmp_path):
    """The installs start (and fail here: python3 is a recorder): one venv per framework,
    machine-local wheel folders and extra indexes dropped, wheels only, a mirror kept."""
    root, proc, calls = run_script_with_fake_gpu(tmp_path, version_ok=True)
    assert proc.returncode == 1
    assert proc.stdout.startswith(f'gpu_check: GPU 0: {H100} (UUID: GPU-aaaa); installing')
    assert sorted(proc.stderr.splitlines()) == [
        'gpu_check: FAIL install jax_gpu: see gpu_check/logs/install_jax.log',
        'gpu_check: FAIL install pytorch_gpu: see gpu_check/logs/install_pytorch.log']
    args = sorted(open(calls / name).read().strip() for name in os.listdir(calls)
                  if name.startswith('args.'))
    # Each install tried twice (the retry), each creating its own venv first.
    assert args == ['-m venv .venv-gpu/jax'] * 2 + ['-m venv .venv-gpu/pytorch'] * 2
    for name in os.listdir(calls):
        if name.startswith('env.'):
            env = dict(line.split('=', 1) for line in open(calls / name).read().splitlines()
                       if '=' in line)
            assert env['PIP_CONFIG_FILE'] == '/dev/null' and env['PIP_ONLY_BINARY'] == ':all:'
            assert 'PIP_FIND_LINKS' not in env and 'PIP_EXTRA_INDEX_URL' not in env
            assert env['PIP_INDEX_URL'] == 'https://mirror/'
            assert env['EXTRAS'] in ('jax_gpu', 'pytorch_gpu')
    assert (root / 'gpu_check' / 'logs' / 'install_jax.log').exists()


def test_execute_a_missing_program_is_exit_127(tmp_path):
    rc, _, last = runs.execute([str(tmp_path / 'no-venv' / 'python')], str(tmp_path / 'x.log'), 5)
    assert rc == 127 and last.startswith('cannot start')
    detail = checks.finished('x', rc, 0.0, 5, 'x.log').detail
    assert detail == 'exit code 127 after 0 s (log: x.log)'


def test_json_result_skips_what_libraries_print_after_it(tmp_path):
    log = tmp_path / 'probe.log'
    log.write_text('$ python -m gpu_check.probes nccl\n{"backend": "nccl"}\n'
                   'W1206 warning at exit {not json}\n[]\n')
    assert main.json_result(str(log)) == {'backend': 'nccl'}
    log.write_text('Traceback (most recent call last):\n')
    assert main.json_result(str(log)) is None


def test_driver_supports_the_frameworks_cuda():
    assert checks.driver_supports('pytorch', '13.0', '13.0').ok
    assert checks.driver_supports('pytorch', '13.0', '13.1').ok
    old = checks.driver_supports('pytorch', '13.0', '12.8')
    assert not old.ok and old.detail.endswith(': update the driver')
    assert not checks.driver_supports('pytorch', None, '12.8').ok  # a CPU build
    assert not checks.driver_supports('pytorch', '13.0', '').ok
