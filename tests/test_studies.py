"""--num_studies: K sweeps with derived seeds in LOG_DIR/study_<k>/, and every reader on them."""
import json
import os

import pytest

from algorithmic_efficiency import sweep
from algorithmic_efficiency.analysis import loader, scoring, status, summary
from algorithmic_efficiency.search import seeds
from algorithmic_efficiency.sweep import studies

ADAM = dict(
    workload='mnist_jax',
    submission_path='baselines/mnist/mnist_jax/submission.py',
    tuning_search_space='baselines/mnist/tuning_search_space.json',
    num_tuning_trials=2,
    max_global_steps=4,
)


def test_study_seeds_are_derived_and_distinct():
    assert studies.study_seed(7, 1) == seeds.derive_seed(7, 'study', 1)
    assert len({studies.study_seed(7, k) for k in range(1, 6)}) == 5
    config = sweep.RunConfig(**ADAM, log_dir='/logs', rng_seed=7, num_studies=3)
    got = studies.study_configs(config, 7)
    assert [(k, c.log_dir, c.rng_seed) for k, c in got] == [
        (k, f'/logs/study_{k}', seeds.derive_seed(7, 'study', k)) for k in (1, 2, 3)]


def test_median_over_studies():
    assert studies.median_time_to_target([3.0, 1.0, 2.0]) == 2.0
    assert studies.median_time_to_target([1.0, 2.0]) == 1.5
    assert studies.median_time_to_target([1.0, float('inf')]) == float('inf')
    assert studies.median_time_to_target([1.0, float('inf'), 2.0]) == 2.0


def test_num_studies_below_one_is_a_usage_error():
    with pytest.raises(sweep.UsageError, match='--num_studies must be at least 1, got 0'):
        sweep.check_config(sweep.RunConfig(**ADAM, num_studies=0))


@pytest.fixture(scope='module')
def studies_dir(tmp_path_factory):
    log_dir = str(tmp_path_factory.mktemp('studies') / 'logs')
    assert sweep.run(dict(ADAM, rng_seed=5, num_studies=2, log_dir=log_dir)) == 0
    return log_dir


def _meta(log_dir, k):
    with open(os.path.join(log_dir, f'study_{k}', 'mnist_jax', 'metadata.json')) as f:
        return json.load(f)


def test_each_study_is_a_complete_sweep(studies_dir):
    assert sorted(os.listdir(studies_dir)) == ['study_1', 'study_2']
    hparams = []
    for k in (1, 2):
        meta = _meta(studies_dir, k)
        assert meta['rng_seed'] == seeds.derive_seed(5, 'study', k)
        assert (meta['study.index'], meta['study.count'], meta['study.base_rng_seed']) == (k, 2, 5)
        assert meta['flags']['rng_seed'] == 5 and meta['flags']['num_studies'] == 2
        assert meta['flags']['log_dir'] == studies_dir
        sweep_dir = os.path.join(studies_dir, f'study_{k}', 'mnist_jax')
        assert sorted(n for n in os.listdir(sweep_dir) if n.startswith('run_')) == [
            'run_1', 'run_2']
        trials = loader.load_trials(sweep_dir)
        hparams.append(tuple(trials['hparam.learning_rate']))
    assert hparams[0] != hparams[1]  # each study draws its own trials


def test_readers_accept_a_folder_of_studies_and_a_study(studies_dir):
    assert loader.find_workload_dirs(studies_dir) == [
        os.path.join(studies_dir, f'study_{k}', 'mnist_jax') for k in (1, 2)]
    trials = loader.load_trials(studies_dir)
    assert sorted(set(trials['sweep'])) == ['study_1/mnist_jax', 'study_2/mnist_jax']
    assert len(trials) == 4
    text = status.format_status(studies_dir)
    assert '== study_1/mnist_jax (jax)' in text and '== study_2/mnist_jax (jax)' in text
    assert '== side by side' in text
    one = loader.load_trials(os.path.join(studies_dir, 'study_2'))
    assert list(one['sweep'].unique()) == ['mnist_jax'] and len(one) == 2
    written = summary.write_summary(studies_dir)
    assert os.path.join(studies_dir, 'study_2', 'mnist_jax', 'summary', 'run_status.csv') in written
    sub = scoring.read_submission('adam', studies_dir)
    assert sub.studies == [1, 2] and sub.workloads == ['mnist']


def test_resume_reads_the_base_seed_back(studies_dir):
    config = sweep.RunConfig(**ADAM, num_studies=2, log_dir=studies_dir, resume=True)
    assert studies.base_seed(config) == 5
    with pytest.raises(ValueError, match=r"--rng_seed=6 differs from the resumed studies' 5"):
        studies.base_seed(sweep.RunConfig(**ADAM, num_studies=2, log_dir=studies_dir,
                                          resume=True, rng_seed=6))
    # All trials finished: resuming runs none and keeps the files.
    before = _meta(studies_dir, 1)['rng_seed']
    assert sweep.run(config) == 0
    assert _meta(studies_dir, 1)['rng_seed'] == before


def test_one_study_keeps_the_guide_layout(tmp_path):
    log_dir = str(tmp_path / 'logs')
    assert sweep.run(dict(ADAM, num_tuning_trials=1, rng_seed=5, log_dir=log_dir)) == 0
    assert os.listdir(log_dir) == ['mnist_jax']
    with open(os.path.join(log_dir, 'mnist_jax', 'metadata.json')) as f:
        meta = json.load(f)
    assert meta['rng_seed'] == 5 and not [k for k in meta if k.startswith('study.')]
