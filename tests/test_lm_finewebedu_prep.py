"""FineWeb-Edu preparation without the network: the shard writer on local text, and the
command line's bad input (one line, exit 2, nothing written)."""

import numpy as np
import pytest

from algorithmic_efficiency import datasets
from algorithmic_efficiency.workloads.lm import finewebedu_prep, token_data

TEXTS = [f'Document {i}: ' + 'the quick brown fox jumps over the lazy dog. ' * (i % 7 + 1)
         for i in range(60)]


def byte_encoder(text):
    """A stand-in for GPT-2's BPE (tiktoken fetches its tables from the network): bytes."""
    return list(text.encode('utf-8'))


def test_writer_makes_readable_val_then_train_shards(tmp_path):
    counts = finewebedu_prep.write_shards(TEXTS, str(tmp_path), byte_encoder, val_tokens=2000,
                                          shard_tokens=3000)
    expected = np.concatenate([[50256, *byte_encoder(t)] for t in TEXTS])
    assert counts['val'] + counts['train'] == len(expected)
    assert 2000 <= counts['val'] < 2000 + 500  # whole documents up to the first past 2,000
    splits = token_data.load_splits(str(tmp_path))
    assert splits['val'].num_tokens == counts['val']
    assert len(splits['train'].segments) > 1  # several shards of ~3,000
    got = np.concatenate([np.concatenate(s.segments) for s in (splits['val'], splits['train'])])
    np.testing.assert_array_equal(got, expected)  # the stream's order, nothing lost
    assert not list(tmp_path.glob('*.tmp'))
    # Documents start with <|endoftext|>.
    assert splits['val'].segments[0][0] == 50256


def test_max_tokens_stops_the_stream(tmp_path):
    counts = finewebedu_prep.write_shards(TEXTS, str(tmp_path), byte_encoder, val_tokens=1100,
                                          max_tokens=3000)
    assert 3000 <= sum(counts.values()) < 3500


@pytest.mark.parametrize('argv,needle', [
    (['--val_tokens', '10'], 'cannot fill one 1,025-token sequence'),
    (['--val_tokens', '5000', '--max_tokens', '4000'], 'leaves nothing for training'),
])
def test_bad_arguments_are_one_line_exit_2(tmp_path, capsys, argv, needle):
    out = tmp_path / 'fw'
    assert datasets.main(['finewebedu', '--data_dir', str(out), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_missing_packages_are_one_line_exit_2(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tiktoken(name, *args, **kwargs):  # this machine may have neither installed
        if name in ('tiktoken', 'datasets'):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, '__import__', no_tiktoken)
    out = tmp_path / 'fw'
    assert datasets.main(['finewebedu', '--data_dir', str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert 'pip install' in err and 'tiktoken' in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_data_dir_that_is_a_file(tmp_path, capsys):
    f = tmp_path / 'file'
    f.write_text('x')
    assert datasets.main(['finewebedu', '--data_dir', str(f)]) == 2
    assert 'is a file, not a directory' in capsys.readouterr().err
