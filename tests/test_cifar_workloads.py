"""CIFAR-10 ResNet-18 workloads in JAX and PyTorch: same network, batch-norm state, eval, baselines.

Most tests build the model at width 8 (the test-only constructor argument) on
100 train / 20 test images: the real ResNet-18 takes seconds per step on this
CPU. The end-to-end tests (tests/test_cifar_runner.py) run the real one.
"""

import importlib.util
import math
import os

import numpy as np
import pytest
from cifar_files import write_python_version

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads import registry
from algorithmic_efficiency.workloads.cifar import resnet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTH = 8
TRAIN = spec.ForwardPassMode.TRAIN
EVAL = spec.ForwardPassMode.EVAL


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    write_python_version(root, 100, 20, seed=1)
    return str(root)


def make(fw, data_dir, width=WIDTH):
    cls = type(registry.load_workload(f'cifar10_{fw}', fw))
    w = cls(width=width)
    w.prepare_data(data_dir)
    return w


@pytest.fixture(scope='module')
def workloads(data_dir):
    return {fw: make(fw, data_dir) for fw in registry.FRAMEWORKS}


def numpy_batch(w, size=8, seed=0):
    return next(w.numpy_train_batches(seed, None, size))


def to_framework(fw, batch):
    if fw == 'jax':
        return batch
    import torch

    return {
        'inputs': torch.from_numpy(batch['inputs']).permute(0, 3, 1, 2),
        'targets': torch.from_numpy(batch['targets']).long(),
    }


def as_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)


def state_arrays(fw, state):
    """Batch-norm running statistics as {flax path: array}, whichever the framework."""
    if fw == 'pytorch':
        return {
            k.replace('running_mean', 'mean').replace('running_var', 'var'): as_numpy(v).copy()
            for k, v in state.items()
        }
    out = {}
    for module, stats in state['batch_stats'].items():
        if 'mean' in stats:
            out.update({f'{module}.{k}': np.asarray(v).copy() for k, v in stats.items()})
        else:
            for sub, s in stats.items():
                out.update({f'{module}.{sub}.{k}': np.asarray(v).copy() for k, v in s.items()})
    return out


def test_registry_and_properties(workloads):
    assert registry.check_workload('cifar10_jax', 'jax').framework == 'jax'
    with pytest.raises(ValueError, match="'cifar10_jax' is a jax workload but --framework=pytorch"):
        registry.check_workload('cifar10_jax', 'pytorch')
    for fw, w in workloads.items():
        props = w.properties()
        assert props['workload.target_value'] == 0.85
        assert props['workload.target_metric_name'] == 'accuracy'
        assert props['workload.target_split'] == 'validation'
        assert props['workload.max_allowed_runtime_sec'] == 3600
        assert props['workload.eval_period_time_sec'] == 600
        assert props['workload.step_hint'] == 4883
        assert props['workload.train_mean'] == (0.49139968, 0.48215827, 0.44653124)
        assert props['workload.train_stddev'] == (0.24703233, 0.24348505, 0.26158768)
        # Splits of the data actually loaded: the last tenth of train is validation.
        assert props['workload.num_train_examples'] == 90
        assert props['workload.num_eval_examples'] == 10
        assert props['workload.num_eval_train_examples'] == 10
        assert props['workload.num_test_examples'] == 20
        assert w.loss_type == spec.LossType.SOFTMAX_CROSS_ENTROPY, fw
    # Before any data: AlgoPerf's split sizes.
    fresh = type(w)(width=WIDTH)
    assert (fresh.num_train_examples, fresh.num_eval_examples, fresh.num_test_examples) == (
        45000,
        5000,
        10000,
    )


def test_real_model_is_resnet18(data_dir):
    w = type(registry.load_workload('cifar10_pytorch', 'pytorch'))()
    assert w.width == 64
    params, _ = w.init_model_fn(0)
    assert sum(p.numel() for p in params.parameters()) == 11_173_962  # CIFAR ResNet-18
    assert resnet.num_parameters(resnet.init_variables(0)[0]) == 11_173_962


def test_splits_hold_the_right_images(workloads, data_dir):
    from algorithmic_efficiency.workloads.cifar.data import load_cifar10

    d = load_cifar10(data_dir)
    arrays = workloads['jax'].eval_arrays
    assert {k: v['inputs'].shape for k, v in arrays.items()} == {
        s: (1, 20, 32, 32, 3) for s in ('train', 'validation', 'test')
    }  # one batch size for all splits (the largest split, at most 256), zero-padded
    val = arrays['validation']
    np.testing.assert_array_equal(val['inputs'][0, :10], d.train_images[90:])
    assert val['weights'].tolist() == [[1.0] * 10 + [0.0] * 10]
    assert not val['inputs'][0, 10:].any()
    np.testing.assert_array_equal(arrays['test']['inputs'][0], d.test_images)
    # The train subset: 10 distinct images of the 90 training ones, the same every time.
    subset = arrays['train']['inputs'][0, :10]
    train = d.train_images[:90].reshape(90, -1)
    rows = [int(np.flatnonzero((train == x.reshape(-1)).all(axis=1))[0]) for x in subset]
    assert len(set(rows)) == 10 and max(rows) < 90
    assert rows == sorted(rows)


def test_same_seed_same_network_in_both_frameworks(workloads):
    batch = numpy_batch(workloads['jax'])
    out = {}
    for fw, w in workloads.items():
        params, state = w.init_model_fn(w.rng_from_seed(11))
        train_logits, _ = w.model_fn(params, to_framework(fw, batch), state, TRAIN, None, False)
        eval_logits, _ = w.model_fn(params, to_framework(fw, batch), state, EVAL, None, False)
        out[fw] = (as_numpy(train_logits), as_numpy(eval_logits), w.eval_model(params, state, None))
    for i in (0, 1):
        scale = np.abs(out['jax'][i]).max()
        assert scale > 0
        np.testing.assert_allclose(out['jax'][i], out['pytorch'][i], atol=1e-4 * scale)
    jax_eval, torch_eval = out['jax'][2], out['pytorch'][2]
    assert set(jax_eval) == {
        'accuracy', 'loss', 'train.accuracy', 'train.loss', 'test.accuracy', 'test.loss'
    }  # fmt: skip
    for key, value in jax_eval.items():
        assert value == pytest.approx(torch_eval[key], rel=1e-5, abs=1e-6), key
    # Another seed is another network.
    w = workloads['jax']
    params, state = w.init_model_fn(w.rng_from_seed(12))
    other, _ = w.model_fn(params, batch, state, TRAIN, None, False)
    assert not np.allclose(as_numpy(other), out['jax'][0], atol=1e-3 * scale)


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
def test_batch_norm_state_moves_only_when_training_with_update(workloads, fw):
    w = workloads[fw]
    params, state = w.init_model_fn(w.rng_from_seed(3))
    batch = to_framework(fw, numpy_batch(w))
    initial = state_arrays(fw, state)
    assert all((v == 0).all() for k, v in initial.items() if k.endswith('mean'))

    _, same = w.model_fn(params, batch, state, TRAIN, None, False)  # batch stats, no update
    _, same = w.model_fn(params, batch, same, EVAL, None, False)
    w.eval_model(params, same, None)
    for k, v in state_arrays(fw, same).items():
        np.testing.assert_array_equal(v, initial[k], err_msg=k)
    with pytest.raises(ValueError, match='never updated in eval'):
        w.model_fn(params, batch, state, EVAL, None, True)

    _, moved = w.model_fn(params, batch, same, TRAIN, None, True)
    after = state_arrays(fw, moved)
    assert after.keys() == initial.keys()
    # Every statistic moved by (1 - 0.9) of the way towards the batch's.
    assert all(not np.array_equal(after[k], initial[k]) for k in after)
    stem_mean = after['BatchNorm_init.mean']
    assert np.abs(stem_mean).max() > 0 and np.isfinite(stem_mean).all()
    # Eval reads it and changes nothing.
    w.eval_model(params, moved, None)
    for k, v in state_arrays(fw, moved).items():
        np.testing.assert_array_equal(v, after[k], err_msg=k)


def test_pytorch_state_passed_in_is_the_state_used(workloads):
    import torch

    w = workloads['pytorch']
    params, state = w.init_model_fn(4)
    saved = {k: v.clone() for k, v in state.items()}
    batch = to_framework('pytorch', numpy_batch(w))
    before = w.eval_model(params, state, None)
    _, state = w.model_fn(params, batch, state, TRAIN, None, True)
    assert w.eval_model(params, state, None)['loss'] != pytest.approx(before['loss'], rel=1e-7)
    # Handing back the saved statistics restores them in the module (and its eval).
    assert w.eval_model(params, saved, None) == before
    assert all(torch.equal(buf, saved[k]) for k, buf in state.items())
    with pytest.raises(ValueError, match='model_state does not match this model'):
        w.model_fn(params, batch, {'x': torch.zeros(1)}, TRAIN, None, True)


def test_eval_masks_padding_and_normalises_like_training(workloads):
    import torch

    w = workloads['pytorch']
    params, state = w.init_model_fn(5)
    _, state = w.model_fn(params, to_framework('pytorch', numpy_batch(w)), state, TRAIN, None, True)
    got = w.eval_model(params, state, None)
    arrays = w.eval_arrays['validation']
    n = int(arrays['weights'].sum())
    scale, offset = w.normalisation
    x = (arrays['inputs'][0, :n].astype(np.float64) / 255 - np.array(w.train_mean)) / np.array(
        w.train_stddev
    )
    with torch.no_grad():
        params.eval()
        logits = params(torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2)).double()
    labels = torch.from_numpy(arrays['targets'][0, :n]).long()
    ref_loss = torch.nn.functional.cross_entropy(logits, labels).item()
    ref_acc = (logits.argmax(1) == labels).double().mean().item()
    assert got['loss'] == pytest.approx(ref_loss, rel=1e-5)
    assert got['accuracy'] == pytest.approx(ref_acc)


def test_jax_eval_compiles_once_for_all_splits(workloads):
    w = workloads['jax']
    params, state = w.init_model_fn(w.rng_from_seed(0))
    w.eval_model(params, state, None)
    size = w._eval_batch._cache_size()
    for seed in (1, 2):
        p, s = w.init_model_fn(w.rng_from_seed(seed))
        w.eval_model(p, s, None)
    assert w._eval_batch._cache_size() == size


@pytest.mark.parametrize('fw', registry.FRAMEWORKS)
def test_input_queue(workloads, fw):
    w = workloads[fw]
    queue = w.build_input_queue(7, 'train', None, 16)
    b = next(queue)
    if fw == 'jax':
        assert isinstance(b['inputs'], np.ndarray) and b['inputs'].shape == (16, 32, 32, 3)
    else:
        import torch

        assert b['inputs'].shape == (16, 3, 32, 32)
        assert b['inputs'].is_contiguous(memory_format=torch.channels_last)
        assert b['targets'].dtype == torch.int64
    assert as_numpy(b['inputs']).dtype == np.float32
    # The same batches as the NumPy stream of the same seed, framework or not.
    expected = numpy_batch(w, 16, seed=7)
    np.testing.assert_array_equal(as_numpy(b['targets']), expected['targets'])
    with pytest.raises(ValueError, match="'train' split"):
        next(iter(w.build_input_queue(0, 'test', None, 8)))


# ---------------------------------------------------------------------------
# The baselines
# ---------------------------------------------------------------------------


def load_baseline(fw):
    path = os.path.join(ROOT, f'baselines/cifar/cifar_{fw}/submission.py')
    module_spec = importlib.util.spec_from_file_location(f'cifar_baseline_{fw}', path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def test_baseline_schedules_are_one_formula(workloads):
    jax_b, torch_b = load_baseline('jax'), load_baseline('pytorch')
    assert jax_b.DEFAULTS == torch_b.DEFAULTS and jax_b.BATCH_SIZE == torch_b.BATCH_SIZE == 128
    total = torch_b.schedule_steps(workloads['pytorch'])
    assert total == jax_b.schedule_steps(workloads['jax']) == math.ceil(4883 * 1024 / 128)
    warmup = torch_b.warmup_steps({'warmup_fraction': 0.05}, total)
    assert warmup == round(0.05 * total)
    middle = warmup + (total - warmup) // 2
    steps = [0, 1, warmup // 2, warmup - 1, warmup, warmup + 1, middle, total - 1, total, 10**6]
    torch_lr = [torch_b.learning_rate(s, 0.3, warmup, total) for s in steps]
    jax_lr = [float(jax_b.learning_rate(s, 0.3, warmup, total)) for s in steps]
    np.testing.assert_allclose(jax_lr, torch_lr, rtol=1e-5, atol=1e-7)
    assert torch_lr[0] == pytest.approx(0.3 / warmup) and torch_lr[3] == pytest.approx(0.3)
    assert torch_lr[4] == pytest.approx(0.3) and torch_lr[6] == pytest.approx(0.15, rel=1e-3)
    assert torch_lr[-2:] == [0.0, 0.0]
    assert all(a >= b for a, b in zip(torch_lr[4:], torch_lr[5:], strict=False))


def test_baselines_take_the_same_steps(workloads):
    """Non-default hyperparameters, two steps each: the same weights and statistics after."""
    hp = {
        'learning_rate': 0.4,
        'one_minus_momentum': 0.3,
        'weight_decay': 0.05,
        'warmup_fraction': 0.0001,
    }
    batches = [numpy_batch(workloads['jax'], 8, seed) for seed in (0, 1)]
    out = {}
    moved = {}

    def dense_and_conv(fw, params):
        if fw == 'jax':
            dense = np.array(params['Dense_0']['kernel'])
            conv = np.array(params['ResNetBlock_3']['Conv_1']['kernel']).transpose(3, 2, 0, 1)
            return dense, conv
        return as_numpy(params.Dense_0.weight).T.copy(), as_numpy(
            params.ResNetBlock_3.Conv_1.weight
        )

    for fw, w in workloads.items():
        baseline = load_baseline(fw)
        params, state = w.init_model_fn(w.rng_from_seed(21))
        initial = dense_and_conv(fw, params)[0]
        opt = baseline.init_optimizer_state(w, params, state, hp, None)
        for step, batch in enumerate(batches):
            opt, params, state = baseline.update_params(
                w, params, None, state, hp, to_framework(fw, batch), w.loss_type, opt, [], step,
                w.rng_from_seed(0),
            )  # fmt: skip
        dense, conv = dense_and_conv(fw, params)
        moved[fw] = np.abs(dense - initial).max()
        out[fw] = (dense, conv, state_arrays(fw, state), w.eval_model(params, state, None))
    moved = moved['jax']
    assert moved > 1e-3  # the steps did something
    for i in (0, 1):
        np.testing.assert_allclose(out['jax'][i], out['pytorch'][i], atol=2e-3 * moved, rtol=0)
    for k, v in out['jax'][2].items():
        # PyTorch's running variance uses the unbiased batch variance (n / (n - 1)).
        np.testing.assert_allclose(v, out['pytorch'][2][k], rtol=2e-2, atol=1e-5, err_msg=k)
    assert out['jax'][3]['loss'] == pytest.approx(out['pytorch'][3]['loss'], rel=1e-3)
