"""``python -m algorithmic_efficiency.datasets finewebedu --data_dir DIR``: FineWeb-Edu shards.

Streams FineWeb-Edu's ``sample-10BT`` from the Hugging Face hub (the
``datasets`` package), tokenises each document with GPT-2's BPE (``tiktoken``),
each document preceded by ``<|endoftext|>`` (50256) as nanoGPT does, and
writes nanoGPT ``.bin`` shards (:mod:`.token_data` reads them): the first
``--val_tokens`` tokens' documents (in the stream's fixed order) are
``finewebedu_val_*.bin``, the rest ``finewebedu_train_*.bin``. Each shard is
written to a temporary name and renamed, so an interrupted run leaves whole
shards only. Both packages and a network are needed (the ``lm_data``
extra); the writer itself (:func:`write_shards`) takes any texts and encoder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

import numpy as np

from algorithmic_efficiency.workloads.lm import token_data

EOT = 50256  # GPT-2's <|endoftext|>
HUB_DATASET = ('HuggingFaceFW/fineweb-edu', 'sample-10BT')
# The peer's validation set: 100,000 sequences of 1,025 tokens.
DEFAULT_VAL_TOKENS = 100_000 * 1025
DEFAULT_SHARD_TOKENS = 100_000_000  # modded-nanogpt's shard size
PREFIX = 'finewebedu'


class PrepError(ValueError):
    """Bad usage or a missing package: one line naming the fix (exit 2)."""


def _write_shard(path: str, tokens: np.ndarray) -> None:
    header = np.zeros(token_data.SHARD_HEADER_INT32, np.int32)
    header[:3] = (token_data.SHARD_MAGIC, token_data.SHARD_VERSION, len(tokens))
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(header.tobytes())
        f.write(tokens.astype(np.uint16).tobytes())
    os.replace(tmp, path)


def write_shards(
    texts: Iterable[str],
    out_dir: str,
    encode: Callable[[str], list[int]],
    val_tokens: int = DEFAULT_VAL_TOKENS,
    shard_tokens: int = DEFAULT_SHARD_TOKENS,
    max_tokens: int | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, int]:
    """Tokenises ``texts`` into validation then training shards; returns tokens per split."""
    os.makedirs(out_dir, exist_ok=True)
    counts = {'val': 0, 'train': 0}
    shard_index = {'val': 0, 'train': 0}
    buffer: list[np.ndarray] = []
    buffered = 0
    split = 'val' if val_tokens > 0 else 'train'

    def flush(name: str) -> None:
        nonlocal buffer, buffered
        if buffered:
            path = os.path.join(out_dir, f'{PREFIX}_{name}_{shard_index[name]:06d}.bin')
            _write_shard(path, np.concatenate(buffer))
            progress(f'{path}: {buffered:,} tokens')
            shard_index[name] += 1
        buffer, buffered = [], 0

    for text in texts:
        ids = np.asarray([EOT, *encode(text)], np.int64)
        if ids.max() >= 2**16:
            raise PrepError(f'token id {int(ids.max())} does not fit a uint16 shard; use a '
                            'vocabulary below 65,536 (GPT-2 has 50,257)')
        buffer.append(ids)
        buffered += len(ids)
        counts[split] += len(ids)
        if split == 'val' and counts['val'] >= val_tokens:
            flush('val')
            split = 'train'
        elif buffered >= shard_tokens:
            flush(split)
        if max_tokens is not None and sum(counts.values()) >= max_tokens:
            break
    flush(split)
    return counts


def hub_texts() -> Iterable[str]:
    """FineWeb-Edu's documents in the hub's fixed order (needs ``datasets`` and a network)."""
    try:
        import datasets  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise PrepError('finewebedu needs the datasets and tiktoken packages: '
                        "pip install -e '.[lm_data]' (datasets and tiktoken)") from None
    name, config = HUB_DATASET
    rows = datasets.load_dataset(name, name=config, split='train', streaming=True)
    return (row['text'] for row in rows)


def gpt2_encoder() -> Callable[[str], list[int]]:
    try:
        import tiktoken  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise PrepError('finewebedu needs the tiktoken package for GPT-2 tokens: '
                        "pip install -e '.[lm_data]' (datasets and tiktoken)") from None
    encoding = tiktoken.get_encoding('gpt2')
    return encoding.encode_ordinary


def check_args(val_tokens: int, max_tokens: int | None) -> None:
    if val_tokens < 1025:
        raise PrepError(f'--val_tokens {val_tokens} cannot fill one 1,025-token sequence; '
                        'give at least 1025')
    if max_tokens is not None and max_tokens <= val_tokens:
        raise PrepError(f'--max_tokens {max_tokens} leaves nothing for training after '
                        f'--val_tokens {val_tokens}; raise it or leave it out')


def prepare(data_dir: str, val_tokens: int, max_tokens: int | None,
            progress: Callable[[str], None]) -> dict[str, int]:
    """The whole preparation: checks, then download + tokenise + write."""
    check_args(val_tokens, max_tokens)
    encode, texts = gpt2_encoder(), hub_texts()  # both before any file is written
    return write_shards(texts, data_dir, encode, val_tokens, max_tokens=max_tokens,
                        progress=progress)
