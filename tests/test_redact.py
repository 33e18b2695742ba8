"""recording.redact: no user name, home directory or credential in what a sweep writes."""

import json

import pytest
from helpers.sweep_config import PT_SUBMISSION, config

from algorithmic_efficiency import sweep
from algorithmic_efficiency.recording import redact, sysinfo


@pytest.mark.parametrize('url, expected', [
    ('https://user:p@ss@host.org/x', 'https://***@host.org/x'),
    ('https://u:a:b@c@host.org:8080/x', 'https://***@host.org:8080/x'),
    ('https://host.org/simple?token=abc123&page=2', 'https://host.org/simple?token=***&page=2'),
    ('https://h/x?access_token=a;X-Amz-Signature=b', 'https://h/x?access_token=***;X-Amz-Signature=***'),
    ('https://h/x?api_key=k&sig=s&password=p', 'https://h/x?api_key=***&sig=***&password=***'),
    ('https://h/x#a=1&auth=zzz', 'https://h/x#a=1&auth=***'),
    ('https://h/x?keyboard=1&monkey=2', 'https://h/x?keyboard=1&monkey=2'),
    ('https://h/x#egg=pkg', 'https://h/x#egg=pkg'),
    ('git+https://github.com/x/y@v1.0', 'git+https://github.com/x/y@v1.0'),
])
def test_redact_urls_hides_userinfo_and_secret_parameters(url, expected):
    assert redact.redact_urls(url) == expected
    assert sysinfo.redact_url_credentials(f'pkg @ {url}\n') == f'pkg @ {expected}\n'


def test_paths_are_recorded_relative_to_cwd_or_with_home_as_tilde():
    cwd, home = '/home/ann/proj', '/home/ann'
    assert redact.display_path('/home/ann/proj/sub.py', cwd, home) == 'sub.py'
    assert redact.display_path('/home/ann/data/x', cwd, home) == '~/data/x'
    assert redact.display_path('/tmp/logs', cwd, home) == '/tmp/logs'
    assert redact.display_path(None, cwd, home) is None
    text = 'File "/home/ann/proj/a.py", line 1\nFile "/home/ann/lib/b.py"\n/home/annie/c'
    assert redact.redact_paths(text, cwd, home) == (
        'File "a.py", line 1\nFile "~/lib/b.py"\n/home/annie/c')


def test_metadata_and_error_txt_carry_no_home_directory(tmp_path, monkeypatch):
    home = tmp_path / 'home' / 'zed'
    (home / 'work').mkdir(parents=True)
    sub = home / 'work' / 'sub.py'
    sub.write_text(open(PT_SUBMISSION).read().replace(
        'def update_params(', 'def update_params(*a, **k):\n    raise RuntimeError("x")\n\n'
        'def _unused(', 1))
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.chdir(home / 'work')
    log_dir = home / 'logs'
    assert sweep.run(config(str(log_dir), submission_path=str(sub), num_tuning_trials=1)) == 1
    meta_text = (log_dir / 'mnist_pytorch' / 'metadata.json').read_text()
    error = (log_dir / 'mnist_pytorch' / 'run_1' / 'error.txt').read_text()
    assert str(home) not in meta_text and str(home) not in error
    meta = json.loads(meta_text)
    assert meta['log_dir'] == '~/logs' and meta['flags']['submission_path'] == 'sub.py'
    assert 'File "sub.py", line' in error
