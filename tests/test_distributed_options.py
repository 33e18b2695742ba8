"""The Ray flags and node naming: pure functions, no Ray started."""

import dataclasses

import pytest

from algorithmic_efficiency import sweep
from algorithmic_efficiency.distributed import cluster, options


def test_trial_resources_parse():
    assert options.parse_trial_resources('cpu=1,gpu=1') == {'cpu': 1.0, 'gpu': 1.0}
    assert options.parse_trial_resources(' CPU=2 , gpu=0.5 ') == {'cpu': 2.0, 'gpu': 0.5}
    assert options.parse_trial_resources('') is None
    assert options.parse_trial_resources(None) is None


@pytest.mark.parametrize(
    'text, message',
    [
        ('cpus=1', "item 'cpus=1' is not cpu=N or gpu=N"),
        ('cpu', "item 'cpu' is not cpu=N or gpu=N"),
        ('cpu=x', "cpu='x' is not a non-negative number"),
        ('gpu=-1', "gpu='-1' is not a non-negative number"),
        ('cpu=1,cpu=2', "gives 'cpu' twice"),
        ('cpu=1.5', 'above 1 it must be a whole number'),
        ('cpu=0', 'asks for nothing'),
    ],
)
def test_trial_resources_refused_with_one_line(text, message):
    with pytest.raises(ValueError, match=message) as e:
        options.parse_trial_resources(text)
    assert '\n' not in str(e.value)


def test_check_options_without_address_is_in_process():
    assert options.check_options(None) is None
    with pytest.raises(ValueError, match='--trial_resources needs --ray_address'):
        options.check_options(None, trial_resources='cpu=1')
    with pytest.raises(ValueError, match='--ray_storage needs --ray_address'):
        options.check_options('', storage='driver')


def test_check_options_values():
    got = options.check_options('10.0.0.5:6379', 'driver', 'gpu=1', 4, 2)
    assert got == options.RayOptions('10.0.0.5:6379', 'driver', {'gpu': 1.0}, 4, 2)
    assert options.check_options('local').storage == 'shared'
    for address, message in [
        ('somewhere', "'somewhere' is not local, auto or HOST:PORT"),
        ('ray://head:10001', 'Ray Client'),
    ]:
        with pytest.raises(ValueError, match=message):
            options.check_options(address)
    with pytest.raises(ValueError, match="--ray_storage 'nfs' is not one of shared, driver"):
        options.check_options('auto', storage='nfs')
    with pytest.raises(ValueError, match='--max_concurrent_trials must be at least 1, got 0'):
        options.check_options('auto', max_concurrent_trials=0)
    with pytest.raises(ValueError, match='--trial_retries must be 0 or more, got -1'):
        options.check_options('auto', trial_retries=-1)


def test_default_resources_and_concurrency():
    # CPU only: the CPUs shared evenly among the trials that can run at once.
    assert options.default_resources(2, 0, num_trials=4, max_concurrent=None) == {'cpu': 1.0}
    assert options.default_resources(64, 0, num_trials=5, max_concurrent=None) == {'cpu': 12.0}
    assert options.default_resources(64, 0, num_trials=5, max_concurrent=2) == {'cpu': 32.0}
    assert options.default_resources(1, 0, num_trials=3, max_concurrent=None) == {'cpu': 1.0}
    # GPUs: one per trial, and that GPU's share of the CPUs.
    assert options.default_resources(32, 8, 20, None) == {'cpu': 4.0, 'gpu': 1.0}
    assert options.concurrency({'cpu': 1.0}, 2, 0, num_trials=4, max_concurrent=None) == 2
    assert options.concurrency({'cpu': 1.0}, 2, 0, num_trials=1, max_concurrent=None) == 1
    assert options.concurrency({'cpu': 4.0, 'gpu': 1.0}, 32, 8, 20, None) == 8
    assert options.concurrency({'cpu': 4.0, 'gpu': 1.0}, 32, 8, 20, 3) == 3
    assert options.concurrency({'gpu': 0.5}, 8, 2, 20, None) == 4  # cpu=1 each by default
    assert options.trials_that_fit({'gpu': 1.0}, 8, 0) == 0
    assert options.ray_resources({'gpu': 1.0}) == {'num_cpus': 1.0, 'num_gpus': 1.0}


def test_anonymous_node_id_is_stable_and_reveals_nothing():
    raw = '9dbb9efd3023c03983c82c206b820d53c582c14fd7025ac8928036ee'
    node = cluster.anonymous_node_id(raw)
    assert node == cluster.anonymous_node_id(raw)
    assert node.startswith('node-') and len(node) == 15
    assert node[5:] not in raw
    assert cluster.anonymous_node_id(raw[:-1] + 'f') != node


def test_without_ray_the_error_names_the_install_command(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == 'ray' or name.startswith('ray.'):
            raise ModuleNotFoundError("No module named 'ray'", name='ray')
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_ray)
    expected = (
        "--ray_address needs the 'ray' package (ray is missing); install it with: "
        "pip install -c constraints.txt -e '.[ray]'"
    )
    with pytest.raises(ValueError) as e:
        cluster.import_ray()
    assert str(e.value) == expected
    # The runner checks it with the other inputs, before anything starts or is written.
    config = sweep.RunConfig(
        workload='mnist_jax',
        submission_path='baselines/mnist/mnist_jax/submission.py',
        tuning_search_space='baselines/mnist/tuning_search_space.json',
        ray_address='local',
    )
    with pytest.raises(ValueError) as e:
        sweep.check_config(config)
    assert str(e.value) == expected
    # Without --ray_address, a Ray flag is refused the same way (one line).
    with pytest.raises(ValueError, match='--trial_resources needs --ray_address'):
        sweep.check_config(dataclasses.replace(config, ray_address=None, trial_resources='cpu=1'))
