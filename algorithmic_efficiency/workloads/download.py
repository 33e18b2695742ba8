"""Downloads data sets (the logic of ``python -m algorithmic_efficiency.datasets``).

Fetches each file from the first mirror that works (``--mirror URL``,
repeatable, replaces the defaults), checks it against the official MD5, and
writes it atomically (a temporary file renamed into place, so a half file
never carries the final name). Files already present with the right MD5 are
skipped. MNIST is four gzip-compressed IDX files; CIFAR-10 is the "python
version" archive, which is then extracted (only its known members, atomically)
to ``cifar-10-batches-py/``. Progress goes to stderr; the ``--data_dir=...``
flag to give the submission runner goes to stdout.

Exit codes: 0 success, 1 download failed, 2 bad usage.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence

DEFAULT_MNIST_MIRRORS = (
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
)

# Official MD5s of the gzip-compressed files (tests monkeypatch this dict).
MNIST_MD5 = {
    'train-images-idx3-ubyte.gz': 'f68b3c2dcbeaaa9fbdd348bbdeb94873',
    'train-labels-idx1-ubyte.gz': 'd53e105ee54ea40749a09fcbcd1e9432',
    't10k-images-idx3-ubyte.gz': '9fb629c4189551a2d022fa330f9573f3',
    't10k-labels-idx1-ubyte.gz': 'ec29112dd5afa0611ce80d1b7f02629c',
}

DEFAULT_CIFAR10_MIRRORS = ('https://www.cs.toronto.edu/~kriz/',)
CIFAR10_ARCHIVE = 'cifar-10-python.tar.gz'
# Official MD5 of the archive (tests monkeypatch this dict).
CIFAR10_MD5 = {CIFAR10_ARCHIVE: 'c58f30108f718f92721af3b95e74349a'}
CIFAR10_DIR = 'cifar-10-batches-py'
# The archive's members that are extracted (anything else in it is ignored).
CIFAR10_MEMBERS = tuple(f'data_batch_{i}' for i in range(1, 6)) + (
    'test_batch',
    'batches.meta',
    'readme.html',
)

DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 16
_URL_SCHEMES = ('http://', 'https://', 'file://')

# progress(file name, bytes so far, total bytes or None, finished)
ProgressFn = Callable[[str, int, 'int | None', bool], None]


class DownloadError(RuntimeError):
    """A file could not be fetched from any mirror; one-line message."""


def md5_of(path: str) -> str:
    digest = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(
    url: str,
    dest_dir: str,
    name: str,
    expected_md5: str,
    timeout: float,
    progress: ProgressFn | None,
) -> str:
    """Downloads url to a temporary file in dest_dir; returns its path once the
    MD5 matches.  Raises OSError/HTTPException/DownloadError; never leaves the
    temporary file behind on failure."""
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{name}.', suffix='.part', dir=dest_dir)
    try:
        digest = hashlib.md5()
        done = 0
        with os.fdopen(fd, 'wb') as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get('Content-Length')
            total = int(length) if length and length.isdigit() else None
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(name, done, total, False)
        if total is not None and done != total:
            raise DownloadError(f'{url}: got {done:,} of {total:,} bytes')
        if digest.hexdigest() != expected_md5:
            raise DownloadError(
                f'MD5 mismatch for {url}: got {digest.hexdigest()}, expected {expected_md5}'
            )
        if progress:
            progress(name, done, total, True)
        return tmp_path
    except BaseException:
        os.unlink(tmp_path)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _describe(url: str, error: BaseException) -> str:
    if isinstance(error, DownloadError):
        return str(error)
    if isinstance(error, urllib.error.HTTPError):
        return f'HTTP {error.code} {error.reason} from {url}'
    if isinstance(error, urllib.error.URLError):
        return f'{url}: {error.reason}'
    return f'{url}: {type(error).__name__}: {error}'


def download_files(
    data_dir: str,
    files: dict[str, str],
    mirrors: Sequence[str],
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: ProgressFn | None = None,
) -> dict[str, str]:
    """Puts each ``{name: md5}`` file, MD5-checked, in data_dir.

    Returns:
      {file name: 'present' | 'downloaded from <mirror>'}.
    Raises:
      DownloadError: a file failed on every mirror (message names it, with the
        last error).
      OSError: data_dir cannot be created.
    """
    if not mirrors:
        raise ValueError('no mirror given')
    mirrors = [m if m.endswith('/') else m + '/' for m in mirrors]
    os.makedirs(data_dir, exist_ok=True)
    report = {}
    for name, expected_md5 in files.items():
        dest = os.path.join(data_dir, name)
        if os.path.isfile(dest) and md5_of(dest) == expected_md5:
            report[name] = 'present'
            continue
        errors = []
        for mirror in mirrors:
            url = mirror + name
            try:
                tmp_path = _fetch(url, data_dir, name, expected_md5, timeout, progress)
            except (OSError, http.client.HTTPException, DownloadError) as e:
                # URLError, HTTPError and timeouts are OSErrors.
                errors.append(_describe(url, e))
                continue
            try:
                os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp made it 0600
                os.replace(tmp_path, dest)
            except OSError:
                os.unlink(tmp_path)
                raise
            report[name] = f'downloaded from {mirror}'
            # Try the mirror that worked first for the remaining files.
            mirrors.remove(mirror)
            mirrors.insert(0, mirror)
            break
        else:
            raise DownloadError(
                # Every mirror tried, each with its error (not only the last one's).
                f"could not download {name} from any mirror ({'; '.join(errors)}); check "
                f'the network or pass --mirror'
            )
    return report


def download_mnist(
    data_dir: str,
    mirrors: Sequence[str] = DEFAULT_MNIST_MIRRORS,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: ProgressFn | None = None,
) -> dict[str, str]:
    """Puts the four MNIST .gz files, MD5-checked, in data_dir (see :func:`download_files`)."""
    return download_files(data_dir, MNIST_MD5, mirrors, timeout, progress)


def extract_cifar10(archive: str, data_dir: str) -> str:
    """Extracts the CIFAR-10 python version's known members to ``data_dir/cifar-10-batches-py``.

    Only regular files named in :data:`CIFAR10_MEMBERS` are written (no path
    from the archive is ever used as is). They go to a temporary directory
    that then replaces any earlier extraction, so a failure leaves no half
    directory under the final name.

    Returns:
      The directory written.
    Raises:
      DownloadError: the archive is unreadable or lacks a batch file.
    """
    target = os.path.join(data_dir, CIFAR10_DIR)
    tmp_dir = tempfile.mkdtemp(prefix=f'.{CIFAR10_DIR}.', dir=data_dir)
    try:
        try:
            with tarfile.open(archive, 'r:gz') as tar:
                for member in tar.getmembers():
                    folder, _, name = member.name.rpartition('/')
                    if folder != CIFAR10_DIR or name not in CIFAR10_MEMBERS or not member.isfile():
                        continue
                    with (
                        tar.extractfile(member) as src,
                        open(os.path.join(tmp_dir, name), 'wb') as dst,
                    ):
                        shutil.copyfileobj(src, dst)
        except (tarfile.TarError, EOFError, zlib.error) as e:
            raise DownloadError(f'{archive}: cannot extract ({e}); delete it and retry') from e
        missing = [n for n in CIFAR10_MEMBERS[:6] if not os.path.isfile(os.path.join(tmp_dir, n))]
        if missing:
            raise DownloadError(
                f'{archive}: no {CIFAR10_DIR}/{missing[0]} inside; is it the CIFAR-10 python '
                'version?'
            )
        os.chmod(tmp_dir, 0o777 & ~_umask())  # mkdtemp made it 0700
        if os.path.isdir(target):
            old = tempfile.mkdtemp(prefix=f'.{CIFAR10_DIR}.old.', dir=data_dir)
            os.replace(target, os.path.join(old, CIFAR10_DIR))
            os.replace(tmp_dir, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_dir, target)
        return target
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def download_cifar10(
    data_dir: str,
    mirrors: Sequence[str] = DEFAULT_CIFAR10_MIRRORS,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: ProgressFn | None = None,
) -> dict[str, str]:
    """Puts the CIFAR-10 python-version archive, MD5-checked, in data_dir and extracts it.

    Returns:
      {name: status} for the archive and the extracted directory.
    """
    report = download_files(data_dir, CIFAR10_MD5, mirrors, timeout, progress)
    extract_cifar10(os.path.join(data_dir, CIFAR10_ARCHIVE), data_dir)
    report[CIFAR10_DIR + '/'] = 'extracted'
    return report


class StderrProgress:
    """Percent progress on stderr: in place on a terminal, else every 25%."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last = {}

    def __call__(self, name, done, total, finished):
        percent = done * 100 // total if total else None
        now = time.monotonic()
        if not finished:
            if self.tty:
                if now - self.last.get(name, 0.0) < 0.1:
                    return
                self.last[name] = now
            else:
                step = percent // 25 if percent is not None else done >> 23
                if step == self.last.get(name, 0) or percent == 100:
                    return
                self.last[name] = step
        size = f'{done:,} / {total:,} bytes ({percent}%)' if total else (f'{done:,} bytes')
        text = f'{name}: {size}{" done, MD5 ok" if finished else ""}'
        if self.tty:
            self.stream.write(f'\r\x1b[K{text}' + ('\n' if finished else ''))
        else:
            self.stream.write(text + '\n')
        self.stream.flush()
