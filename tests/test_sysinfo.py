"""Tests for algorithmic_efficiency.recording.sysinfo."""

import datetime
import importlib.metadata
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys

import pytest
from pyrun import run_python

from algorithmic_efficiency.recording import sysinfo

SECRET = 's3cr3t-value-xyz'

GIT = shutil.which('git')
needs_git = pytest.mark.skipif(GIT is None, reason='git not installed')


def _git(repo, *args):
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME='t',
        GIT_AUTHOR_EMAIL='t@example.com',
        GIT_COMMITTER_NAME='t',
        GIT_COMMITTER_EMAIL='t@example.com',
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM='1',
    )
    subprocess.run(
        [GIT, '-C', str(repo), *args], check=True, env=env, capture_output=True, timeout=30
    )


def _assert_absent(needle, text):
    """`needle` does not occur in `text` (as a token when it is short)."""
    if len(needle) >= 6:
        assert needle not in text
    else:
        assert needle not in re.split(r'[^A-Za-z0-9_-]+', text)


def test_system_metadata_keys_and_types(tmp_path):
    md = sysinfo.system_metadata(str(tmp_path))
    datetime.datetime.fromisoformat(md['datetime'])
    assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?', md['datetime'])
    assert md['python_version'] == '.'.join(map(str, sys.version_info[:3]))
    assert isinstance(md['python_compiler'], str) and md['python_compiler']
    assert isinstance(md['os_platform'], str) and md['os_platform']
    assert isinstance(md['cpu_count'], int) and md['cpu_count'] >= 1
    if 'cpu_count_physical' in md:
        assert isinstance(md['cpu_count_physical'], int)
    assert isinstance(md['mem_total_bytes'], int) and md['mem_total_bytes'] > 0
    if os.path.exists('/proc/cpuinfo'):
        assert isinstance(md['cpu_model_name'], str) and md['cpu_model_name']
    json.dumps(md)  # JSON-serialisable


@needs_git
def test_git_metadata_of_a_temp_repo(tmp_path, caplog):
    repo = tmp_path / 'repo'
    repo.mkdir()
    _git(repo, 'init', '-q')
    _git(repo, 'checkout', '-q', '-b', 'feature/x')
    (repo / 'a.txt').write_text('one\n')
    _git(repo, 'add', 'a.txt')
    _git(repo, 'commit', '-q', '-m', 'first')
    head = subprocess.run(
        [GIT, '-C', str(repo), 'rev-parse', 'HEAD'], capture_output=True, text=True, check=True
    ).stdout
    md = sysinfo.system_metadata(str(repo))
    assert md['git_branch'] == 'feature/x'
    assert md['git_commit_hash'] == head.strip()
    assert md['git_dirty'] is False
    (repo / 'a.txt').write_text('two\n')  # an edit to a tracked file
    assert sysinfo.system_metadata(str(repo))['git_dirty'] is True
    _git(repo, 'checkout', '-q', '--', 'a.txt')
    sub = repo / 'sub'
    sub.mkdir()
    (sub / 'new.txt').write_text('x\n')  # an untracked file counts too
    # repo_dir may be any directory inside the work tree.
    md = sysinfo.system_metadata(str(sub))
    assert md['git_dirty'] is True and md['git_branch'] == 'feature/x'
    # Detached HEAD: the branch is skipped with a warning, the rest is kept.
    _git(repo, 'checkout', '-q', '--detach')
    with caplog.at_level(logging.WARNING):
        md = sysinfo.system_metadata(str(repo))
    assert 'git_branch' not in md and md['git_commit_hash'] == head.strip()
    assert 'detached HEAD' in caplog.text


def test_non_repo_dir_skips_git_keys_with_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        md = sysinfo.system_metadata(str(tmp_path))
    for key in ('git_branch', 'git_commit_hash', 'git_dirty'):
        assert key not in md
        assert f'{key} skipped' in caplog.text
    assert 'python_version' in md


def test_missing_directory_does_not_crash(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        md = sysinfo.system_metadata(str(tmp_path / 'missing'))
    assert 'git_commit_hash' not in md and 'git_commit_hash skipped' in caplog.text


def test_no_tools_on_path(tmp_path, monkeypatch, caplog):
    """git, lscpu and dpkg-query missing, no /proc/cpuinfo: skipped + warned."""
    empty = tmp_path / 'empty_bin'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    monkeypatch.setattr(sysinfo, '_PROC_CPUINFO', str(tmp_path / 'nope'))
    monkeypatch.setattr(sysinfo.platform, 'processor', lambda: '')
    repo_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with caplog.at_level(logging.WARNING):
        md = sysinfo.system_metadata(repo_dir)
        text = sysinfo.packages_text()
    for key in ('git_branch', 'git_commit_hash', 'git_dirty', 'cpu_model_name'):
        assert key not in md
        assert f'{key} skipped' in caplog.text
    assert 'git not found' in caplog.text
    assert '# OS packages: dpkg-query not found' in text
    assert 'dpkg-query not found' in caplog.text
    assert 'python_version' in md and 'cpu_count' in md


def test_no_tools_in_a_subprocess(tmp_path):
    """The same with an empty PATH in a fresh interpreter: no crash."""
    empty = tmp_path / 'empty_bin'
    empty.mkdir()
    code = (
        'import json; from algorithmic_efficiency.recording import sysinfo; '
        'md = sysinfo.system_metadata("."); t = sysinfo.packages_text(); '
        'print(json.dumps(md)); print(t.splitlines()[-1])'
    )
    proc = run_python(code, cwd=tmp_path, env=dict(os.environ, PATH=str(empty)))
    assert proc.returncode == 0, proc.stderr
    md_line, last = proc.stdout.splitlines()[-2:]
    md = json.loads(md_line)
    assert 'git_commit_hash' not in md and 'python_version' in md
    assert last == '# OS packages: dpkg-query not found'
    assert 'git not found' in proc.stderr


def test_no_hostname_or_env_values_leak(tmp_path, monkeypatch):
    monkeypatch.setenv('AE_TEST_SECRET', SECRET)
    hostname = socket.gethostname()
    md_text = json.dumps(sysinfo.system_metadata(None))
    pkgs = sysinfo.packages_text()
    for text in (md_text, pkgs):
        assert SECRET not in text
        if hostname:
            _assert_absent(hostname, text)
    # No git remote URL either.
    assert 'remote' not in md_text


def _fake_dist(root, name, version, direct_url=None):
    info = root / f'{name}-{version}.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    if direct_url is not None:
        (info / 'direct_url.json').write_text(json.dumps(direct_url))


def test_packages_text_fake_distributions(tmp_path):
    first = tmp_path / 'first'
    second = tmp_path / 'second'
    _fake_dist(
        first,
        'fake_pkg',
        '1.0',
        {
            'url': 'https://user:tok3n@example.com/x.git',
            'vcs_info': {'vcs': 'git', 'commit_id': 'abc123', 'requested_revision': 'main'},
        },
    )
    _fake_dist(first, 'Zeta.Pkg', '2.0')
    _fake_dist(first, 'alpha', '0.1')
    _fake_dist(
        first,
        'editable_one',
        '0.3',
        {'url': 'file:///src/editable_one', 'dir_info': {'editable': True}},
    )
    _fake_dist(
        first,
        'wheel_pkg',
        '1.1',
        {
            'url': 'https://__token__:pypi-secret@files.example.org/w-1.1.whl',
            'archive_info': {'hashes': {'sha256': '00'}},
        },
    )
    # Same normalised name later on the path: the first one wins.
    _fake_dist(second, 'Fake-Pkg', '9.9')
    _fake_dist(second, 'beta', '1.0')
    text = sysinfo.packages_text([str(first), str(second)])
    lines = text.splitlines()
    assert lines[0].startswith('# Python packages (importlib.metadata, interpreter ')
    os_idx = next(i for i, line in enumerate(lines) if line.startswith('# OS packages'))
    assert lines[1:os_idx] == [
        'alpha==0.1',
        'beta==1.0',
        'editable_one==0.3 (editable: /src/editable_one)',
        'fake_pkg @ git+https://***@example.com/x.git@abc123',
        'wheel_pkg @ https://***@files.example.org/w-1.1.whl',
        'Zeta.Pkg==2.0',
    ]
    assert 'tok3n' not in text and 'pypi-secret' not in text
    assert 'Fake-Pkg' not in text and '==9.9' not in text


def test_packages_text_bad_direct_url_json(tmp_path, caplog):
    _fake_dist(tmp_path, 'broken', '1.0')
    (tmp_path / 'broken-1.0.dist-info' / 'direct_url.json').write_text('{nope')
    with caplog.at_level(logging.WARNING):
        text = sysinfo.packages_text([str(tmp_path)])
    assert 'broken==1.0' in text.splitlines()
    assert 'direct_url.json' in caplog.text


def test_package_names_and_versions_agree_with_the_metadata_parser():
    # The header scan that replaced dist.metadata (0.25 s per run) reads the same values.
    dists = list(importlib.metadata.distributions())
    assert len(dists) > 20
    for dist in dists:
        assert sysinfo._name_and_version(dist) == (dist.metadata['Name'], dist.version)


def test_unusual_metadata_headers_fall_back_to_the_parser(tmp_path):
    info = tmp_path / 'odd-1.0.dist-info'
    info.mkdir()
    # Header names are case-insensitive for the parser; the scan only knows 'Name:'.
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nname: odd\nversion: 1.0\n\nName: x\n')
    assert 'odd==1.0' in sysinfo.packages_text([str(tmp_path)]).splitlines()


def test_packages_text_default_path_lists_this_environment():
    text = sysinfo.packages_text()
    names = {
        re.split(r'[=@ ]', line)[0].lower()
        for line in text.splitlines()
        if line and not line.startswith('#')
    }
    assert {'pandas', 'pyarrow', 'psutil'} <= names
    if shutil.which('dpkg-query'):
        assert '# OS packages (dpkg-query)' in text
        assert any(line.startswith('bash=') for line in text.splitlines())


@pytest.mark.parametrize(
    'text,expected',
    [
        ('https://user:tok3n@example.com/x.git', 'https://***@example.com/x.git'),
        ('https://tok3n@example.com/x', 'https://***@example.com/x'),
        (
            '--index-url https://__token__:pypi-AgE@pypi.example.org/simple',
            '--index-url https://***@pypi.example.org/simple',
        ),
        (
            '--extra-index-url=http://u:p@10.0.0.1:8080/simple/',
            '--extra-index-url=http://***@10.0.0.1:8080/simple/',
        ),
        ('pkg @ git+https://u:p@github.com/x/y@v1', 'pkg @ git+https://***@github.com/x/y@v1'),
        ('a https://u:p@h1/x and ftp://t@h2/y', 'a https://***@h1/x and ftp://***@h2/y'),
        # Left alone: no credentials.
        ('git+https://github.com/x/y@v1.0', 'git+https://github.com/x/y@v1.0'),
        ('https://example.com/a@b', 'https://example.com/a@b'),
        ('mail me: someone@example.com', 'mail me: someone@example.com'),
        ('https://example.com/?q=a@b', 'https://example.com/?q=a@b'),
        ('plain text', 'plain text'),
    ],
)
def test_redact_url_credentials(text, expected):
    assert sysinfo.redact_url_credentials(text) == expected


def test_sysinfo_import_is_light():
    code = (
        'import sys; import algorithmic_efficiency.recording.sysinfo; '
        'print(sorted({"pandas", "pyarrow", "psutil", "jax", "torch"} '
        '& set(sys.modules)))'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert out.strip() == '[]'
