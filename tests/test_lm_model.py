"""The transformer: one NumPy initialisation, the same network in flax and PyTorch; its
parameter and FLOP counts; causality; the per-token loss; first evals that agree."""

import numpy as np
import pytest

from algorithmic_efficiency.workloads.lm import config, init

SMALL = config.LmConfig(vocab_size=97, seq_len=16, num_layers=2, model_dim=32, num_heads=4,
                        mlp_dim=48)


def _jax_logits(cfg, params, tokens):
    from algorithmic_efficiency.workloads.lm.lm_jax import models

    return np.asarray(models.Transformer(cfg).apply({'params': models.to_jax(params)}, tokens))


def _torch_model(cfg, params):
    import torch

    from algorithmic_efficiency.workloads.lm.lm_pytorch import models

    m = models.Transformer(cfg)
    state = init.torch_state_dict(params, cfg.num_layers)
    m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    return m


def _torch_logits(cfg, params, tokens):
    import torch

    with torch.no_grad():
        return _torch_model(cfg, params)(torch.from_numpy(tokens).long()).numpy()


def test_counts_match_the_models_and_the_formula():
    params = init.init_params(SMALL, 0)
    n = sum(a.size for a in __import__('jax').tree_util.tree_leaves(params))
    assert n == SMALL.num_params()
    assert sum(p.numel() for p in _torch_model(SMALL, params).parameters()) == n
    d, f, v, layers, s = 32, 48, 97, 2, 16
    assert SMALL.num_matmul_params() == layers * (4 * d * d + 3 * d * f) + v * d
    assert SMALL.flops_per_token() == 6 * SMALL.num_matmul_params() + 12 * layers * s * d
    assert SMALL.flops_per_step(8) == SMALL.flops_per_token() * 8 * s
    # The peer's size: 252.8M parameters, 51.5M of them the tied embedding.
    per_layer = 4 * 1024**2 + 3 * 1024 * 4096 + 2 * 1024 + 1
    assert config.FINEWEBEDU.num_params() == 12 * per_layer + 50257 * 1024 + 1024


def test_flax_tree_is_the_numpy_tree():
    import jax

    from algorithmic_efficiency.workloads.lm.lm_jax import models

    tokens = np.zeros((1, SMALL.seq_len), np.int32)
    shapes = jax.eval_shape(models.Transformer(SMALL).init, jax.random.PRNGKey(0), tokens)
    params = init.init_params(SMALL, 0)
    assert jax.tree_util.tree_structure(shapes['params']) == jax.tree_util.tree_structure(params)
    for a, b in zip(jax.tree_util.tree_leaves(shapes['params']),
                    jax.tree_util.tree_leaves(params), strict=True):
        assert a.shape == b.shape


def test_same_logits_in_both_frameworks_and_causal():
    params = init.init_params(SMALL, 7)
    tokens = np.random.default_rng(1).integers(0, SMALL.vocab_size, (3, SMALL.seq_len))
    tokens = tokens.astype(np.int32)
    lj, lt = _jax_logits(SMALL, params, tokens), _torch_logits(SMALL, params, tokens)
    assert lj.shape == (3, SMALL.seq_len, SMALL.vocab_size)
    np.testing.assert_allclose(lj, lt, atol=2e-5)
    assert np.abs(lj).max() > 1e-3  # not all zero
    changed = tokens.copy()
    changed[:, 10:] = (changed[:, 10:] + 1) % SMALL.vocab_size
    for fn in (_jax_logits, _torch_logits):
        out = fn(SMALL, params, changed)
        # The past ignores the future.
        np.testing.assert_allclose(out[:, :10], lj[:, :10], atol=2e-5)
        assert np.abs(out[:, 10:] - lj[:, 10:]).max() > 1e-4


def test_initialisation_follows_the_seed_and_the_stds():
    a, b = init.init_params(SMALL, 3), init.init_params(SMALL, 3)
    np.testing.assert_array_equal(a['embed']['embedding'], b['embed']['embedding'])
    other = init.init_params(SMALL, 4)
    assert not np.array_equal(a['embed']['embedding'], other['embed']['embedding'])
    big = config.TINY
    p = init.init_params(big, 0)
    assert p['embed']['embedding'].std() == pytest.approx(0.02, rel=0.05)
    down = p['block_0']['mlp']['down']['kernel']
    assert down.std() == pytest.approx(0.02 / np.sqrt(8), rel=0.05)
    assert float(p['block_0']['attn']['attn_scale']) == pytest.approx(np.log2(128**2 - 128))


def test_rope_rotates_pairs_and_keeps_norms():
    cos, sin = init.rope_tables(SMALL)
    assert cos.shape == (SMALL.seq_len, SMALL.head_dim // 2)
    np.testing.assert_allclose(cos**2 + sin**2, 1.0, atol=1e-6)
    np.testing.assert_array_equal(cos[0], 1.0)  # position 0 is not turned


@pytest.mark.parametrize('smoothing', [0.0, 0.1])
def test_per_token_loss_agrees_across_frameworks(smoothing):
    import jax.numpy as jnp
    import torch

    from algorithmic_efficiency.workloads.lm.lm_jax import workload as jw
    from algorithmic_efficiency.workloads.lm.lm_pytorch import workload as tw

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 11)).astype(np.float32)
    labels = rng.integers(0, 11, (2, 5))
    mask = np.ones((2, 5), np.float32)
    mask[1, 3:] = 0
    j = jw.softmax_cross_entropy(jnp.asarray(labels), jnp.asarray(logits), jnp.asarray(mask),
                                 smoothing)
    t = tw.softmax_cross_entropy(torch.from_numpy(labels), torch.from_numpy(logits),
                                 torch.from_numpy(mask), smoothing)
    assert float(j['summed']) == pytest.approx(float(t['summed']), rel=1e-5)
    assert float(j['n_valid_examples']) == float(t['n_valid_examples']) == 8
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -np.take_along_axis(logp, labels[..., None], -1)[..., 0]
    expected = (1 - smoothing) * ce - smoothing * logp.mean(-1)
    assert float(j['summed']) == pytest.approx(float((expected * mask).sum()), rel=1e-5)
    unmasked = jw.softmax_cross_entropy(jnp.asarray(labels), jnp.asarray(logits), None, smoothing)
    assert float(unmasked['n_valid_examples']) == 10


def test_first_eval_agrees_across_frameworks():
    """Both tiny workloads from one seed: the same eval on the offline corpus, to 1e-4."""
    import jax

    from algorithmic_efficiency.workloads.lm.lm_jax.workload import TinyLmWorkload as J
    from algorithmic_efficiency.workloads.lm.lm_pytorch.workload import TinyLmWorkload as T

    results = []
    for cls in (J, T):
        w = cls()
        w.max_eval_windows, w.max_eval_train_windows = 24, 8  # a short eval for the test
        w.prepare_data(None)
        rng = w.rng_from_seed(5)
        params, state = w.init_model_fn(rng)
        results.append(w.eval_model(params, state, None))
        assert w.compute_dtype() == 'float32'
        assert w.num_eval_examples == 24 and w.num_eval_train_examples == 8
    del jax
    j, t = results
    assert set(j) == {'accuracy', 'loss', 'ppl', 'train.accuracy', 'train.loss', 'train.ppl'}
    for key in j:
        assert j[key] == pytest.approx(t[key], rel=1e-4), key
    assert j['loss'] == pytest.approx(np.log(256), rel=0.1)  # untrained: about uniform
    assert j['ppl'] == pytest.approx(np.exp(j['loss']))
