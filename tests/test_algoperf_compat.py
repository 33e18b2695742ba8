"""The AlgoPerf compatibility layer, piece by piece (the runs are in test_algoperf_compat_runs.py).

The ``import algoperf`` alias is tested in fresh interpreters, since it edits
``sys.meta_path`` and ``sys.modules``; "a real algoperf is installed" is a
package directory named ``algoperf`` put on ``PYTHONPATH``, which is all an
install is to the import system.
"""

import copy
import json
import os
import pickle
import textwrap

import numpy as np
import pytest

from algorithmic_efficiency.compat import checks
from algorithmic_efficiency.compat.algoperf import random_utils
from algorithmic_efficiency.compat.hyperparameters import Hyperparameters, as_hyperparameters
from algorithmic_efficiency.recording.submission_metrics import SubmissionMetricsLogger
from algorithmic_efficiency.search import spaces
from algorithmic_efficiency.storage import csv_io
from tests.pyrun import ROOT, run_python

SUBMISSIONS = os.path.join(ROOT, 'tests', 'algoperf_submissions')


# --- Hyperparameters: attributes and mapping.
def test_hyperparameters_attribute_and_mapping_access():
    hp = Hyperparameters({'learning_rate': 0.01, 'dropout_rate': 0.1})
    assert hp.learning_rate == 0.01 and hp['dropout_rate'] == 0.1
    assert hasattr(hp, 'dropout_rate') and not hasattr(hp, 'label_smoothing')
    assert getattr(hp, 'grad_clip', None) is None
    assert hp.get('label_smoothing', 0.0) == 0.0 and 'learning_rate' in hp
    assert {**{'learning_rate': 1.0, 'epsilon': 1e-8}, **hp} == {
        'learning_rate': 0.01, 'epsilon': 1e-8, 'dropout_rate': 0.1}
    assert list(hp) == ['learning_rate', 'dropout_rate'] and len(hp) == 2
    assert hp._fields == ('learning_rate', 'dropout_rate')
    assert hp._asdict() == {'learning_rate': 0.01, 'dropout_rate': 0.1}
    assert hp._replace(learning_rate=0.5).learning_rate == 0.5 and hp.learning_rate == 0.01
    assert repr(hp) == 'Hyperparameters(learning_rate=0.01, dropout_rate=0.1)'
    assert hp == {'learning_rate': 0.01, 'dropout_rate': 0.1}
    assert hash(hp) == hash(Hyperparameters(learning_rate=0.01, dropout_rate=0.1))
    assert pickle.loads(pickle.dumps(hp)) == hp and copy.deepcopy(hp).dropout_rate == 0.1
    assert as_hyperparameters(None) is None and as_hyperparameters(hp) is hp


def test_hyperparameters_errors_name_the_problem():
    hp = Hyperparameters({'learning_rate': 0.01})
    with pytest.raises(AttributeError, match="no hyperparameter 'beta2' .*has: learning_rate"):
        _ = hp.beta2
    with pytest.raises(AttributeError, match='read-only'):
        hp.learning_rate = 1.0
    with pytest.raises(ValueError, match='unexpected field'):
        hp._replace(beta2=0.9)
    with pytest.raises(KeyError):
        _ = hp['beta2']


def test_hyperparameters_are_a_jax_pytree():
    import jax
    import jax.numpy as jnp

    from algorithmic_efficiency.compat import hyperparameters

    hyperparameters.register_jax_pytree()
    hp = Hyperparameters({'learning_rate': 0.5, 'beta2': 0.9})
    doubled = jax.jit(lambda h: jax.tree.map(lambda v: v * 2, h))(hp)
    assert isinstance(doubled, Hyperparameters)
    assert float(doubled.learning_rate) == 1.0 and float(doubled['beta2']) == pytest.approx(1.8)
    # and as a static argument, it is hashable
    f = jax.jit(lambda x, h: x * h.learning_rate, static_argnums=1)
    assert float(f(jnp.float32(3.0), hp)) == 1.5


# --- import algoperf.
def test_import_algoperf_resolves_to_the_layer_when_not_installed():
    proc = run_python(textwrap.dedent('''
        import sys
        from algorithmic_efficiency import compat, spec
        assert compat.submission_api() == 'native'
        assert compat.prepare('pytorch') is True
        import algoperf
        from algoperf import spec as aspec, random_utils
        import algoperf.pytorch_utils
        from algoperf.pytorch_utils import pytorch_setup
        assert aspec.ForwardPassMode.TRAIN is spec.ForwardPassMode.TRAIN
        assert aspec.TrainingCompleteError is spec.TrainingCompleteError
        assert aspec.ShapeTuple is spec.ShapeTuple and aspec.Workload is spec.Workload
        # One module under both names: `import algoperf.x` and `from algoperf import x` agree.
        assert sys.modules['algoperf.pytorch_utils'] is algoperf.pytorch_utils
        layer = 'algorithmic_efficiency.compat.algoperf'
        assert algoperf.pytorch_utils is sys.modules[layer + '.pytorch_utils']
        assert aspec is sys.modules[layer + '.spec']
        assert pytorch_setup()[:2] == (False, 0)
        assert compat.submission_api() == 'algoperf-compat'
        assert compat.training_complete_errors() == (spec.TrainingCompleteError,)
        try:
            import algoperf.checkpoint_utils
        except ModuleNotFoundError as e:
            print('MISSING', e)
        assert 'jax' not in sys.modules, 'the layer imported JAX for a PyTorch sweep'
        from algoperf import jax_sharding_utils
        assert jax_sharding_utils.get_batch_dim_sharding() is not None
        print('OK')
    '''))
    assert proc.returncode == 0, proc.stderr
    assert 'OK' in proc.stdout
    assert ("MISSING No module named 'algoperf.checkpoint_utils': this project's AlgoPerf layer "
            'provides algoperf.spec, algoperf.pytorch_utils') in proc.stdout
    assert 'pip install algoperf' in proc.stdout


def test_an_installed_algoperf_is_never_shadowed(tmp_path):
    package = tmp_path / 'algoperf'
    package.mkdir()
    (package / '__init__.py').write_text("__version__ = '9.9.test'\n")
    (package / 'spec.py').write_text('class TrainingCompleteError(Exception):\n    pass\n')
    env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')
    proc = run_python(textwrap.dedent('''
        from algorithmic_efficiency import compat, spec
        assert compat.prepare('pytorch') is False
        import algoperf.spec
        assert algoperf.__version__ == '9.9.test', algoperf.__file__
        print(compat.submission_api())
        errors = compat.training_complete_errors()
        assert errors == (spec.TrainingCompleteError, algoperf.spec.TrainingCompleteError)
    '''), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'algoperf 9.9.test'


# --- random_utils.
def test_random_utils_numpy_and_jax():
    random_utils.set_framework('pytorch')
    try:
        key = random_utils.PRNGKey(7)
        assert key.dtype == np.uint32 and key.shape == (2,)
        parts = random_utils.split(key, 3)
        assert parts.shape == (3, 2) and len({tuple(p) for p in parts.tolist()}) == 3
        assert np.array_equal(random_utils.split(key, 3), parts)  # deterministic
        folded = random_utils.fold_in(key, 5)
        assert folded[1] == 5 and folded[0] < random_utils.MAX_UINT32
        assert np.array_equal(random_utils.PRNGKey(-7 % random_utils.MAX_UINT32),
                              random_utils.PRNGKey(-7))
        random_utils.set_framework('jax')
        import jax

        assert np.array_equal(random_utils.PRNGKey(7), jax.random.PRNGKey(7))
        assert np.array_equal(random_utils.fold_in(jax.random.PRNGKey(7), 3),
                              jax.random.fold_in(jax.random.PRNGKey(7), 3))
        assert random_utils.split(jax.random.PRNGKey(7), 4).shape == (4, 2)
    finally:
        random_utils.set_framework(None)


# --- jax_sharding_utils.
def test_sharding_utils_place_arrays():
    import jax

    from algorithmic_efficiency.compat.algoperf import jax_sharding_utils as shu

    replicated, batch = shu.get_replicate_sharding(), shu.get_batch_dim_sharding()
    assert replicated is shu.get_replicate_sharding()  # built once
    assert replicated.spec == jax.sharding.PartitionSpec()
    assert batch.spec == jax.sharding.PartitionSpec('batch')
    tree = {'x': np.arange(8.0).reshape(4, 2)}
    sharded = shu.shard_along_batch_dim(tree)
    assert sharded['x'].sharding == batch
    assert np.array_equal(np.asarray(shu.replicate(tree)['x']), tree['x'])


# --- pmap detection.
def test_pmap_submissions_are_detected_from_the_source():
    with open(os.path.join(SUBMISSIONS, 'jax_pmap.py'), encoding='utf-8') as f:
        line = checks.find_pmap(f.read())
    assert line is not None and line > 1
    assert checks.find_pmap('from jax import pmap\n') == 1
    # Words in comments and strings are not uses.
    assert checks.find_pmap('# no jax.pmap here\nx = "jax.pmap"\n') is None
    for name in ('jax_nadamw.py', 'pytorch_nadamw.py', 'mnist_pytorch_adam.py'):
        with open(os.path.join(SUBMISSIONS, name), encoding='utf-8') as f:
            assert checks.find_pmap(f.read()) is None, name
    message = checks.pmap_message('s.py', 30)
    assert '\n' not in message and 'line 30' in message and 'jax.jit' in message


# --- metrics_logger.
def test_submission_metrics_logger_writes_rows(tmp_path):
    import torch

    logger = SubmissionMetricsLogger(str(tmp_path))
    logger.append_scalar_metrics({'loss': 0.5}, 0)
    assert not (tmp_path / 'submission').exists()  # no TensorBoard unless asked
    logger.append_scalar_metrics({'loss': torch.tensor(0.25), 'grad_norm': np.float32(2.0)}, 10,
                                 preemption_count=0, is_eval=False)
    with pytest.raises(TypeError, match="'w' must be one number, got an array of shape \\(3,\\)"):
        logger.append_scalar_metrics({'w': np.zeros(3)}, 11)
    with pytest.raises(TypeError, match="'x' must be a number"):
        logger.append_scalar_metrics({'x': [1]}, 11)
    logger.close()
    frame = csv_io.read_metrics_csv(tmp_path / 'submission_metrics.csv')
    assert list(frame.columns) == ['global_step', 'wall_time', 'loss', 'grad_norm']
    assert frame['global_step'].tolist() == [0, 10]
    assert frame['loss'].tolist() == [0.5, 0.25]
    assert np.isnan(frame['grad_norm'][0]) and frame['grad_norm'][1] == 2.0


def test_submission_metrics_logger_tensorboard(tmp_path):
    from tensorboard.backend.event_processing import event_accumulator

    logger = SubmissionMetricsLogger(str(tmp_path), tensorboard=True)
    for step in (0, 5, 10):
        logger.append_scalar_metrics({'loss': 1.0 / (step + 1), 'note': 'text'}, step)
    logger.close()
    acc = event_accumulator.EventAccumulator(str(tmp_path / 'submission'))
    acc.Reload()
    assert acc.Tags()['scalars'] == ['loss']
    values = [(e.step, round(e.value, 4)) for e in acc.Scalars('loss')]
    assert values == [(0, 1.0), (5, round(1 / 6, 4)), (10, round(1 / 11, 4))]


# --- List-format search spaces: the peer's files as they are.
def test_list_space_accepts_duplicate_keys_in_a_point_last_wins(tmp_path, caplog):
    # The peer's NAdamW tuning_search_space.json sets label_smoothing twice in one
    # point; json.load (the peer's runner) keeps the last value, and so do we, with a warning.
    path = tmp_path / 'tuning_search_space.json'
    path.write_text('[{"learning_rate": 0.1, "label_smoothing": 0.1, "label_smoothing": 0.2},'
                    ' {"learning_rate": 0.2, "label_smoothing": 0.0}]')
    with caplog.at_level('WARNING'):
        space = spaces.load_search_space(path)
    assert space.fixed_trials[0] == {'learning_rate': 0.1, 'label_smoothing': 0.2}
    assert "trial 0 sets 'label_smoothing' twice" in caplog.text and 'using 0.2' in caplog.text


def test_dict_space_still_rejects_duplicate_keys(tmp_path):
    path = tmp_path / 'space.json'
    path.write_text('{"lr": {"min": 0, "max": 1}, "lr": {"min": 0, "max": 2}}')
    with pytest.raises(spaces.SearchSpaceError, match="duplicate key 'lr'"):
        spaces.load_search_space(path)


def test_the_test_search_spaces_are_lists():
    for name, size in (('nadamw_search_space.json', 2), ('adam_search_space.json', 2)):
        space = spaces.load_search_space(os.path.join(SUBMISSIONS, name))
        assert space.is_fixed and len(space.fixed_trials) == size
        with open(os.path.join(SUBMISSIONS, name), encoding='utf-8') as f:
            assert [dict(t) for t in space.fixed_trials] == json.load(f)
