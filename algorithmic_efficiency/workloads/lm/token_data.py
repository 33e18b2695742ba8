"""Token streams on disk, memory-mapped: the peer's ``datasets`` folders and nanoGPT shards.

A split is a sequence of 1-D token arrays (*segments*: one per Arrow record
batch or shard file) read in place, never copied whole into memory; it is cut
into consecutive non-overlapping windows of ``seq_len + 1`` tokens across
segment boundaries (the peer concatenates every document, then batches into
1,025-token windows, dropping the tail). A window gives ``inputs`` (its first
``seq_len`` tokens) and ``targets`` (its last ``seq_len``).

Formats, found under ``--data_dir`` (see ``docs/guides/language-models.md``):

* ``train/`` and ``val/`` saved by Hugging Face ``datasets``' ``save_to_disk``:
  Arrow IPC stream files (``data-0000i-of-0000n.arrow``, in ``state.json``'s
  order) with an ``input_ids`` list-of-integers column; read with pyarrow's
  memory map (zero copy), no ``datasets`` or TensorFlow needed.
* nanoGPT / modded-nanogpt token shards (``.bin``): a header of 256 int32
  (magic 20240520, version 1, token count), then the tokens as uint16;
  ``train/*.bin`` and ``val/*.bin``, or ``*train*.bin`` and ``*val*.bin`` side
  by side as modded-nanogpt writes them.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os

import numpy as np
import pyarrow as pa

from algorithmic_efficiency.workloads.lm._shared import DataError

SPLITS = ('train', 'val')
SHARD_MAGIC = 20240520
SHARD_VERSION = 1
SHARD_HEADER_INT32 = 256
PREPARE_HINT = (
    'prepare it with: python -m algorithmic_efficiency.datasets finewebedu --data_dir DIR'
)


@dataclasses.dataclass
class TokenSplit:
    """One split's tokens, as memory-mapped segments.

    Attributes:
      segments: 1-D integer arrays, read in place.
      path: the folder or first file, for messages.
      fmt: ``'arrow'``, ``'bin'`` or ``'corpus'``.
    """

    segments: list[np.ndarray]
    path: str
    fmt: str

    def __post_init__(self) -> None:
        lengths = np.array([len(s) for s in self.segments], np.int64)
        self._starts = np.concatenate([[0], np.cumsum(lengths)])

    @property
    def num_tokens(self) -> int:
        return int(self._starts[-1])

    def num_windows(self, window: int) -> int:
        return self.num_tokens // window

    def check(self, vocab_size: int, window: int) -> None:
        """Raises :class:`DataError` (one line) for ids outside the vocabulary or too few tokens."""
        if self.num_windows(window) < 1:
            raise DataError(
                f'{self.path}: {self.num_tokens} tokens cannot fill one sequence of {window} '
                f'(seq_len + 1); use more data or a workload with a shorter sequence'
            )
        for segment in self.segments:
            if len(segment) and (int(segment.max()) >= vocab_size or int(segment.min()) < 0):
                bad = int(segment.max()) if int(segment.max()) >= vocab_size else int(segment.min())
                raise DataError(
                    f'{self.path}: token id {bad} is outside the vocabulary of {vocab_size}; '
                    'tokenise with the workload\'s tokenizer (GPT-2 for FineWeb-Edu)'
                )

    def windows(self, indices: np.ndarray, window: int) -> np.ndarray:
        """Windows ``indices`` as an ``(n, window)`` int32 array (a copy of just those tokens)."""
        if len(self.segments) == 1:
            seg = self.segments[0]
            rows = seg[: self.num_windows(window) * window].reshape(-1, window)
            return rows[np.asarray(indices)].astype(np.int32, copy=False)
        out = np.empty((len(indices), window), np.int32)
        for row, i in enumerate(np.asarray(indices)):
            start, filled = int(i) * window, 0
            k = int(np.searchsorted(self._starts, start, side='right')) - 1
            while filled < window:
                seg, offset = self.segments[k], start + filled - int(self._starts[k])
                piece = seg[offset : offset + window - filled]
                out[row, filled : filled + len(piece)] = piece
                filled += len(piece)
                k += 1
        return out


# --- Hugging Face datasets (save_to_disk).


def _arrow_files(folder: str) -> list[str]:
    state = os.path.join(folder, 'state.json')
    if os.path.isfile(state):
        try:
            with open(state) as f:
                names = [d['filename'] for d in json.load(f)['_data_files']]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DataError(f'{state}: not a datasets state.json ({e}); save the split again '
                            'with datasets.Dataset.save_to_disk') from None
        return [os.path.join(folder, n) for n in names]
    return sorted(glob.glob(os.path.join(folder, '*.arrow')))


def _arrow_segments(path: str) -> list[np.ndarray]:
    try:
        table = pa.ipc.open_stream(pa.memory_map(path)).read_all()
    except (OSError, pa.ArrowInvalid) as e:
        raise DataError(f'{path}: not an Arrow stream file as datasets.save_to_disk writes '
                        f'({str(e).splitlines()[0]}); save the split again') from None
    if 'input_ids' not in table.column_names:
        raise DataError(f'{path}: no input_ids column (has {", ".join(table.column_names)}); '
                        'tokenise the text into input_ids first')
    column = table.column('input_ids')
    kind = column.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)) or not pa.types.is_integer(
        kind.value_type
    ):
        raise DataError(f'{path}: input_ids is {kind}, not a list of integer token ids; '
                        'tokenise the text into input_ids first')
    out = []
    for chunk in column.chunks:
        offsets = chunk.offsets.to_numpy()
        if chunk.null_count or not len(offsets):
            if chunk.null_count:
                raise DataError(f'{path}: input_ids has missing rows; drop them before saving')
            continue
        values = chunk.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        out.append(values.to_numpy(zero_copy_only=True))  # a view of the memory map
    return out


def read_arrow_split(folder: str) -> TokenSplit:
    files = _arrow_files(folder)
    if not files:
        raise DataError(f'{folder}: no .arrow files; it must be a split saved by '
                        f'datasets.save_to_disk, or {PREPARE_HINT}')
    segments = [s for path in files for s in _arrow_segments(path)]
    return TokenSplit(segments, folder, 'arrow')


# --- nanoGPT token shards.


def read_shard(path: str) -> np.ndarray:
    """One ``.bin`` shard's tokens (uint16), memory-mapped after checking its header."""
    size = os.path.getsize(path)
    header_bytes = 4 * SHARD_HEADER_INT32
    header = np.fromfile(path, np.int32, SHARD_HEADER_INT32) if size >= header_bytes else ()
    if len(header) < SHARD_HEADER_INT32 or header[0] != SHARD_MAGIC:
        raise DataError(f'{path}: not a nanoGPT token shard (no magic {SHARD_MAGIC} in a '
                        f'{4 * SHARD_HEADER_INT32}-byte header); write it as modded-nanogpt does')
    if header[1] != SHARD_VERSION:
        raise DataError(f'{path}: shard version {header[1]}, only version {SHARD_VERSION} '
                        '(uint16 tokens) is read; rewrite it as version 1')
    count = int(header[2])
    if size != 4 * SHARD_HEADER_INT32 + 2 * count:
        raise DataError(f'{path}: header says {count} tokens but the file holds '
                        f'{(size - 4 * SHARD_HEADER_INT32) / 2:g}; the shard is truncated or '
                        'corrupt, write it again')
    return np.memmap(path, np.uint16, 'r', offset=4 * SHARD_HEADER_INT32, shape=(count,))


def read_bin_split(files: list[str], where: str) -> TokenSplit:
    return TokenSplit([read_shard(f) for f in files], where, 'bin')


# --- Finding the splits.


def _split_source(data_dir: str, split: str) -> TokenSplit | None:
    folder = os.path.join(data_dir, split)
    if os.path.isdir(folder):
        shards = sorted(glob.glob(os.path.join(folder, '*.bin')))
        return read_bin_split(shards, folder) if shards else read_arrow_split(folder)
    shards = sorted(glob.glob(os.path.join(data_dir, f'*{split}*.bin')))
    return read_bin_split(shards, shards[0]) if shards else None


def load_splits(data_dir: str) -> dict[str, TokenSplit]:
    """``{'train', 'val'}`` token splits under ``data_dir`` (either format).

    Raises:
      DataError: one line naming the folder or file and the fix.
    """
    if not os.path.isdir(data_dir):
        raise DataError(f'{data_dir}: no such directory; {PREPARE_HINT}')
    out = {}
    for split in SPLITS:
        source = _split_source(data_dir, split)
        if source is None:
            raise DataError(
                f"{data_dir}: no '{split}' split (expected {split}/ saved by "
                f'datasets.save_to_disk, or {split}/*.bin or *{split}*.bin token shards); '
                f'{PREPARE_HINT}'
            )
        out[split] = source
    return out
