"""Tests for `python -m algorithmic_efficiency.datasets`, against real local
HTTP servers on 127.0.0.1 (never the network)."""

import contextlib
import functools
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest

from algorithmic_efficiency import datasets
from algorithmic_efficiency.workloads import download
from algorithmic_efficiency.workloads.mnist.data import load_mnist

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = list(download.MNIST_MD5)


def idx_gz(array: np.ndarray) -> bytes:
    header = b'\0\0\x08' + bytes([array.ndim]) + struct.pack(f'>{array.ndim}I', *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


@pytest.fixture(scope='module')
def good_files(tmp_path_factory):
    """A served directory with four small, valid MNIST-shaped .gz files."""
    root = tmp_path_factory.mktemp('good')
    rng = np.random.default_rng(0)
    arrays = {
        'train-images-idx3-ubyte.gz': rng.integers(0, 256, (30, 28, 28)),
        'train-labels-idx1-ubyte.gz': rng.integers(0, 10, 30),
        't10k-images-idx3-ubyte.gz': rng.integers(0, 256, (10, 28, 28)),
        't10k-labels-idx1-ubyte.gz': rng.integers(0, 10, 10),
    }
    for name, array in arrays.items():
        (root / name).write_bytes(idx_gz(array))
    md5s = {n: hashlib.md5((root / n).read_bytes()).hexdigest() for n in NAMES}
    return root, md5s, arrays


@pytest.fixture
def small_md5s(good_files, monkeypatch):
    monkeypatch.setattr(download, 'MNIST_MD5', good_files[1])
    return good_files[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@contextlib.contextmanager
def serve(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}/'
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def run_main(args, capsys):
    code = datasets.main(['mnist'] + args)
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(directory):
    return [n for n in os.listdir(directory) if n.endswith('.part')]


def test_download_then_load(good_files, small_md5s, tmp_path, capsys):
    root, _, arrays = good_files
    out_dir = tmp_path / 'out'
    with serve(root) as url:
        code, out, err = run_main(['--data_dir', str(out_dir), '--mirror', url], capsys)
    assert code == 0, err
    assert out.strip() == f'--data_dir={out_dir}'
    assert '(100%)' in err and 'MD5 ok' in err
    for name in NAMES:
        assert (out_dir / name).read_bytes() == (root / name).read_bytes()
    assert not leftovers(out_dir)
    d = load_mnist(str(out_dir))
    assert d.source == 'idx' and d.num_train_examples == 30
    np.testing.assert_array_equal(
        d.train_images, arrays['train-images-idx3-ubyte.gz'].reshape(30, 784)
    )
    np.testing.assert_array_equal(d.test_labels, arrays['t10k-labels-idx1-ubyte.gz'])


def test_md5_mismatch_leaves_no_file(good_files, small_md5s, tmp_path, capsys):
    root, _, _ = good_files
    bad = tmp_path / 'bad'
    shutil.copytree(root, bad)
    blob = bytearray((bad / NAMES[0]).read_bytes())
    blob[-20] ^= 0xFF
    (bad / NAMES[0]).write_bytes(bytes(blob))
    out_dir = tmp_path / 'out'
    with serve(bad) as url:
        code, out, err = run_main(['--data_dir', str(out_dir), '--mirror', url], capsys)
    assert code == 1 and out == ''
    line = err.strip().splitlines()[-1]
    assert f'could not download {NAMES[0]} from any mirror' in line
    assert 'MD5 mismatch' in line and 'pass --mirror' in line
    assert not (out_dir / NAMES[0]).exists()
    assert not leftovers(out_dir)


def test_fallback_to_second_mirror(good_files, small_md5s, tmp_path):
    root, _, _ = good_files
    empty = tmp_path / 'empty'  # every file 404s
    empty.mkdir()
    corrupt = tmp_path / 'corrupt'  # MD5 mismatches
    corrupt.mkdir()
    for name in NAMES:
        (corrupt / name).write_bytes(b'not gzip')
    out_dir = tmp_path / 'out'
    with serve(empty) as url404, serve(corrupt) as bad_url, serve(root) as good:
        report = download.download_mnist(str(out_dir), [url404, bad_url, good], timeout=10)
    assert report == {n: f'downloaded from {good}' for n in NAMES}
    assert load_mnist(out_dir).num_test_examples == 10


def test_skips_present_files(good_files, small_md5s, tmp_path, capsys):
    root, _, _ = good_files
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    shutil.copy(root / NAMES[0], out_dir / NAMES[0])  # good: kept
    (out_dir / NAMES[1]).write_bytes(b'stale')  # wrong MD5: replaced
    partial = tmp_path / 'partial'  # the mirror lacks NAMES[0]
    partial.mkdir()
    for name in NAMES[1:]:
        shutil.copy(root / name, partial / name)
    with serve(partial) as url:
        report = download.download_mnist(str(out_dir), [url])
        assert report[NAMES[0]] == 'present'
        assert all(report[n].startswith('downloaded') for n in NAMES[1:])
        assert (out_dir / NAMES[1]).read_bytes() == (root / NAMES[1]).read_bytes()
        code, out, err = run_main(['--data_dir', str(out_dir), '--mirror', url], capsys)
    assert code == 0 and err.count(': present') == 4
    assert out.strip() == f'--data_dir={out_dir}'


def test_timeout(small_md5s, tmp_path, capsys):
    with socket.socket() as sock:  # accepts connections, never answers
        sock.bind(('127.0.0.1', 0))
        sock.listen(8)
        url = f'http://127.0.0.1:{sock.getsockname()[1]}/'
        code, _, err = run_main(
            ['--data_dir', str(tmp_path), '--mirror', url, '--timeout', '0.3'], capsys
        )
    assert code == 1
    assert 'timed out' in err and 'could not download' in err
    assert not os.listdir(tmp_path)


def test_bad_usage(capsys, tmp_path):
    assert datasets.main([]) == 2
    assert datasets.main(['cifar', '--data_dir', str(tmp_path)]) == 2
    assert datasets.main(['mnist', '--data_dir', str(tmp_path), '--mirror', 'ftp://example/']) == 2
    assert datasets.main(['--help']) == 0
    capsys.readouterr()


def test_subprocess_real_md5s(good_files, tmp_path):
    """The real entry point with the official MD5 table: the small files do not
    match, so it must fail cleanly (exit 1, one line, no final file)."""
    root, _, _ = good_files
    out_dir = tmp_path / 'out'
    with serve(root) as url:
        proc = subprocess.run(
            [
                sys.executable,
                '-m',
                'algorithmic_efficiency.datasets',
                'mnist',
                '--data_dir',
                str(out_dir),
                '--mirror',
                url,
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 1, proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            'error: could not download train-images-idx3-ubyte.gz from any mirror (MD5 mismatch'
        )
    )
    assert os.listdir(out_dir) == []
    usage = subprocess.run(
        [sys.executable, '-m', 'algorithmic_efficiency.datasets'],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2 and 'usage:' in usage.stderr


def test_every_mirror_tried_is_named_with_its_error(good_files, tmp_path, capsys):
    root, _, _ = good_files
    # Two local ports nothing listens on (no network), then a mirror without the files.
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            ports.append(s.getsockname()[1])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with serve(empty) as url:
        mirrors = [f'http://127.0.0.1:{p}/' for p in ports] + [url]
        args = ['--data_dir', str(tmp_path / 'out')]
        for m in mirrors:
            args += ['--mirror', m]
        code, _, err = run_main(args, capsys)
    assert code == 1
    line = err.strip().splitlines()[-1]
    for m in mirrors:
        assert m.rstrip('/') in line, line
    assert 'HTTP 404' in line and line.count(';') >= 2
