"""Which machine ran a trial, in a form that names no machine: a keyed, salted hash.

``trial.json`` records ``host_id`` so ``status`` can tell a trial whose
process died on this machine (look at the PID) from one running elsewhere.
An unsalted ``sha256(hostname)[:16]`` gave the host name back in a few
hundred guesses (host names are short and guessable). Now

    host_id = HMAC-SHA256(key, salt + NUL + hostname)[:16]

* ``key``: 32 random bytes kept on this machine only
  (``$XDG_CACHE_HOME/algorithmic_efficiency/host_key``, else
  ``~/.cache/...``; mode 0600), never written to any output; without it the
  id can't be tested against a guessed name;
* ``salt``: random per sweep run (``trial.json``'s ``host_salt``), so two
  sweeps' ids of one machine can't be linked either.

On the same machine the same key and salt give the same id, which is all
``status`` needs. If the key file can't be created (read-only home), a
per-process key is used: ``status`` then treats the trial as another host's
(stale only after its heartbeat is an hour old). Standard library only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import secrets
import socket

KEY_BYTES = 32


def key_path() -> str:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'algorithmic_efficiency', 'host_key')


@functools.lru_cache(maxsize=1)
def host_key() -> bytes:
    """This machine's secret key (created once, 0600); a per-process one if it can't be."""
    path = key_path()
    try:
        with open(path, 'rb') as f:
            key = f.read()
        if len(key) == KEY_BYTES:
            return key
    except OSError:
        pass
    key = secrets.token_bytes(KEY_BYTES)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f'{path}.{os.getpid()}.tmp'
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'wb') as f:
            f.write(key)
        try:
            os.link(tmp, path)  # the first writer wins; a concurrent one reads it back
        except FileExistsError:
            with open(path, 'rb') as f:
                key = f.read()
        finally:
            os.remove(tmp)
    except OSError:
        pass  # per-process key: still names no machine
    return key


def new_salt() -> str:
    """A sweep run's salt (recorded as trial.json's ``host_salt``)."""
    return secrets.token_hex(8)


def host_id(hostname: str | None = None, salt: str = '') -> str:
    """This host (or `hostname`) as trial.json records it: 16 hex digits naming no machine."""
    name = socket.gethostname() if hostname is None else hostname
    message = f'{salt}\0{name}'.encode('utf-8', 'surrogateescape')
    return hmac.new(host_key(), message, hashlib.sha256).hexdigest()[:16]
