"""Small language-model data sets in the real on-disk formats, written by the tests.

* :func:`write_hf_split` writes a split as Hugging Face ``datasets``'
  ``save_to_disk`` does: Arrow IPC *stream* files ``data-0000i-of-0000n.arrow``
  (an ``input_ids`` list column, several record batches), ``state.json``
  naming them in order and ``dataset_info.json``, without ``datasets``;
* :func:`write_shard` writes a nanoGPT / modded-nanogpt token shard: 256 int32
  header (magic 20240520, version 1, token count) then uint16 tokens.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa


def documents(num_docs: int, vocab: int, seed: int, min_len: int = 5, max_len: int = 60):
    """Random token documents of random lengths."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, rng.integers(min_len, max_len)) for _ in range(num_docs)]


def write_hf_split(folder, docs, num_files: int = 2, rows_per_batch: int = 7,
                   value_type=None) -> None:
    value_type = value_type or pa.int32()
    os.makedirs(folder, exist_ok=True)
    chunks = np.array_split(np.arange(len(docs)), num_files)
    names = []
    schema = pa.schema([pa.field('input_ids', pa.list_(value_type))],
                       metadata={'huggingface': json.dumps({'info': {'features': {}}})})
    for i, rows in enumerate(chunks):
        name = f'data-{i:05d}-of-{num_files:05d}.arrow'
        names.append(name)
        with pa.OSFile(os.path.join(folder, name), 'wb') as sink, \
                pa.ipc.new_stream(sink, schema) as writer:
            for start in range(0, len(rows), rows_per_batch):
                batch = [docs[j].tolist() for j in rows[start:start + rows_per_batch]]
                writer.write_batch(pa.record_batch([pa.array(batch, pa.list_(value_type))],
                                                   schema=schema))
    with open(os.path.join(folder, 'state.json'), 'w') as f:
        json.dump({'_data_files': [{'filename': n} for n in names], '_fingerprint': 'test',
                   '_format_type': None, '_split': None}, f)
    with open(os.path.join(folder, 'dataset_info.json'), 'w') as f:
        json.dump({'features': {'input_ids': {'feature': {'dtype': str(value_type),
                                                          '_type': 'Value'},
                                              '_type': 'Sequence'}}}, f)


def write_shard(path, tokens, magic: int = 20240520, version: int = 1) -> None:
    header = np.zeros(256, np.int32)
    header[:3] = (magic, version, len(tokens))
    with open(path, 'wb') as f:
        f.write(header.tobytes())
        f.write(np.asarray(tokens, np.uint16).tobytes())


def write_real_data(data_dir, fmt: str, vocab: int = 50257, seed: int = 0, num_docs: int = 80):
    """``train`` and ``val`` in ``fmt`` ('arrow' or 'bin'); returns the concatenated tokens."""
    out = {}
    for split, n in (('train', num_docs), ('val', num_docs // 4)):
        docs = documents(n, vocab, seed + (split == 'val'))
        out[split] = np.concatenate(docs)
        if fmt == 'arrow':
            write_hf_split(os.path.join(data_dir, split), docs)
        else:
            os.makedirs(data_dir, exist_ok=True)
            half = len(out[split]) // 2  # two shards, windows across the boundary
            write_shard(os.path.join(data_dir, f'fineweb_{split}_000000.bin'), out[split][:half])
            write_shard(os.path.join(data_dir, f'fineweb_{split}_000001.bin'), out[split][half:])
    return out
