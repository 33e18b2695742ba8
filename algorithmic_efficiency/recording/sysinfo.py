"""System metadata (metadata.json) and the installed-packages list
(packages.txt) of a tuning sweep.

Privacy: nothing here records a hostname, a username, a git remote URL or the
value of any environment variable. URLs in packages.txt have their
credentials replaced by ``***``, and paths under the home directory are shown
as ``~/...``. Every value that cannot be determined is skipped with a
``logging.warning``; nothing here raises because of the machine it runs on.

Only the standard library is imported at import time (psutil lazily).
"""

import datetime
import importlib.metadata
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
from urllib.parse import unquote, urlsplit

from algorithmic_efficiency.recording import redact

_log = logging.getLogger(__name__)

__all__ = ['packages_text', 'redact_url_credentials', 'system_metadata']

_TIMEOUT_S = 10
_DPKG_TIMEOUT_S = 30
_PROC_CPUINFO = '/proc/cpuinfo'
_PROC_MEMINFO = '/proc/meminfo'

def redact_url_credentials(text: str) -> str:
    """Replaces URL credentials with ``***`` anywhere in `text` (see :mod:`.redact`).

    ``scheme://user:token@host`` and ``scheme://token@host`` become
    ``scheme://***@host`` (including in pip-style ``--index-url`` lines; the
    password may hold ``@``); secret-named query and fragment parameters
    (``?token=``, ``#...&auth=``) keep their names and lose their values.
    URLs without credentials are left alone.
    """
    return redact.redact_urls(text)


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env['LC_ALL'] = 'C'
    env['GIT_TERMINAL_PROMPT'] = '0'
    env['GIT_OPTIONAL_LOCKS'] = '0'  # `git status` must not take index.lock
    for var in ('GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_CEILING_DIRECTORIES'):
        env.pop(var, None)
    return env


def _run(argv: list[str], cwd: str | None = None, timeout: float = _TIMEOUT_S) -> str:
    """Runs argv (argv[0] resolved on PATH); returns stdout or raises OSError."""
    exe = shutil.which(argv[0])
    if exe is None:
        raise FileNotFoundError(f'{argv[0]} not found on PATH')
    try:
        proc = subprocess.run(
            [exe] + argv[1:],
            cwd=cwd,
            env=_subprocess_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise OSError(
            f'{argv[0]} {argv[1] if len(argv) > 1 else ""} timed out after {timeout} s'
        ) from e
    if proc.returncode != 0:
        err = proc.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise OSError(
            f'{" ".join(argv[:3])} exited with {proc.returncode}'
            + (f': {err[0][:200]}' if err else '')
        )
    return proc.stdout.decode('utf-8', 'replace')


def _skip(key: str, why) -> None:
    _log.warning('system metadata: %s skipped: %s', key, why)


def _git_metadata(  # noqa: C901  each git query may fail on its own and is skipped alone
    repo_dir: str | None,
) -> dict[str, object]:
    keys = ('git_branch', 'git_commit_hash', 'git_dirty')
    if repo_dir is None:
        # The checkout this package was imported from.
        repo_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isdir(repo_dir):
        for k in keys:
            _skip(k, f'{repo_dir!r} is not a directory')
        return {}
    if shutil.which('git') is None:
        for k in keys:
            _skip(k, 'git not found on PATH')
        return {}
    out: dict[str, object] = {}
    try:
        inside = _run(['git', '-C', repo_dir, 'rev-parse', '--is-inside-work-tree']).strip()
        if inside != 'true':
            raise OSError('not inside a git work tree')
    except OSError as e:
        for k in keys:
            _skip(k, f'{repo_dir!r}: {e}')
        return {}
    try:
        branch = _run(['git', '-C', repo_dir, 'symbolic-ref', '--short', '-q', 'HEAD']).strip()
        if branch:
            out['git_branch'] = redact.redact_user_name(branch)  # 'alice/fix' -> '<user>/fix'
        else:
            _skip('git_branch', 'detached HEAD')
    except OSError:
        _skip('git_branch', 'detached HEAD')
    try:
        commit = _run(['git', '-C', repo_dir, 'rev-parse', '--verify', '-q', 'HEAD']).strip()
        if re.fullmatch(r'[0-9a-f]{40}([0-9a-f]{24})?', commit):
            out['git_commit_hash'] = commit
        else:
            _skip('git_commit_hash', 'no commit yet')
    except OSError as e:
        _skip('git_commit_hash', f'no commit yet ({e})')
    try:
        status = _run(['git', '-C', repo_dir, 'status', '--porcelain'])
        out['git_dirty'] = bool(status.strip())
    except OSError as e:
        _skip('git_dirty', e)
    return out


def _cpu_model_name() -> str | None:
    try:
        with open(_PROC_CPUINFO, encoding='utf-8', errors='replace') as f:
            for line in f:
                key, sep, value = line.partition(':')
                if sep and key.strip().lower() == 'model name' and value.strip():
                    return value.strip()
    except OSError:
        pass
    try:
        for line in _run(['lscpu']).splitlines():
            key, sep, value = line.partition(':')
            if sep and key.strip() == 'Model name' and value.strip():
                return value.strip()
    except OSError:
        pass
    try:
        name = platform.processor()
    except Exception:  # noqa: BLE001
        name = ''
    return name.strip() or None


def _mem_total_bytes() -> int | None:
    try:
        import psutil  # optional here: a missing psutil leaves the key out

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001, S110  (no psutil: fall back)
        pass
    try:
        with open(_PROC_MEMINFO, encoding='ascii', errors='replace') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (ValueError, OSError, AttributeError):
        return None


def system_metadata(repo_dir: str | None) -> dict:
    """System metadata for metadata.json.

    Keys: datetime, python_version, python_compiler, os_platform, git_branch,
    git_commit_hash, git_dirty, cpu_model_name, cpu_count, cpu_count_physical,
    mem_total_bytes. git_* describe the work tree containing `repo_dir` (None:
    the checkout this package was imported from). A key that cannot be
    determined (git missing, not a repository, detached HEAD for git_branch,
    ...) is left out with a logging.warning.
    """
    md: dict[str, object] = {
        'datetime': datetime.datetime.now().isoformat(),
    }

    def put(key, fn):
        try:
            value = fn()
        except Exception as e:  # noqa: BLE001
            _skip(key, f'{type(e).__name__}: {e}')
            return
        if value is None or value == '':
            _skip(key, 'could not be determined')
        else:
            md[key] = value

    put('python_version', platform.python_version)
    put('python_compiler', platform.python_compiler)
    put('os_platform', platform.platform)
    try:
        md.update(_git_metadata(repo_dir))
    except Exception as e:  # noqa: BLE001
        _skip('git_*', f'{type(e).__name__}: {e}')
    put('cpu_model_name', _cpu_model_name)
    put('cpu_count', os.cpu_count)

    def physical():
        import psutil  # optional here: put() records None if it is missing

        return psutil.cpu_count(logical=False)

    put('cpu_count_physical', physical)
    put('mem_total_bytes', _mem_total_bytes)
    return md


# ---------------------------------------------------------------------------
# packages.txt
# ---------------------------------------------------------------------------
def _normalize(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _home_relative(path: str) -> str:
    """Shows paths under the home directory as ~/... (no username)."""
    try:
        home = os.path.expanduser('~')
    except Exception:  # noqa: BLE001
        return path
    if home and home not in ('/', '~'):
        home = home.rstrip('/')
        if path == home:
            return '~'
        if path.startswith(home + '/'):
            return '~' + path[len(home) :]
    return path


def _file_url_path(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme == 'file' else url


def _home_relative_url(url: str) -> str:
    if url.startswith('file://'):
        path = _file_url_path(url)
        shown = _home_relative(path)
        if shown != path:
            return 'file://' + shown
    return url


def _package_line(dist, name: str, version: str) -> str:
    plain = f'{name}=={version}'
    try:
        raw = dist.read_text('direct_url.json')
    except Exception:  # noqa: BLE001
        raw = None
    if not raw:
        return plain
    try:
        info = json.loads(raw)
        url = info['url']
        if not isinstance(url, str):
            raise TypeError('url is not a string')
    except Exception as e:  # noqa: BLE001
        _log.warning('packages.txt: %s: unreadable direct_url.json (%s)', name, e)
        return plain
    url = redact_url_credentials(url)
    vcs_info = info.get('vcs_info')
    dir_info = info.get('dir_info')
    subdir = info.get('subdirectory')
    fragment = f'#subdirectory={subdir}' if subdir else ''
    if isinstance(vcs_info, dict):
        vcs = vcs_info.get('vcs', 'git')
        commit = vcs_info.get('commit_id') or vcs_info.get('requested_revision')
        ref = f'@{commit}' if commit else ''
        return f'{name} @ {vcs}+{url}{ref}{fragment}'
    if isinstance(dir_info, dict) and dir_info.get('editable'):
        return f'{plain} (editable: {_home_relative(_file_url_path(url))})'
    return f'{name} @ {_home_relative_url(url)}{fragment}'


def _name_and_version(dist) -> tuple[str | None, str | None]:
    """``Name`` and ``Version`` from the head of a distribution's METADATA.

    ``dist.metadata`` runs the e-mail parser over the whole file (long
    descriptions included), twice with ``dist.version``: for ~120 packages
    that is 0.25 s of every run's start-up; scanning the header lines up to
    the first blank line gives the same two fields in a tenth of the time.
    Anything unusual (no METADATA, a field missing) takes the parser's way.
    """
    text = dist.read_text('METADATA') or dist.read_text('PKG-INFO') or ''
    name = version = None
    for line in text.splitlines():
        if not line.strip():
            break  # end of the headers
        if name is None and line.startswith('Name:'):
            name = line[5:].strip()
        elif version is None and line.startswith('Version:'):
            version = line[8:].strip()
    if name and version:
        return name, version
    return dist.metadata['Name'], dist.version


def _python_packages(paths: list[str] | None) -> list[str]:
    seen = set()
    entries = []
    for dist in importlib.metadata.distributions(
        **({} if paths is None else {'path': list(paths)})
    ):
        try:
            name, version = _name_and_version(dist)
        except Exception:  # noqa: BLE001, S112  (a broken dist-info)
            continue
        if not name:
            continue
        key = _normalize(name)
        if key in seen:  # first on the path wins, like import
            continue
        seen.add(key)
        entries.append((name.lower(), name, _package_line(dist, name, version)))
    entries.sort()
    return [line for _, _, line in entries]


def _os_packages() -> list[str]:
    if shutil.which('dpkg-query') is None:
        _log.warning('packages.txt: OS packages skipped: dpkg-query not found')
        return ['# OS packages: dpkg-query not found']
    try:
        out = _run(
            ['dpkg-query', '-W', '-f=${db:Status-Abbrev}\t${binary:Package}=${Version}\n'],
            timeout=_DPKG_TIMEOUT_S,
        )
    except OSError as e:
        _log.warning('packages.txt: OS packages skipped: %s', e)
        return [f'# OS packages: dpkg-query failed ({e})']
    lines = []
    for line in out.splitlines():
        status, sep, pkg = line.partition('\t')
        if sep and status.startswith('ii'):  # installed (not just configured)
            lines.append(pkg)
    return ['# OS packages (dpkg-query)'] + sorted(lines)


def packages_text(paths: list[str] | None = None) -> str:
    """Content of packages.txt: Python distributions, then OS packages.

    Python packages come from importlib.metadata on `paths` (default
    sys.path), sorted case-insensitively and deduplicated by normalised name
    (the first on the path wins, like import). Distributions installed from a
    URL (PEP 610 direct_url.json) show it, with the VCS and commit, and with
    credentials redacted; editable installs show their source directory. OS
    packages are the installed dpkg packages, when dpkg-query exists.
    """
    exe = _home_relative(sys.executable or 'unknown')
    lines = [f'# Python packages (importlib.metadata, interpreter {exe})']
    lines += _python_packages(paths)
    lines += _os_packages()
    return redact_url_credentials('\n'.join(lines) + '\n')
