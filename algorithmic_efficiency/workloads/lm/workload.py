"""Language models, framework-free: sizes, targets, data, batches, eval splits, init.

The JAX and PyTorch workloads subclass :class:`BaseLmWorkload` (through
:class:`FinewebEduLm` or :class:`TinyLm`) and add only the model, the loss and
the eval loop, so both frameworks share the data, the windows, the shuffling
and the initial weights (NumPy, :mod:`.init`).

Two workloads, one architecture (:mod:`.config`):

* ``finewebedu_lm`` (the peer's): GPT-2 tokens of FineWeb-Edu under
  ``--data_dir``; target validation perplexity 22.432 within 31,967 s.
* ``lm_tiny`` (a CPU size): without ``--data_dir``, the offline byte-level
  corpus (:mod:`.corpus`) with its own calibrated target, flagged
  ``data.comparable_to_finewebedu = False``; with ``--data_dir``, the same real
  formats as ``finewebedu_lm`` (GPT-2 vocabulary).

Eval: the validation split (``loss``, ``ppl``, ``accuracy``: per token,
``ppl = exp(loss)``; the target is on ``ppl``, lower is better) and a fixed
subset of training windows (``train.loss``, ``train.ppl``, ``train.accuracy``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from algorithmic_efficiency import spec
from algorithmic_efficiency.workloads.lm import config as lm_config
from algorithmic_efficiency.workloads.lm import corpus, token_data
from algorithmic_efficiency.workloads.lm import init as lm_init
from algorithmic_efficiency.workloads.lm._shared import DataError, index_stream

TARGET_SPLIT = 'validation'
EVAL_SPLITS = ('validation', 'train')
Splits = dict[str, token_data.TokenSplit]
EVAL_TRAIN_SEED = 0  # which training windows form the train eval subset (the same every trial)
# Device copies of the eval windows are kept between evals up to this size; larger
# eval sets (FineWeb-Edu's 100,000 x 1,025 tokens) are read from disk per eval.
MAX_CACHED_EVAL_BYTES = 64 << 20


def metric_name(split: str, metric: str) -> str:
    """The column of ``metric`` on ``split``: plain for the target split, else ``split.metric``."""
    return metric if split == TARGET_SPLIT else f'{split}.{metric}'


class BaseLmWorkload(spec.Workload):
    """A decoder-only transformer language model on a token stream.

    Subclasses set the class attributes below.
    """

    name = ''  # the framework-free name (finewebedu_lm, lm_tiny)
    model_config: lm_config.LmConfig = lm_config.FINEWEBEDU
    eval_batch_size = 256
    max_eval_windows = 100_000  # validation windows evaluated (the peer's 100,000 sequences)
    max_eval_train_windows = 10_000  # train windows evaluated (the peer's eval_train)

    def __init__(self) -> None:
        self.cfg = self.model_config
        self._splits: dict[str, token_data.TokenSplit] | None = None
        self._source: str | None = None
        self._counts: tuple[int, int, int] | None = None  # (train, validation, train eval) windows
        self._eval_indices: dict[str, np.ndarray] | None = None

    # --- Properties.
    @property
    def target_metric_name(self) -> str:
        return 'ppl'

    def has_reached_goal(self, eval_result: dict[str, float]) -> bool:
        """Perplexity at or below the target (lower is better, as the peer's ``<=``)."""
        value = eval_result.get('ppl')
        return value is not None and math.isfinite(value) and value <= self.target_value

    @property
    def loss_type(self) -> spec.LossType:
        return spec.LossType.SOFTMAX_CROSS_ENTROPY

    @property
    def window(self) -> int:
        """Tokens per training window: ``seq_len + 1`` (inputs and shifted targets)."""
        return self.cfg.seq_len + 1

    @property
    def num_train_examples(self) -> int:
        """Training sequences (windows) in the data loaded; the peer's 8,749,870 before."""
        return 8_749_870 if self._counts is None else self._counts[0]

    @property
    def num_eval_examples(self) -> int:
        return 100_000 if self._counts is None else self._counts[1]

    @property
    def num_eval_train_examples(self) -> int:
        return 10_000 if self._counts is None else self._counts[2]

    @property
    def train_mean(self) -> float:
        return 0.0  # token ids are not normalised

    @property
    def train_stddev(self) -> float:
        return 1.0

    @property
    def is_offline_corpus(self) -> bool:
        return self._source == corpus.SOURCE

    @property
    def tokens_per_example(self) -> int:
        """Tokens per training sequence (``throughput.tokens_per_sec``)."""
        return self.cfg.seq_len

    def model_flops_per_step(self, batch_size: int) -> int:
        """Analytic training FLOPs of a step (``throughput.model_flops_per_step``)."""
        return self.cfg.flops_per_step(batch_size)

    def compute_dtype(self) -> str:
        """``'bfloat16'`` on a GPU, ``'float32'`` on the CPU (set by the framework subclass)."""
        return 'float32'

    def properties(self) -> dict[str, Any]:
        c = self.cfg
        return {
            **super().properties(),
            'workload.target_split': TARGET_SPLIT,
            'workload.num_eval_train_examples': self.num_eval_train_examples,
            'workload.step_hint': self.step_hint,
            'workload.vocab_size': c.vocab_size,
            'workload.seq_len': c.seq_len,
            'workload.num_layers': c.num_layers,
            'workload.model_dim': c.model_dim,
            'workload.num_heads': c.num_heads,
            'workload.mlp_dim': c.mlp_dim,
            'workload.num_params': c.num_params(),
            'workload.flops_per_token': c.flops_per_token(),
            'workload.compute_dtype': self.compute_dtype(),
        }

    # --- Data.
    def load_splits(self, data_dir: str | None) -> tuple[Splits, dict]:
        """The token splits and their metadata facts (``data.*``)."""
        if data_dir is None:
            raise DataError(f'{self.name} needs --data_dir (train/ and val/ token data); '
                            f'{token_data.PREPARE_HINT}')
        splits = token_data.load_splits(data_dir)
        return splits, {
            'data.source': splits['train'].fmt,
            'data.description': 'GPT-2 tokens: datasets folders or .bin shards',
            'data.path': data_dir,
            'data.comparable_to_finewebedu': True,
        }

    def prepare_data(self, data_dir: str | None) -> dict[str, Any]:
        splits, facts = self.load_splits(data_dir)
        self.cfg = self.config_for(facts['data.source'])
        for split in splits.values():
            split.check(self.cfg.vocab_size, self.window)
        n_train, n_val = (splits[s].num_windows(self.window) for s in ('train', 'val'))
        n_val = min(n_val, self.max_eval_windows)
        n_eval_train = min(n_train, self.max_eval_train_windows)
        self._splits, self._source = splits, facts['data.source']
        self._counts = (n_train, n_val, n_eval_train)
        self._eval_indices = {
            'validation': np.arange(n_val),
            'train': np.sort(
                np.random.default_rng(EVAL_TRAIN_SEED).choice(n_train, n_eval_train, replace=False)
            ),
        }
        self.on_data_changed()
        return {
            **facts,
            'data.num_train_examples': n_train,
            'data.num_eval_examples': n_val,
            'data.num_eval_train_examples': n_eval_train,
            'data.num_train_tokens': splits['train'].num_tokens,
            'data.num_val_tokens': splits['val'].num_tokens,
        }

    def config_for(self, source: str) -> lm_config.LmConfig:
        """The model for the data loaded (the tiny LM's vocabulary follows its data)."""
        return self.model_config

    def on_data_changed(self) -> None:
        """Drops framework copies of eval data (framework subclasses extend it)."""

    def release_data(self) -> None:
        self._splits = self._eval_indices = None
        self.on_data_changed()

    def _ensure_data(self, data_dir: str | None) -> None:
        if self._splits is None:
            self.prepare_data(data_dir)

    def numpy_train_batches(
        self,
        data_seed: int,
        data_dir: str | None,
        global_batch_size: int,
        rows: slice = slice(None),
    ) -> Iterator[dict[str, np.ndarray]]:
        """Endless ``{'inputs', 'targets'}`` int32 ``(B, seq_len)`` batches, reshuffled per epoch.

        ``rows`` keeps only those rows of every global batch (one process's share).
        """
        self._ensure_data(data_dir)
        split, window = self._splits['train'], self.window
        for idx in index_stream(split.num_windows(window), global_batch_size, data_seed):
            w = split.windows(idx[rows], window)
            yield {'inputs': w[:, :-1], 'targets': w[:, 1:]}

    def eval_batches(self, split: str) -> Iterator[dict[str, np.ndarray]]:
        """The eval split in padded batches: ``inputs``, ``targets`` and per-token ``weights``
        (0 on padding rows, so every batch has one shape and padding never counts)."""
        if self._splits is None or self._eval_indices is None:
            raise RuntimeError('prepare_data() must run before eval')
        source = self._splits['val' if split == 'validation' else 'train']
        indices = self._eval_indices[split]
        size = min(self.eval_batch_size, len(indices))
        for start in range(0, len(indices), size):
            idx = indices[start : start + size]
            w = np.zeros((size, self.window), np.int32)
            w[: len(idx)] = source.windows(idx, self.window)
            weights = np.zeros((size, self.cfg.seq_len), np.float32)
            weights[: len(idx)] = 1.0
            yield {'inputs': w[:, :-1], 'targets': w[:, 1:], 'weights': weights}

    def eval_bytes(self) -> int:
        """Bytes of all eval batches as int32 (whether to keep them on the device)."""
        return sum(len(v) for v in (self._eval_indices or {}).values()) * self.window * 8

    def init_params(self, seed: int) -> dict[str, Any]:
        """The initial parameters in NumPy (flax layout), from the trial's seed."""
        return lm_init.init_params(self.cfg, seed)

    def summarise_eval(self, sums: dict[str, np.ndarray]) -> dict[str, float]:
        """``{split: [loss_sum, correct_sum, token_count]}`` -> metrics, target split first."""
        out: dict[str, float] = {}
        for split in EVAL_SPLITS:
            loss_sum, correct, count = (float(v) for v in sums[split])
            loss = loss_sum / count
            out[metric_name(split, 'accuracy')] = correct / count
            out[metric_name(split, 'loss')] = loss
            out[metric_name(split, 'ppl')] = math.exp(loss) if loss < 700 else math.inf
        return out


class FinewebEduLm(BaseLmWorkload):
    """The peer's ``finewebedu_lm``: ~253M parameters, GPT-2 tokens, ppl 22.432 in 31,967 s."""

    name = 'finewebedu_lm'
    model_config = lm_config.FINEWEBEDU

    @property
    def target_value(self) -> float:
        return 22.432

    @property
    def max_allowed_runtime_sec(self) -> float:
        return 31_967

    @property
    def eval_period_time_sec(self) -> float:
        return 2_571

    @property
    def step_hint(self) -> int:
        return 72_000


# The tiny LM on the offline corpus: calibrated here (experiments/lm_tiny_calibration).
TINY_CORPUS_TARGET = 6.81  # validation ppl; experiments/lm_tiny_calibration/README.md
TINY_BUDGET_SEC = 1200
TINY_EVAL_PERIOD_SEC = 60
TINY_STEP_HINT = 200


class TinyLm(BaseLmWorkload):
    """The same transformer at a CPU size (:data:`.config.TINY`).

    Without ``--data_dir`` it trains on the offline byte-level corpus, with
    its own target (not comparable to FineWeb-Edu); with ``--data_dir`` on
    GPT-2 tokens in the real formats, where it has no calibrated target and
    borrows FineWeb-Edu's (times to it say little at this size).
    """

    name = 'lm_tiny'
    model_config = lm_config.TINY
    # 16 x 128 x 50,257 float32 logits are 412 MB when it reads GPT-2 tokens.
    eval_batch_size = 16
    # An eval of 256 + 64 windows (41k tokens) takes a few seconds on a loaded 2-core CPU.
    max_eval_windows = 256
    max_eval_train_windows = 64

    @property
    def target_value(self) -> float:
        return TINY_CORPUS_TARGET if self._source in (None, corpus.SOURCE) else 22.432

    @property
    def max_allowed_runtime_sec(self) -> float:
        return TINY_BUDGET_SEC

    @property
    def eval_period_time_sec(self) -> float:
        return TINY_EVAL_PERIOD_SEC

    @property
    def step_hint(self) -> int:
        return TINY_STEP_HINT

    def load_splits(self, data_dir: str | None) -> tuple[Splits, dict]:
        if data_dir is not None:
            return super().load_splits(data_dir)
        splits, sha = corpus.load_corpus()
        return splits, {
            'data.source': corpus.SOURCE,
            'data.description': corpus.DESCRIPTION,
            'data.path': 'pydoc_data.topics',
            'data.sha256': sha,
            'data.calibrated_sha256': corpus.CALIBRATED_SHA256,
            'data.comparable_to_finewebedu': False,
        }

    def config_for(self, source: str) -> lm_config.LmConfig:
        if source == corpus.SOURCE:
            return self.model_config
        return self.model_config.with_vocab(lm_config.GPT2_VOCAB_SIZE)
