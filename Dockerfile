# The runner in a GPU image, one image per framework (the other one is not installed):
#
#   docker build --build-arg framework=jax -t algoperf-jax .
#   docker build --build-arg framework=pytorch -t algoperf-pytorch .
#   docker run --rm --gpus all --user "$(id -u):$(id -g)" -v "$LOGS":/logs algoperf-jax \
#       --framework=jax --workload=mnist_jax ... --log_dir=/logs
#
# docker/README.md has build, run, GPU selection, volumes, file ownership and what the GPU
# columns mean. This image is NOT built in this project's CI (no Docker engine there): CI
# lints this file with hadolint and runs docker/entrypoint.sh outside Docker
# (tests/test_docker.py). Pins were resolved for linux/amd64.

# jax or pytorch. Anything else fails the build: first at `FROM cuda-<value>` (no such
# stage), and the install step below rejects it too.
ARG framework=jax

# Bases: the CUDA "base" flavour (driver glue, the forward-compatibility libraries, cudart;
# no cuDNN, no cuBLAS). Each framework brings the CUDA libraries it was built against as pip
# wheels (jax[cuda12]: nvidia-*-cu12 12.9; torch 2.13.0 from PyPI: CUDA 13.0). A
# cudnn-runtime base would put a second, different cuDNN next to the framework's own: the
# 2022 image's failure. Hence also one base per framework, matching its CUDA major version,
# so the NVIDIA Container Toolkit checks the host driver against the CUDA the framework
# really needs. Pinned by tag and digest (a digest wins over the tag when both are given).
# The digests are the ones public projects pin for these tags; they could not be checked
# against the registry from where this file was written (no Docker engine): check them
# before relying on them, see docker/README.md "Pins".
FROM nvidia/cuda:12.9.1-base-ubuntu22.04@sha256:59436e8ac61921052d8f420be8b8cb8b117f1d7cc643397a289e37aaa0b83ea1 AS cuda-jax
FROM nvidia/cuda:13.0.3-base-ubuntu22.04@sha256:73ab6dfb3814a5097cd456736e70650ef9dc72343be4117d0400de78168760fe AS cuda-pytorch

# DL3006 (untagged FROM): cuda-${framework} is one of the two stages above, each pinned
# by tag and digest; hadolint cannot resolve a stage name built from an ARG.
# hadolint ignore=DL3006
FROM cuda-${framework}
ARG framework
ARG DEBIAN_FRONTEND=noninteractive

LABEL org.opencontainers.image.title="algoperf-${framework}" \
      org.opencontainers.image.description="algorithmic_efficiency submission_runner, ${framework} on CUDA"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# OS packages: Python 3.11 (Ubuntu 22.04's own build), git (the runner records the commit of
# its code tree in metadata.json), tini (PID 1: `docker stop` and Ctrl-C reach Python, which
# does not handle SIGTERM itself as PID 1).
# Not version-pinned (DL3008): Ubuntu's archive keeps only the newest build of a package, so
# `pkg=version` pins break the build at the next security update. What stays fixed is the
# digest-pinned base (Ubuntu release, apt sources); the exact versions a run used are
# recorded in every sweep's packages.txt (dpkg-query).
# safe.directory: the code tree belongs to root while runs use any UID (`--user`); without
# it git refuses to read the repository and the git_* metadata would be skipped.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv git tini \
 && rm -rf /var/lib/apt/lists/* \
 && git config --system --add safe.directory /opt/algoperf \
 && groupadd --gid 1000 algoperf \
 && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/algoperf \
      --shell /bin/bash algoperf \
 && chmod 1777 /home/algoperf \
 && install -d -m 1777 /logs

# A venv owned by root: nothing is written into it at run time. pip >= 23.3 is needed (older
# pip ignores the underscore extras such as jax_gpu without a word); setuptools builds the
# project (--no-build-isolation, so no unpinned setuptools is fetched for the build).
RUN python3.11 -m venv /opt/venv \
 && /opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check \
      pip==25.2 setuptools==84.2.1

# PATH: the venv first (python3 and python are the venv's). HOME: a writable home for any
# UID (`docker run --user`), for whatever a library caches there. PYTHONDONTWRITEBYTECODE:
# no __pycache__ written into the image or into mounted submission folders (the image's
# code is precompiled below). All three are defaults: `docker run -e NAME=...` overrides
# them. XLA_PYTHON_CLIENT_PREALLOCATE is deliberately NOT set here: the runner sets it to
# false for JAX only when it is unset, so `docker run -e XLA_PYTHON_CLIENT_PREALLOCATE=true`
# is honoured.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/algoperf \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /opt/algoperf

# Dependencies first, from setup.py and constraints.txt alone, so that a code change does
# not re-download the frameworks. constraints.txt pins everything the CPU install uses; the
# GPU-only packages it cannot pin (resolved with pip 25.2 for CPython 3.11, linux/amd64)
# are pinned here.
COPY setup.py constraints.txt ./
RUN case "$framework" in \
      jax) set -- \
        jax-cuda12-pjrt==0.10.2 jax-cuda12-plugin==0.10.2 \
        nvidia-cublas-cu12==12.9.3.13 nvidia-cuda-cccl-cu12==12.9.27 \
        nvidia-cuda-cupti-cu12==12.9.79 nvidia-cuda-nvcc-cu12==12.9.86 \
        nvidia-cuda-nvrtc-cu12==12.9.86 nvidia-cuda-runtime-cu12==12.9.79 \
        nvidia-cudnn-cu12==9.28.0.42 nvidia-cufft-cu12==11.4.1.4 \
        nvidia-cusolver-cu12==11.7.5.82 nvidia-cusparse-cu12==12.5.10.65 \
        nvidia-nccl-cu12==2.32.3 nvidia-nvjitlink-cu12==12.9.86 nvidia-nvshmem-cu12==3.8.0 ;; \
      pytorch) set -- \
        cuda-bindings==13.5.0 cuda-pathfinder==1.9.0 cuda-toolkit==13.0.3.0 \
        nvidia-cublas==13.1.1.3 nvidia-cuda-cupti==13.0.85 nvidia-cuda-nvrtc==13.0.88 \
        nvidia-cuda-runtime==13.0.96 nvidia-cudnn-cu13==9.20.0.48 nvidia-cufft==12.0.0.61 \
        nvidia-cufile==1.15.1.6 nvidia-curand==10.4.0.35 nvidia-cusolver==12.0.4.66 \
        nvidia-cusparse==12.6.3.3 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.29.7 \
        nvidia-nvjitlink==13.5.37 nvidia-nvshmem-cu13==3.4.5 nvidia-nvtx==13.0.85 \
        triton==3.7.1 ;; \
      *) echo "--build-arg framework must be jax or pytorch, got '$framework'" >&2; exit 1 ;; \
    esac \
 && printf '%s\n' setuptools==84.2.1 "$@" > /tmp/gpu-constraints.txt \
 && pip install --no-cache-dir --disable-pip-version-check --no-build-isolation \
      -c constraints.txt -c /tmp/gpu-constraints.txt ".[${framework}_gpu,tfds,ray]" \
 && rm -rf /tmp/gpu-constraints.txt build ./*.egg-info

# The project itself, editable from /opt/algoperf, so the runner's code tree is this folder
# with its .git (.dockerignore keeps .git but drops its config, reflogs and FETCH_HEAD,
# which can hold remote URLs, and its hooks): metadata.json then records the commit the
# image was built from, and git_dirty says whether the build context differed from it.
# a+rX: readable by any UID even when the build context was checked out with a private
# umask.
COPY . .
RUN pip install --no-cache-dir --disable-pip-version-check --no-build-isolation --no-deps -e . \
 && chmod -R a+rX /opt/algoperf \
 && chmod 0755 docker/entrypoint.sh \
 && python -m compileall -q algorithmic_efficiency baselines

USER 1000:1000

# Smoke test, as the image's user, on the CPU (no GPU at build time): a 2-step sweep of the
# embedded MNIST sample through the entrypoint, recording into a throw-away log dir.
RUN tmp="$(mktemp -d)" \
 && HOME="$tmp" JAX_PLATFORMS=cpu docker/entrypoint.sh \
      --workload="mnist_${framework}" \
      --submission_path="baselines/mnist/mnist_${framework}/submission.py" \
      --tuning_search_space=baselines/mnist/tuning_search_space.json \
      --num_tuning_trials=1 --max_global_steps=2 --rng_seed=0 --log_dir="$tmp/logs" \
 && rm -rf "$tmp"

ENTRYPOINT ["/usr/bin/tini", "-s", "--", "/opt/algoperf/docker/entrypoint.sh"]
