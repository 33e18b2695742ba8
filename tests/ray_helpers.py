"""Shared by the Ray tests: sweep configs, a submission that misbehaves on cue, file readers."""

import json
import os
import re
import socket

import psutil

from algorithmic_efficiency.storage import csv_reader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, 'baselines/mnist/mnist_jax/submission.py')
SPACE = os.path.join(ROOT, 'baselines/mnist/tuning_search_space.json')

# The baseline, plus cues read from cues.json next to this file: "kill" maps a
# run directory name to how many of its attempts die (SIGKILL of the worker at
# step 3), "fail" lists run directory names whose trial raises at step 2,
# "sleep_file" names a file whose presence slows every step by 50 ms.
# Every import of the module appends its process id to imports.txt, and every
# trial writes its process's CPU affinity to affinity-<run>.json, next to it.
MISBEHAVING_SUBMISSION = f'''
import importlib.util, json, os, signal, time

_spec = importlib.util.spec_from_file_location('baseline', {BASELINE!r})
_baseline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_baseline)
get_batch_size = _baseline.get_batch_size
init_optimizer_state = _baseline.init_optimizer_state
data_selection = _baseline.data_selection
_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, 'imports.txt'), 'a') as _f:
    _f.write(f'{{os.getpid()}}\\n')


def update_params(workload, params, param_types, model_state, hyperparameters, batch,
                  loss_type, optimizer_state, eval_results, global_step, rng):
    with open(os.path.join(_HERE, 'cues.json')) as f:
        cues = json.load(f)
    run = os.path.basename(os.environ.get('AE_TRIAL_DIR', ''))
    affinity = os.path.join(_HERE, f'affinity-{{run}}.json')
    if hasattr(os, 'sched_getaffinity') and not os.path.exists(affinity):
        with open(affinity, 'w') as f:
            json.dump(sorted(os.sched_getaffinity(0)), f)
    if global_step == 2 and run in cues.get('fail', []):
        raise RuntimeError(f'{{run}} fails on cue')
    if global_step == 3 and run in cues.get('kill', {{}}):
        marker = os.path.join(_HERE, 'killed-' + run)
        done = len(open(marker).read()) if os.path.exists(marker) else 0
        if done < cues['kill'][run]:
            with open(marker, 'a') as f:
                f.write('x')
            os.kill(os.getpid(), signal.SIGKILL)
    if cues.get('sleep_file') and os.path.exists(cues['sleep_file']):
        time.sleep(0.05)
    return _baseline.update_params(workload, params, param_types, model_state,
                                   hyperparameters, batch, loss_type, optimizer_state,
                                   eval_results, global_step, rng)
'''


def write_submission(folder, cues):
    """The misbehaving submission in `folder` with its `cues`; returns its path."""
    path = os.path.join(folder, 'submission.py')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(MISBEHAVING_SUBMISSION)
    with open(os.path.join(folder, 'cues.json'), 'w', encoding='utf-8') as f:
        json.dump(cues, f)
    return path


def imports(folder):
    """The process ids that imported the misbehaving submission in `folder`, in order."""
    with open(os.path.join(folder, 'imports.txt'), encoding='utf-8') as f:
        return [int(line) for line in f.read().split()]


def affinity(folder, idx):
    """The CPUs run_<idx>'s process could run on, as its submission saw them."""
    with open(os.path.join(folder, f'affinity-run_{idx}.json'), encoding='utf-8') as f:
        return json.load(f)


def config(log_dir, trials=3, steps=20, **kwargs):
    """A capped mnist_jax sweep (RunConfig fields)."""
    return {
        'framework': 'jax',
        'workload': 'mnist_jax',
        'submission_path': BASELINE,
        'tuning_search_space': SPACE,
        'num_tuning_trials': trials,
        'rng_seed': 3,
        'max_global_steps': steps,
        'log_dir': str(log_dir),
        'summary': False,
        **kwargs,
    }


def run_dir(log_dir, idx):
    return os.path.join(str(log_dir), 'mnist_jax', f'run_{idx}')


def trial_json(log_dir, idx):
    with open(os.path.join(run_dir(log_dir, idx), 'trial.json'), encoding='utf-8') as f:
        return json.load(f)


def rows_in(log_dir, idx):
    """How many rows trial `idx`'s metrics.csv has so far (0 before it exists)."""
    path = os.path.join(run_dir(log_dir, idx), 'metrics.csv')
    if not os.path.exists(path):
        return 0
    with open(path, encoding='utf-8') as f:
        return max(0, sum(1 for _ in f) - 1)


def metadata(log_dir):
    with open(os.path.join(str(log_dir), 'mnist_jax', 'metadata.json'), encoding='utf-8') as f:
        return json.load(f)


def rows(log_dir, idx):
    return csv_reader.read_metrics_csv(os.path.join(run_dir(log_dir, idx), 'metrics.csv'))


def machine_names():
    """This machine's host name and non-loopback addresses: never in a sweep's files."""
    names = {socket.gethostname()}
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family in (socket.AF_INET, socket.AF_INET6) and not a.address.startswith(
                ('127.', '::1')
            ):
                names.add(a.address.split('%')[0])
    return {n for n in names if n}


def leaked_names(log_dir):
    """This machine's names found (as whole words) in the sweep's rows, trial files and nodes."""
    parts = [json.dumps(metadata(log_dir).get('nodes'))]
    for root, _, names in os.walk(str(log_dir)):
        for name in names:
            if name.endswith(('metrics.csv', 'trial.json')):
                with open(os.path.join(root, name), encoding='utf-8') as f:
                    parts.append(f.read())
    text = '\n'.join(parts)
    words = set(re.split(r'[^A-Za-z0-9_-]+', text))
    # An address anywhere; the host name (often short, e.g. 'vm') as a whole word.
    return sorted(n for n in machine_names() if (n in text if '.' in n or ':' in n else n in words))
