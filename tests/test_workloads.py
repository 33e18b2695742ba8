"""MNIST workloads in both frameworks: same data, same initial network, same eval."""

import subprocess
import sys

import numpy as np
import pytest

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import registry
from algorithmic_efficiency.workloads.mnist import workload as mnist_base


@pytest.fixture(scope='module')
def workloads():
    out = {}
    for fw in registry.FRAMEWORKS:
        w = registry.load_workload(f'mnist_{fw}', fw)
        w.prepare_data(None)
        out[fw] = w
    return out


def test_registry_errors_name_the_choices():
    with pytest.raises(ValueError, match=r"Unknown workload 'mnist_jx'; known: cifar10_jax, "
                       r"cifar10_pytorch, finewebedu_lm_jax, finewebedu_lm_pytorch, lm_tiny_jax, "
                       r"lm_tiny_pytorch, mnist_jax, mnist_pytorch"):
        registry.check_workload('mnist_jx', 'jax')
    with pytest.raises(ValueError, match=r"'mnist_jax' is a jax workload but "
                       r"--framework=pytorch; pytorch workloads: cifar10_pytorch, "
                       r"finewebedu_lm_pytorch, lm_tiny_pytorch, mnist_pytorch"):
        registry.check_workload('mnist_jax', 'pytorch')
    with pytest.raises(ValueError, match=r"Unknown framework 'tf'; choose one of: jax, pytorch"):
        registry.check_workload('mnist_jax', 'tf')


@pytest.mark.parametrize('module, forbidden', [
    ('algorithmic_efficiency.workloads.mnist.mnist_jax.workload', 'torch'),
    ('algorithmic_efficiency.workloads.mnist.mnist_pytorch.workload', 'jax'),
    ('algorithmic_efficiency.workloads.registry', 'jax'),
    ('algorithmic_efficiency.workloads.registry', 'torch'),
    ('algorithmic_efficiency.recording.recorder', 'jax'),
    ('algorithmic_efficiency.recording.recorder', 'torch'),
])
def test_importing_one_framework_never_imports_the_other(module, forbidden):
    code = (f'import sys, {module}; '
            f'print(sorted(m for m in sys.modules if m == "{forbidden}" or '
            f'm.startswith("{forbidden}.")))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == '[]', f'{module} imported {out}'


def test_full_mnist_keeps_its_target(workloads):
    w = type(next(iter(workloads.values())))()  # nothing loaded yet: full MNIST's properties
    assert (w.target_value, w.eval_period_time_sec) == (0.97, 10)
    w._source = 'idx'
    assert (w.target_value, w.eval_period_time_sec) == (0.97, 10)
    w._source = 'embedded'
    assert (w.target_value, w.eval_period_time_sec) == (0.90, 2)


def test_properties_follow_the_data_actually_loaded(workloads):
    for w in workloads.values():
        assert w.num_train_examples == 4000 and w.num_eval_examples == 1000
        props = w.properties()
        # The embedded sample: its own target and eval period (README "MNIST data").
        assert props['workload.target_value'] == 0.90
        assert props['workload.max_allowed_runtime_sec'] == 60
        assert props['workload.eval_period_time_sec'] == 2
        assert props['workload.train_mean'] == 0.1307
        assert props['workload.train_stddev'] == 0.3081


def test_same_seed_same_network_in_both_frameworks(workloads):
    evals = {}
    for fw, w in workloads.items():
        params, state = w.init_model_fn(w.rng_from_seed(123))
        evals[fw] = w.eval_model(params, state, None)
    assert evals['jax']['loss'] == pytest.approx(evals['pytorch']['loss'], rel=1e-5)
    assert evals['jax']['accuracy'] == pytest.approx(evals['pytorch']['accuracy'], abs=1e-3)
    # A different seed is a different network.
    w = workloads['jax']
    other = w.eval_model(*w.init_model_fn(w.rng_from_seed(124)), None)
    assert other['loss'] != pytest.approx(evals['jax']['loss'], rel=1e-5)


def test_eval_masks_padding_and_matches_a_numpy_reference(workloads):
    w = workloads['pytorch']
    params, _ = w.init_model_fn(5)
    got = w.eval_model(params, None, None)
    p = mnist_base.init_mlp_params(5)
    data = w._data
    x = w.normalise(data.test_images).astype(np.float64)
    h = 1 / (1 + np.exp(-(x @ p['Dense_0']['kernel'] + p['Dense_0']['bias'])))
    logits = h @ p['Dense_1']['kernel'] + p['Dense_1']['bias']
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    ref_loss = -logp[np.arange(len(logits)), data.test_labels].mean()
    ref_acc = (logits.argmax(axis=1) == data.test_labels).mean()
    assert got['loss'] == pytest.approx(ref_loss, rel=1e-4)
    assert got['accuracy'] == pytest.approx(ref_acc)


def test_jax_eval_compiles_once(workloads):
    w = workloads['jax']
    params, _ = w.init_model_fn(w.rng_from_seed(0))
    w.eval_model(params, None, None)
    size = w._eval_sums._cache_size()
    for seed in (1, 2):
        w.eval_model(w.init_model_fn(w.rng_from_seed(seed))[0], None, None)
    assert w._eval_sums._cache_size() == size


def test_index_stream_reshuffles_every_epoch_and_drops_nothing():
    stream = mnist_base.index_stream(10, 4, seed=3)
    batches = [next(stream) for _ in range(10)]  # 40 indices = 4 epochs
    flat = np.concatenate(batches)
    epochs = flat.reshape(4, 10)
    for epoch in epochs:
        assert sorted(epoch) == list(range(10))  # each epoch is a permutation
    assert len({tuple(e) for e in epochs}) == 4  # and a fresh one each time
    # Deterministic for a seed, different for another.
    again = np.concatenate([next(s) for s in [mnist_base.index_stream(10, 4, 3)] * 10])
    assert (again == flat).all()
    other = np.concatenate([next(s) for s in [mnist_base.index_stream(10, 4, 4)] * 10])
    assert (other != flat).any()
    # A batch larger than the data set spans several epochs.
    big = next(mnist_base.index_stream(3, 7, 0))
    assert len(big) == 7 and set(big) == {0, 1, 2}


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
def test_input_queue_batches(workloads, fw):
    w = workloads[fw]
    q = w.build_input_queue(0, 'train', None, 1024)
    b = next(q)
    x, y = np.asarray(b['inputs']), np.asarray(b['targets'])
    assert x.shape == (1024, 784) and y.shape == (1024,)
    assert x.dtype == np.float32
    # Normalised with the MNIST mean/std: background pixels map to -mean/std.
    assert x.min() == pytest.approx(-0.1307 / 0.3081, rel=1e-5)
    assert set(np.unique(y)) <= set(range(10))
    with pytest.raises(ValueError, match="'train' split"):
        next(iter(w.build_input_queue(0, 'test', None, 8)))


def _expected_losses(logits, labels, smoothing):
    """Cross-entropy against label-smoothed one-hot targets, in NumPy."""
    logits = np.asarray(logits, np.float64)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.full(logits.shape, smoothing / 10)
    targets[np.arange(len(labels)), labels] += 1 - smoothing
    return -(targets * log_p).sum(-1)


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
@pytest.mark.parametrize('smoothing', [0.0, 0.2])
def test_loss_fn_returns_the_peers_dict(workloads, fw, smoothing):
    w = workloads[fw]
    logits = np.zeros((3, 10), np.float32)
    logits[:, 0] = [2.0, -1.0, 0.5]
    labels, mask = np.array([0, 2, 3]), np.array([1.0, 0.0, 1.0], np.float32)
    expected = _expected_losses(logits, labels, smoothing)
    if fw == 'pytorch':
        import torch
        as_fw = torch.tensor
    else:
        import jax.numpy as jnp
        as_fw = jnp.asarray
    out = w.loss_fn(as_fw(labels), as_fw(logits), label_smoothing=smoothing)
    assert set(out) == {'summed', 'n_valid_examples', 'per_example'}
    assert np.asarray(out['per_example']) == pytest.approx(expected, rel=1e-5)
    assert float(out['summed']) == pytest.approx(expected.sum(), rel=1e-5)
    assert float(out['n_valid_examples']) == 3
    masked = w.loss_fn(as_fw(labels), as_fw(logits), as_fw(mask), smoothing)
    assert np.asarray(masked['per_example']) == pytest.approx(expected * mask, rel=1e-5)
    assert float(masked['summed']) == pytest.approx((expected * mask).sum(), rel=1e-5)
    assert float(masked['n_valid_examples']) == 2
    assert w.loss_type == spec.LossType.SOFTMAX_CROSS_ENTROPY


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
def test_images_stay_uint8_and_each_batch_is_normalised(workloads, fw):
    w = workloads[fw]
    # No float copy of the data set: train and eval images are kept as uint8.
    assert w._train_x.dtype == np.uint8 and w.eval_arrays['inputs'].dtype == np.uint8
    batch = next(w.build_input_queue(7, 'train', None, 64))
    idx = next(mnist_base.index_stream(w.num_train_examples, 64, 7))
    ref = (w._train_x[idx].astype(np.float64) / 255 - 0.1307) / 0.3081
    np.testing.assert_allclose(np.asarray(batch['inputs']), ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(batch['targets']), w._train_y[idx])


def test_host_normalised_copy_only_for_small_sets(monkeypatch):
    from algorithmic_efficiency.workloads.mnist.mnist_pytorch.workload import MnistWorkload

    small = MnistWorkload()
    small.prepare_data(None)  # the sample: 12.5 MB as float32, kept normalised
    assert small._train_x_normalised.dtype == np.float32
    monkeypatch.setattr(mnist_base, 'MAX_NORMALISED_COPY_BYTES', 4000 * 784 * 4 - 1)
    large = MnistWorkload()
    large.prepare_data(None)  # a set over the limit: uint8 only, normalised per batch
    assert large._train_x_normalised is None
    # The same batches either way, to the bit.
    copied, per_batch = (w.numpy_train_batches(3, None, 100) for w in (small, large))
    for _ in range(3):
        a, b = next(copied), next(per_batch)
        np.testing.assert_array_equal(a['inputs'], b['inputs'])
        np.testing.assert_array_equal(a['targets'], b['targets'])


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
def test_param_shapes_types_and_step_hint(workloads, fw):
    w = workloads[fw]
    params, _ = w.init_model_fn(w.rng_from_seed(0))
    assert w.step_hint == 7813
    if fw == 'jax':
        import jax
        shapes = w.param_shapes
        # The parameters' own tree, ShapeTuple leaves: zeros shaped like the parameters.
        zeros = jax.tree.map(lambda s: np.zeros(s.shape_tuple), shapes)
        assert jax.tree.structure(zeros) == jax.tree.structure(params)
        assert shapes['params']['Dense_0']['kernel'] == spec.ShapeTuple((784, 128))
        types = w.model_params_types['params']
        assert types['Dense_1'] == {'kernel': spec.ParameterType.WEIGHT,
                                    'bias': spec.ParameterType.BIAS}
    else:
        assert w.param_shapes == {
            'net.0.weight': spec.ShapeTuple((128, 784)), 'net.0.bias': spec.ShapeTuple((128,)),
            'net.2.weight': spec.ShapeTuple((10, 128)), 'net.2.bias': spec.ShapeTuple((10,))}
        assert w.model_params_types['net.2.weight'] == spec.ParameterType.WEIGHT
        assert w.model_params_types['net.2.bias'] == spec.ParameterType.BIAS


def test_param_shapes_before_init_is_a_clear_error():
    from algorithmic_efficiency.workloads.mnist.mnist_pytorch.workload import MnistWorkload
    with pytest.raises(ValueError, match='set by init_model_fn'):
        _ = MnistWorkload().param_shapes


def test_model_fn_takes_dropout_rate_and_a_foreign_train_mode(workloads):
    """With the real algoperf installed, a submission passes *its* ForwardPassMode.TRAIN."""
    import enum

    import torch

    class ForeignMode(enum.Enum):  # another package's enum of the same name
        TRAIN = 0
        EVAL = 1

    w = workloads['pytorch']
    model, _ = w.init_model_fn(0)
    batch = {'inputs': torch.zeros(2, 784)}
    logits, _ = w.model_fn(model, batch, None, ForeignMode.TRAIN, 0, True, dropout_rate=0.1)
    assert logits.requires_grad and model.training
    logits, _ = w.model_fn(model, batch, None, ForeignMode.EVAL, 0, False)
    assert not logits.requires_grad and not model.training


def test_release_data_keeps_the_properties_and_reloads_on_demand():
    w = registry.load_workload('mnist_jax', 'jax')
    w.prepare_data(None)
    props = w.properties()
    params, _ = w.init_model_fn(w.rng_from_seed(0))
    first = w.eval_model(params, None, None)
    w.release_data()
    assert w._train_x is None and w._eval_device is None
    with pytest.raises(RuntimeError, match='prepare_data'):
        w.eval_arrays  # noqa: B018
    # The sample's own target and eval period, and its counts, outlive the arrays.
    assert w.properties() == props and w.is_sample
    next(w.build_input_queue(0, 'train', None, 8))  # a next study: loaded again
    assert w.eval_model(params, None, None) == first
