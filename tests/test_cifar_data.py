"""CIFAR-10 loading from the three on-disk formats, every malformed case, and the download.

All data is small (100 train / 50 test images) and written by the tests in the
real formats (tests/cifar_files.py); nothing reaches the network.
"""

import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import sys
import tarfile

import numpy as np
import pytest
from cifar_files import batch_blob, make_images, py2_pickle, write_python_version, write_tfds_build
from test_datasets_cli import leftovers, serve

from algorithmic_efficiency import datasets
from algorithmic_efficiency.workloads import download
from algorithmic_efficiency.workloads.cifar import data as cifar_data
from algorithmic_efficiency.workloads.cifar import tfds_build
from algorithmic_efficiency.workloads.cifar.data import DataError, load_cifar10

HINT = 'python -m algorithmic_efficiency.datasets cifar10 --data_dir DIR'


@pytest.fixture(scope='module')
def python_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar')
    return root, write_python_version(root, 100, 50, seed=3)


def one_line(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert '\n' not in text and text, text
    return text


def copy_batches(python_dir, tmp_path):
    shutil.copytree(python_dir[0] / 'cifar-10-batches-py', tmp_path / 'cifar-10-batches-py')
    return tmp_path / 'cifar-10-batches-py'


def test_python_version_round_trip(python_dir):
    root, written = python_dir
    d = load_cifar10(str(root))
    assert d.source == 'python' and d.path == str(root / 'cifar-10-batches-py')
    assert '100 train / 50 test' in d.description and 'not the standard' in d.description
    np.testing.assert_array_equal(d.train_images, written['train'][0])
    np.testing.assert_array_equal(d.train_labels, written['train'][1])
    np.testing.assert_array_equal(d.test_images, written['test'][0])
    np.testing.assert_array_equal(d.test_labels, written['test'][1])
    assert d.train_images.shape == (100, 32, 32, 3) and d.train_labels.dtype == np.int32


def test_the_pickles_are_what_python2_wrote_and_numpy_reads(python_dir):
    root, written = python_dir
    blob = (root / 'cifar-10-batches-py' / 'test_batch').read_bytes()
    assert blob.startswith(b'\x80\x02}(U\x0bbatch_label')  # protocol 2, Python 2 str keys
    assert b'cnumpy.core.multiarray\n_reconstruct\n' in blob
    batch = pickle.loads(blob, encoding='latin1')  # how torchvision reads the real files
    images = batch['data'].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(images, written['test'][0])


def test_batches_directly_in_data_dir_and_torchvision_layout(python_dir, tmp_path):
    batches = copy_batches(python_dir, tmp_path)
    assert load_cifar10(batches).path == str(batches)  # DIR itself holds the files
    assert load_cifar10(tmp_path).path == str(batches)  # DIR/cifar-10-batches-py


def test_archive_read_without_extracting(tmp_path):
    written = write_python_version(tmp_path, 100, 50, seed=3, archive=True)
    assert os.listdir(tmp_path) == ['cifar-10-python.tar.gz']
    d = load_cifar10(tmp_path)
    assert d.source == 'archive' and d.path == str(tmp_path / 'cifar-10-python.tar.gz')
    np.testing.assert_array_equal(d.train_images, written['train'][0])
    np.testing.assert_array_equal(d.test_labels, written['test'][1])


def test_decoded_arrays_are_cached_and_memory_mapped(tmp_path, monkeypatch):
    written = write_python_version(tmp_path, 100, 50, seed=4, archive=True)
    first = load_cifar10(tmp_path)
    assert (tmp_path / cifar_data.CACHE_DIRNAME / 'key.json').is_file()

    def refuse(*args):
        raise AssertionError('decoded the archive instead of reading the cache')

    monkeypatch.setattr(cifar_data, '_load_archive', refuse)
    again = load_cifar10(tmp_path)
    np.testing.assert_array_equal(again.train_images, written['train'][0])
    np.testing.assert_array_equal(again.test_labels, written['test'][1])
    assert (again.source, again.description, again.path) == (
        first.source, first.description, first.path)
    assert not again.train_images.flags.writeable  # a memory map of the cache, uint8
    monkeypatch.undo()
    # cache=False decodes every time and writes nothing.
    shutil.rmtree(tmp_path / cifar_data.CACHE_DIRNAME)
    assert load_cifar10(tmp_path, cache=False).train_images.flags.writeable
    assert not (tmp_path / cifar_data.CACHE_DIRNAME).exists()


def test_no_data_dir_says_how_to_get_it():
    with pytest.raises(DataError) as e:
        load_cifar10(None)
    assert 'no embedded sample' in one_line(e) and HINT in str(e.value)


def test_missing_and_empty_and_file_data_dir(tmp_path):
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path / 'nope')
    assert f'data_dir {tmp_path / "nope"} does not exist' in one_line(e) and HINT in str(e.value)
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    text = one_line(e)
    assert f'data_dir {tmp_path} holds no CIFAR-10' in text
    assert (
        'data_batch_1' in text and 'cifar-10-python.tar.gz' in text and 'cifar10/<version>' in text
    )
    (tmp_path / 'f').write_text('x')
    with pytest.raises(DataError, match='is not a directory'):
        load_cifar10(tmp_path / 'f')


def test_incomplete_set_names_the_missing_files(python_dir, tmp_path):
    batches = copy_batches(python_dir, tmp_path)
    os.remove(batches / 'data_batch_4')
    os.remove(batches / 'test_batch')
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    assert f'{batches}: incomplete CIFAR-10 python version, missing data_batch_4, test_batch' in (
        one_line(e)
    )


def _corrupt(batches, name, blob):
    (batches / name).write_bytes(blob)
    return str(batches / name)


@pytest.mark.parametrize(
    'case, expected',
    [
        ('truncated', 'truncated pickle'),
        ('html', 'looks like an HTML/JSON page'),
        ('gzip', 'gzip-compressed'),
        ('empty', 'truncated pickle'),
        ('not_a_dict', 'holds a pickled list, expected the dict of a CIFAR-10 batch'),
        ('cifar100', "no 'labels' key (keys: batch_label, coarse_labels, data, fine_labels"),
        ('wrong_shape', "'data' is a uint8 array of shape (20, 1024), expected uint8 of shape"),
        ('wrong_dtype', "'data' is a float32 array of shape (20, 3072)"),
        ('count', "19 labels for 20 images in 'data'"),
        ('label_range', 'label 10 found, labels must be 0-9'),
        ('code', 'refusing to load os.system'),
    ],
)
def test_malformed_batch_is_one_line_naming_the_file(python_dir, tmp_path, case, expected):
    batches = copy_batches(python_dir, tmp_path)
    good = (batches / 'data_batch_2').read_bytes()
    images, labels = make_images(20, 9)
    planes = images.transpose(0, 3, 1, 2).reshape(20, 3072)
    blobs = {
        'truncated': good[: len(good) // 2],
        'html': b'<!DOCTYPE html><html>Not Found</html>',
        'gzip': gzip.compress(good),
        'empty': b'',
        'not_a_dict': pickle.dumps([1, 2, 3], protocol=2),
        'cifar100': py2_pickle(
            {'batch_label': b'x', 'fine_labels': [1], 'coarse_labels': [1], 'data': planes}
        ),
        'wrong_shape': py2_pickle({'labels': list(labels), 'data': planes[:, :1024].copy()}),
        'wrong_dtype': pickle.dumps({'labels': labels.tolist(), 'data': planes.astype(np.float32)}),
        'count': batch_blob(images, labels[:19]),
        'label_range': batch_blob(images, np.r_[labels[:19], 10]),
        'code': b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x85R.",
    }
    path = _corrupt(batches, 'data_batch_2', blobs[case])
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    text = one_line(e)
    assert text.startswith(f'{path}: ') and expected in text, text
    assert HINT in text  # the fix


def test_a_tampered_pickle_never_runs_code(python_dir, tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(os, 'system', lambda *a: called.append(a))
    batches = copy_batches(python_dir, tmp_path)
    _corrupt(batches, 'test_batch', b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x85R.")
    with pytest.raises(DataError, match='refusing to load os.system'):
        load_cifar10(tmp_path)
    assert called == []


def test_archive_truncated_corrupt_or_incomplete(tmp_path):
    write_python_version(tmp_path / 'a', 100, 50, archive=True)
    blob = (tmp_path / 'a' / 'cifar-10-python.tar.gz').read_bytes()
    cases = {
        'truncated': (blob[: len(blob) * 2 // 3], 'corrupt or truncated archive'),
        'garbage': (b'\x1f\x8b' + bytes(200), 'corrupt or truncated archive'),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
        info = tarfile.TarInfo('cifar-10-batches-py/data_batch_1')
        one = batch_blob(*make_images(5, 0))
        info.size = len(one)
        tar.addfile(info, io.BytesIO(one))
    cases['incomplete'] = (buffer.getvalue(), 'no member cifar-10-batches-py/data_batch_2')
    for name, (content, expected) in cases.items():
        directory = tmp_path / name
        directory.mkdir()
        (directory / 'cifar-10-python.tar.gz').write_bytes(content)
        with pytest.raises(DataError) as e:
            load_cifar10(directory)
        text = one_line(e)
        assert text.startswith(f'{directory / "cifar-10-python.tar.gz"}') and expected in text
        assert HINT in text


# ---------------------------------------------------------------------------
# tensorflow-datasets builds
# ---------------------------------------------------------------------------


@pytest.fixture(scope='module')
def tfds_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('tfds')
    written = write_tfds_build(root, 60, 20)
    assert 'tensorflow' not in sys.modules
    return root, written


def _rows(images, labels):
    rows = np.concatenate([images.reshape(len(images), -1), labels.reshape(-1, 1)], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


def test_tfds_build_read_back_without_tensorflow(tfds_dir):
    root, written = tfds_dir
    d = load_cifar10(root)
    assert d.source == 'tfds' and d.path == str(root / 'cifar10' / '3.0.2')
    assert '60 train / 20 test' in d.description
    for split in ('train', 'test'):  # tfds shuffles at build time: compare as sets of rows
        images, labels = written[split]
        got = _rows(getattr(d, f'{split}_images'), getattr(d, f'{split}_labels'))
        np.testing.assert_array_equal(got, _rows(images, labels.astype(np.int32)))
    assert 'tensorflow' not in sys.modules


def test_tfds_tfrecord_build_and_missing_shard(tfds_dir, tmp_path):
    root, _ = tfds_dir
    build = tmp_path / 'a' / 'cifar10' / '3.0.2'
    shutil.copytree(root / 'cifar10' / '3.0.2', build)
    info = json.loads((build / 'dataset_info.json').read_text())
    del info['fileFormat']
    (build / 'dataset_info.json').write_text(json.dumps(info))
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path / 'a')
    assert f'{build} is a tfrecord build' in one_line(e) and 'pip install tensorflow' in str(
        e.value
    )

    build = tmp_path / 'b' / 'cifar10' / '3.0.2'
    shutil.copytree(root / 'cifar10' / '3.0.2', build)
    for name in os.listdir(build):
        if 'test.array_record' in name:
            os.remove(build / name)
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path / 'b')
    assert f'{build}: cannot read this tensorflow-datasets build' in one_line(e)


def test_tfds_build_of_something_else(tmp_path):
    """An MNIST-shaped build under the cifar10 name: the features say so."""
    import tensorflow_datasets as tfds

    class Cifar10(tfds.core.GeneratorBasedBuilder, skip_registration=True):
        VERSION = tfds.core.Version('3.0.2')

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict(
                    {
                        'image': tfds.features.Image(shape=(28, 28, 1)),
                        'label': tfds.features.ClassLabel(num_classes=10),
                    }
                ),
            )

        def _split_generators(self, dl_manager):
            return {'train': self._generate_examples(), 'test': self._generate_examples()}

        def _generate_examples(self):
            from PIL import Image

            buffer = io.BytesIO()
            Image.fromarray(np.zeros((28, 28), np.uint8)).save(buffer, format='PNG')
            yield 0, {'image': buffer.getvalue(), 'label': 1}

    Cifar10(data_dir=str(tmp_path), file_format='array_record').download_and_prepare()
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    assert 'expected CIFAR-10: image (32, 32, 3) uint8, label ClassLabel(10)' in one_line(e)


def test_tfds_not_installed(tmp_path, monkeypatch):
    build = tmp_path / 'cifar10' / '3.0.2'
    build.mkdir(parents=True)
    (build / 'dataset_info.json').write_text(json.dumps({'fileFormat': 'array_record'}))
    real = tfds_build.importlib.util.find_spec
    monkeypatch.setattr(
        tfds_build.importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'array_record' else real(name, *a),
    )
    with pytest.raises(DataError) as e:
        load_cifar10(tmp_path)
    assert "array_record is not installed: pip install 'algorithmic_efficiency[tfds]'" in (
        one_line(e)
    )


# ---------------------------------------------------------------------------
# python -m algorithmic_efficiency.datasets cifar10 (a real HTTP server on 127.0.0.1)
# ---------------------------------------------------------------------------


@pytest.fixture
def served_archive(tmp_path, monkeypatch):
    root = tmp_path / 'served'
    written = write_python_version(root, 100, 50, seed=5, archive=True)
    md5 = hashlib.md5((root / 'cifar-10-python.tar.gz').read_bytes()).hexdigest()
    monkeypatch.setattr(download, 'CIFAR10_MD5', {'cifar-10-python.tar.gz': md5})
    return root, written


def test_download_checks_extracts_and_loads(served_archive, tmp_path, capsys):
    root, written = served_archive
    out_dir = tmp_path / 'out'
    with serve(root) as url:
        code = datasets.main(['cifar10', '--data_dir', str(out_dir), '--mirror', url])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out.strip() == f'--data_dir={out_dir}'
        assert 'MD5 ok' in err and 'CIFAR-10 is ready in' in err
        assert sorted(os.listdir(out_dir)) == ['cifar-10-batches-py', 'cifar-10-python.tar.gz']
        d = load_cifar10(out_dir)
        assert d.source == 'python' and d.path == str(out_dir / 'cifar-10-batches-py')
        np.testing.assert_array_equal(d.train_images, written['train'][0])
        # Again: the archive is present (MD5 checked, not fetched), extraction is redone.
        assert datasets.main(['cifar10', '--data_dir', str(out_dir), '--mirror', url]) == 0
        assert 'cifar-10-python.tar.gz: present' in capsys.readouterr().err
    assert sorted(os.listdir(out_dir)) == ['cifar-10-batches-py', 'cifar-10-python.tar.gz']


def test_download_md5_mismatch_leaves_nothing(served_archive, tmp_path, capsys, monkeypatch):
    root, _ = served_archive
    monkeypatch.setattr(download, 'CIFAR10_MD5', {'cifar-10-python.tar.gz': '0' * 32})
    out_dir = tmp_path / 'out'
    with serve(root) as url:
        code = datasets.main(['cifar10', '--data_dir', str(out_dir), '--mirror', url])
    out, err = capsys.readouterr()
    assert code == 1 and out == ''
    line = err.strip().splitlines()[-1]
    assert 'could not download cifar-10-python.tar.gz from any mirror' in line
    assert 'MD5 mismatch' in line
    assert os.listdir(out_dir) == [] and not leftovers(out_dir)


def test_extract_refuses_an_archive_without_the_batches(tmp_path):
    archive = tmp_path / 'cifar-10-python.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        info = tarfile.TarInfo('../../etc/evil')  # never written: not a known member
        info.size = 1
        tar.addfile(info, io.BytesIO(b'x'))
    with pytest.raises(download.DownloadError, match='no cifar-10-batches-py/data_batch_1 inside'):
        download.extract_cifar10(str(archive), str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ['cifar-10-python.tar.gz']
