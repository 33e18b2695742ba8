"""A real Hydra multirun made by hydra-core itself: a tiny ``@hydra.main`` app, ``--multirun``.

A plain helper module (conftest's ``hydra_multirun`` fixture builds the tree once
per session; the explorer and dashboard tests read it).
"""

import os
import subprocess
import sys

HYDRA_KEY = '2024-01-02 03-04-05'
N_JOBS = 12  # lr x batch x optimizer: 2 x 3 x 2, so job 10 and 11 exist ("10 after 2")
HYDRA_CONFIG = """\
lr: 0.1
batch: 8
optimizer: adam
model:
  depth: 2
  width: ${model.depth}
dataset:
  name: toy
  size: 100
hyperparameters:
  dropout: 0.5
out: ${hydra:runtime.output_dir}
stamp: ${now:%Y-%m-%d}
"""
HYDRA_APP = """\
import json
import os

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base=None, config_path='conf', config_name='config')
def main(cfg):
    out = HydraConfig.get().runtime.output_dir
    if cfg.lr == 0.01 and cfg.batch == 32 and cfg.optimizer == 'sgd':
        return  # this job writes no results
    loss = cfg.lr * cfg.batch / (2 if cfg.optimizer == 'adam' else 1)
    with open(os.path.join(out, 'result.json'), 'w') as f:
        json.dump({'loss': loss, 'accuracy': 1 - loss / 10}, f)
    np.save(os.path.join(out, 'metric.npy'), np.array([2 * loss, loss]))


main()
"""
NO_RESULTS = {'lr': 0.01, 'batch': 32, 'optimizer': 'sgd'}


def make_hydra_multirun(tmp):
    """Runs a tiny Hydra app with --multirun; returns the folder holding ``multirun/``."""
    app_dir = tmp / 'app'
    (app_dir / 'conf').mkdir(parents=True)
    (app_dir / 'conf' / 'config.yaml').write_text(HYDRA_CONFIG)
    (app_dir / 'app.py').write_text(HYDRA_APP)
    runs = tmp / 'hydra_runs'
    sweep_dir = runs / 'multirun' / '2024-01-02' / '03-04-05'
    proc = subprocess.run(
        [
            sys.executable,
            'app.py',
            '--multirun',
            'lr=0.1,0.01',
            'batch=8,16,32',
            'optimizer=adam,sgd',
            f'hydra.sweep.dir={sweep_dir}',
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=app_dir,
        env={**os.environ, 'HYDRA_FULL_ERROR': '1'},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return str(runs)


def sweep_dir_of(hydra_root):
    """The multirun's sweep folder (its jobs are 0 ... N_JOBS - 1)."""
    return os.path.join(hydra_root, 'multirun', '2024-01-02', '03-04-05')


def read_overrides(job_dir):
    """A job's overrides (``.hydra/overrides.yaml``) as a dict, parsed with PyYAML."""
    import yaml

    with open(os.path.join(job_dir, '.hydra', 'overrides.yaml')) as f:
        items = yaml.safe_load(f)
    out = {}
    for item in items:
        k, v = item.split('=', 1)
        out[k] = yaml.safe_load(v)
    return out

