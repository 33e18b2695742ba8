"""Language-model data: the real formats (datasets folders, nanoGPT shards) read memory-mapped,
the offline corpus, windows and batches, and every bad input as one line."""

import mmap

import numpy as np
import pyarrow as pa
import pytest
from lm_files import write_hf_split, write_real_data, write_shard

from algorithmic_efficiency.workloads.lm import corpus, token_data
from algorithmic_efficiency.workloads.lm._shared import DataError

WINDOW = 33


def _expected_windows(tokens, window):
    n = len(tokens) // window
    return tokens[: n * window].reshape(n, window)


@pytest.mark.parametrize('fmt', ['arrow', 'bin'])
def test_real_formats_read_back_as_concatenated_windows(tmp_path, fmt):
    tokens = write_real_data(tmp_path, fmt)
    splits = token_data.load_splits(str(tmp_path))
    assert set(splits) == {'train', 'val'}
    for name, split in splits.items():
        assert split.fmt == fmt
        assert split.num_tokens == len(tokens[name])
        expected = _expected_windows(tokens[name], WINDOW)
        assert split.num_windows(WINDOW) == len(expected)
        idx = np.array([len(expected) - 1, 0, 3, 3])
        np.testing.assert_array_equal(split.windows(idx, WINDOW), expected[idx])
        assert len(split.segments) > 1  # several record batches / shards, windows across them


def _is_mapped(a: np.ndarray) -> bool:
    """Whether ``a``'s memory belongs to a file mapping (not a copy in the heap)."""
    if isinstance(a, np.memmap):
        return True
    base = a
    while getattr(base, 'base', None) is not None:
        base = base.base
        if isinstance(base, mmap.mmap | np.memmap):
            return True
    return False


def test_arrow_segments_are_views_of_the_memory_map(tmp_path):
    write_real_data(tmp_path, 'arrow', num_docs=4000)  # ~130k tokens, 0.5 MB as int32
    before = pa.total_allocated_bytes()
    split = token_data.load_splits(str(tmp_path))['train']
    # Read through the memory map, pyarrow allocates nothing for the tokens: no copy in RAM.
    assert pa.total_allocated_bytes() - before < 4096
    assert split.num_tokens > 100_000
    seg = split.segments[0]
    assert not seg.flags.owndata and not seg.flags.writeable


def test_bin_shards_are_memmaps(tmp_path):
    write_real_data(tmp_path, 'bin')
    split = token_data.load_splits(str(tmp_path))['val']
    assert all(_is_mapped(s) for s in split.segments)
    assert split.segments[0].dtype == np.uint16


def test_int64_arrow_and_train_val_shard_folders(tmp_path):
    docs = [np.arange(40) % 7, np.arange(50) % 5]
    write_hf_split(tmp_path / 'train', docs, num_files=1, value_type=pa.int64())
    (tmp_path / 'val').mkdir()
    write_shard(tmp_path / 'val' / 'a.bin', np.arange(70) % 3)
    splits = token_data.load_splits(str(tmp_path))
    assert (splits['train'].fmt, splits['val'].fmt) == ('arrow', 'bin')
    np.testing.assert_array_equal(splits['train'].windows([1], 30)[0], np.concatenate(docs)[30:60])


def _message(excinfo) -> str:
    msg = str(excinfo.value)
    assert '\n' not in msg
    return msg


def test_missing_split_names_the_directory_and_the_fix(tmp_path):
    write_real_data(tmp_path, 'bin')
    for f in tmp_path.glob('*val*.bin'):
        f.unlink()
    with pytest.raises(DataError) as e:
        token_data.load_splits(str(tmp_path))
    msg = _message(e)
    assert str(tmp_path) in msg and "'val'" in msg and 'datasets finewebedu' in msg


@pytest.mark.parametrize('content,needle', [
    (b'not a shard at all', 'not a nanoGPT token shard'),
    (None, 'version 7'),
    (b'truncated', 'truncated'),
])
def test_wrong_shard_files(tmp_path, content, needle):
    write_real_data(tmp_path, 'bin')
    bad = tmp_path / 'fineweb_val_000001.bin'
    if content is None:
        write_shard(bad, np.arange(100), version=7)
    elif content == b'truncated':
        write_shard(bad, np.arange(100))
        bad.write_bytes(bad.read_bytes()[:-10])
    else:
        bad.write_bytes(content * 100)
    with pytest.raises(DataError) as e:
        token_data.load_splits(str(tmp_path))
    msg = _message(e)
    assert str(bad) in msg and needle in msg


def test_wrong_arrow_files(tmp_path):
    write_real_data(tmp_path, 'arrow')
    bad = tmp_path / 'val' / 'data-00001-of-00002.arrow'
    bad.write_bytes(b'PAR1 this is parquet, say')
    with pytest.raises(DataError) as e:
        token_data.load_splits(str(tmp_path))
    assert str(bad) in _message(e) and 'save_to_disk' in _message(e)
    # A stream without input_ids.
    schema = pa.schema([pa.field('text', pa.string())])
    with pa.OSFile(str(bad), 'wb') as sink, pa.ipc.new_stream(sink, schema) as w:
        w.write_batch(pa.record_batch([pa.array(['a'])], schema=schema))
    with pytest.raises(DataError) as e:
        token_data.load_splits(str(tmp_path))
    assert 'no input_ids column' in _message(e) and str(bad) in _message(e)


def test_token_id_outside_the_vocabulary_and_too_short_data(tmp_path):
    write_shard(tmp_path / 'x_train_0.bin', np.arange(300) % 256)
    write_shard(tmp_path / 'x_val_0.bin', [1, 2, 3, 300, 4] * 10)
    splits = token_data.load_splits(str(tmp_path))
    splits['train'].check(256, WINDOW)
    with pytest.raises(DataError) as e:
        splits['val'].check(256, WINDOW)
    assert 'token id 300' in _message(e) and 'x_val_0.bin' in _message(e)
    with pytest.raises(DataError) as e:
        splits['train'].check(512, 301)
    assert '300 tokens cannot fill one sequence of 301' in _message(e)


def test_offline_corpus_is_fixed_bytes_with_a_tenth_for_validation():
    splits, sha = corpus.load_corpus()
    assert len(sha) == 64
    total = splits['train'].num_tokens + splits['val'].num_tokens
    assert 0.08 < splits['val'].num_tokens / total < 0.12
    assert all(s.segments[0].dtype == np.uint8 for s in splits.values())
    again, sha2 = corpus.load_corpus()
    assert sha2 == sha
    np.testing.assert_array_equal(again['val'].segments[0], splits['val'].segments[0])
    text = bytes(splits['train'].segments[0][:20000]).decode('utf-8', 'ignore')
    assert ' the ' in text  # English prose


def test_tiny_workload_batches_and_eval_batches():
    from algorithmic_efficiency.workloads.lm.lm_jax.workload import TinyLmWorkload

    w = TinyLmWorkload()
    facts = w.prepare_data(None)
    assert facts['data.source'] == 'pydoc_data' and facts['data.comparable_to_finewebedu'] is False
    assert facts['data.sha256'] == corpus.fingerprint(corpus.topics())
    batches = w.numpy_train_batches(3, None, 5)
    b = next(batches)
    assert b['inputs'].shape == (5, 128) and b['targets'].shape == (5, 128)
    np.testing.assert_array_equal(b['inputs'][:, 1:], b['targets'][:, :-1])  # shifted by one
    again = next(w.numpy_train_batches(3, None, 5))
    np.testing.assert_array_equal(again['inputs'], b['inputs'])  # the seed fixes the order
    evals = list(w.eval_batches('validation'))
    assert sum(e['weights'][:, 0].sum() for e in evals) == w.num_eval_examples == 256
    assert all(e['inputs'].shape == (16, 128) for e in evals)
