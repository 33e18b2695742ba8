"""The decoder-only transformer's sizes, its parameter count and its FLOPs per step.

One architecture at two sizes (:data:`FINEWEBEDU`, the peer's, and
:data:`TINY`, for a CPU), shared by the JAX and PyTorch models and by the
throughput columns (``throughput.model_flops_per_step``).
"""

from __future__ import annotations

import dataclasses
import math

GPT2_VOCAB_SIZE = 50257  # the GPT-2 BPE vocabulary (tiktoken 'gpt2'), the peer's
BYTE_VOCAB_SIZE = 256  # byte-level tokens: the offline corpus


@dataclasses.dataclass(frozen=True)
class LmConfig:
    """A decoder-only transformer: pre-norm RMSNorm blocks, QK-norm, rotary positions,
    a SiLU-GLU MLP and tied input/output embeddings.

    Attributes:
      vocab_size: tokens in the vocabulary.
      seq_len: tokens per training sequence (the windows hold ``seq_len + 1``).
      num_layers: transformer blocks.
      model_dim: width (embedding and residual stream).
      num_heads: attention heads; ``model_dim`` must divide by it.
      mlp_dim: the GLU's hidden width (its up-projection has ``2 * mlp_dim`` outputs).
      rmsnorm_epsilon: RMSNorm's epsilon, the peer's 1e-6.
      qknorm_epsilon: added to the query/key norms before dividing, the peer's 1e-6.
      rope_theta: rotary base, the peer's 500,000.
      init_std: standard deviation of the normal initialisation (GPT-2's 0.02).
    """

    vocab_size: int
    seq_len: int
    num_layers: int
    model_dim: int
    num_heads: int
    mlp_dim: int
    rmsnorm_epsilon: float = 1e-6
    qknorm_epsilon: float = 1e-6
    rope_theta: float = 500_000.0
    init_std: float = 0.02

    def __post_init__(self) -> None:
        if self.model_dim % self.num_heads or (self.model_dim // self.num_heads) % 2:
            raise ValueError(
                f'model_dim {self.model_dim} must divide into {self.num_heads} heads of an even '
                'width (rotary embeddings rotate pairs)'
            )

    @property
    def head_dim(self) -> int:
        return self.model_dim // self.num_heads

    @property
    def residual_init_std(self) -> float:
        """The output projections' std: 0.02 / sqrt(2 * layers) (GPT-2's residual scaling)."""
        return self.init_std / math.sqrt(2 * self.num_layers)

    @property
    def attn_scale_init(self) -> float:
        """The learned attention temperature's start, log2(L^2 - L) (the peer's, after
        Henry et al. 2020): with unit-norm queries and keys the logits need it."""
        return math.log2(self.seq_len**2 - self.seq_len)

    def with_vocab(self, vocab_size: int) -> LmConfig:
        return dataclasses.replace(self, vocab_size=vocab_size)

    # --- Counting.
    def num_params(self) -> int:
        """Every parameter (the tied embedding once)."""
        d, f = self.model_dim, self.mlp_dim
        per_layer = 4 * d * d + 3 * d * f + 2 * d + 1  # q, k, v, out; up (2f), down; 2 norms; scale
        return self.num_layers * per_layer + self.vocab_size * d + d

    def num_matmul_params(self) -> int:
        """The weights that multiply activations, once per token: the blocks' projections and
        the (tied) output projection; not the norm scales, the temperatures or the lookup."""
        d, f = self.model_dim, self.mlp_dim
        return self.num_layers * (4 * d * d + 3 * d * f) + self.vocab_size * d

    def flops_per_token(self) -> int:
        """Training FLOPs per token: ``6 N + 12 L S D``.

        ``N`` is :meth:`num_matmul_params`: each weight does a multiply-add (2
        FLOPs) per token forward and twice that backward. Attention adds
        ``QK^T`` and ``AV``, each ``2 S D`` per token and layer forward, times 3
        for forward + backward; counted over the full ``S x S`` square, not just
        the causal half, as PaLM's model-FLOPs utilisation does (Chowdhery et
        al. 2022, appendix B), so MFU figures compare with the literature.
        """
        return 6 * self.num_matmul_params() + 12 * self.num_layers * self.seq_len * self.model_dim

    def flops_per_step(self, batch_size: int) -> int:
        """Model FLOPs of one training step of ``batch_size`` sequences."""
        return self.flops_per_token() * batch_size * self.seq_len


# The peer's finewebedu_lm: ~253M parameters (51M of them the tied embedding).
FINEWEBEDU = LmConfig(
    vocab_size=GPT2_VOCAB_SIZE, seq_len=1024, num_layers=12, model_dim=1024, num_heads=8,
    mlp_dim=4096,
)  # fmt: skip

# The CPU size: the same blocks at width 128 (4 heads of 32), 4 layers, 128 tokens,
# ~0.8M block parameters. Width and length are the smallest of the range the issue
# names so that a step of 32 sequences stays well under a second on 2 loaded cores
# and a tuned AdamW reaches its target in a few minutes; 128 bytes still span a
# sentence or two of English, so attention has something to learn.
TINY = LmConfig(
    vocab_size=BYTE_VOCAB_SIZE, seq_len=128, num_layers=4, model_dim=128, num_heads=4,
    mlp_dim=512,
)  # fmt: skip
