"""What the recorder never writes: credentials in URLs and the user's name in paths.

* :func:`redact_urls` — every credential-bearing part of every URL in a text:
  the userinfo (``user:pass@``, where the password may itself hold ``@`` or
  ``:``), query parameters and fragment parameters whose names look secret
  (``token``, ``auth``, ``key``, ``secret``, ``password``, ``sig``, ...).
* :func:`display_path` — a path relative to the working directory when inside
  it, else with the home directory as ``~``.
* :func:`redact_paths` — the same for every path inside a text (tracebacks).
* :func:`redact_user_name` — the user's login name (and home folder's name)
  replaced by ``<user>`` in a text (a git branch named ``alice/fix``).
"""

from __future__ import annotations

import os
import re

REDACTED = '***'

# A URL runs to whitespace, a quote or an angle bracket.
_URL = re.compile(r'\b(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>[^\s"\'<>]+)')
# Parameter names that carry secrets: whole names or name parts (access_token,
# X-Amz-Signature, api-key, client_secret, sig, pwd, ...).
_SECRET_NAME = re.compile(
    r'(^|[_\-.])(token|auth|authorization|key|apikey|secret|password|passwd|pwd|pass|sig|'
    r'signature|credential|credentials|session|sessionid|jwt|bearer|code)($|[_\-.])'
    r'|^(access_token|refresh_token|id_token|private_token|client_secret|x-amz-signature|'
    r'x-amz-credential|x-amz-security-token|sv|se|sp|skoid|sktid)$',
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a query or fragment parameter named `name` should have its value hidden."""
    return bool(_SECRET_NAME.search(name.strip()))


def _redact_params(params: str) -> str:
    """``a=1&token=x`` -> ``a=1&token=***`` (``&`` and ``;`` separators kept)."""
    parts = re.split(r'([&;])', params)
    for i in range(0, len(parts), 2):
        name, sep, value = parts[i].partition('=')
        if sep and value and is_secret_name(name):
            parts[i] = f'{name}={REDACTED}'
    return ''.join(parts)


def _redact_url(match: re.Match) -> str:
    scheme, rest = match.group('scheme'), match.group('rest')
    rest, hash_, fragment = rest.partition('#')
    rest, qmark, query = rest.partition('?')
    authority, slash, path = rest.partition('/')
    if '@' in authority:
        # The host follows the *last* '@': a password may hold '@' and ':'.
        authority = f'{REDACTED}@{authority.rpartition("@")[2]}'
    out = f'{scheme}{authority}{slash}{path}'
    if qmark:
        out += '?' + _redact_params(query)
    if hash_:
        out += '#' + (_redact_params(fragment) if '=' in fragment else fragment)
    return out


def redact_urls(text: str) -> str:
    """Hides every URL credential in `text`: userinfo, secret query and fragment parameters.

    ``https://user:p@ss@host/x?token=abc&page=2#auth=def`` becomes
    ``https://***@host/x?token=***&page=2#auth=***``. URLs without
    credentials are unchanged, and so is a pip ``git+https://host/x@v1``
    (the ``@`` after the path is a revision, not a user).
    """
    return _URL.sub(_redact_url, text)


def display_path(path: str | None, cwd: str | None = None, home: str | None = None) -> str | None:
    """`path` as it may be recorded: relative to `cwd` when inside it, else ``~/...``.

    Args:
      cwd: the working directory (default: the current one).
      home: the home directory (default: ``~`` expanded).
    """
    if not path:
        return path
    cwd = os.path.abspath(cwd or os.getcwd())
    home = os.path.abspath(home or os.path.expanduser('~'))
    full = os.path.abspath(os.path.expanduser(path))
    if cwd != os.sep and (full == cwd or full.startswith(cwd + os.sep)):
        return os.path.relpath(full, cwd)
    if home != os.sep and (full == home or full.startswith(home + os.sep)):
        return '~' + full[len(home):]
    return full


def redact_paths(text: str, cwd: str | None = None, home: str | None = None) -> str:
    """Every absolute path in `text` under `cwd` made relative, and under `home` made ``~``."""
    cwd = os.path.abspath(cwd or os.getcwd())
    home = os.path.abspath(home or os.path.expanduser('~'))
    # The longer prefix first: the working directory usually lies in the home directory.
    for prefix, replacement in sorted(
        ((cwd, ''), (home, '~')), key=lambda p: len(p[0]), reverse=True
    ):
        if prefix == os.sep:
            continue
        pattern = re.escape(prefix) + r'(?=[/\\\s"\',:;)\]]|$)'
        if replacement:
            text = re.sub(pattern, replacement, text)
        else:  # '<cwd>/x' -> 'x'
            text = re.sub(pattern + r'[/\\]?', '', text)
    return text


USER_PLACEHOLDER = '<user>'


def user_names() -> list[str]:
    """This user's names as they appear in text: the login name, the home folder's name."""
    import getpass  # pylint: disable=import-outside-toplevel

    names = set()
    try:
        names.add(getpass.getuser())
    except (OSError, KeyError, ImportError):
        pass
    home = os.path.expanduser('~')
    if home not in ('', os.sep, '~'):
        names.add(os.path.basename(os.path.normpath(home)))
    # Longest first (alice.smith before alice); 2 letters at least, else every text matches.
    return sorted((n for n in names if len(n) >= 2), key=len, reverse=True)


def redact_user_name(text: str, names: list[str] | None = None) -> str:
    """`text` with every occurrence of the user's names (any case) replaced by ``<user>``."""
    for name in user_names() if names is None else names:
        text = re.sub(re.escape(name), USER_PLACEHOLDER, text, flags=re.IGNORECASE)
    return text
