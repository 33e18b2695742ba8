"""NAdamW (AdamW with Nesterov momentum) for the language models, in PyTorch.

PyTorch's ``NAdam`` with ``decoupled_weight_decay=True``.

Everything but the update rule is the AdamW baseline's
(``baselines/lm/lm_pytorch/submission.py``: hyperparameters, batch sizes,
warm-up and cosine schedule), loaded from that file so the two cannot drift.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from algorithmic_efficiency import spec

_HERE = os.path.dirname(os.path.abspath(__file__))
_PATH = os.path.join(_HERE, '..', '..', 'lm_pytorch', 'submission.py')
_spec = importlib.util.spec_from_file_location('lm_pytorch_adamw_baseline', _PATH)
_adamw = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_adamw)

get_batch_size = _adamw.get_batch_size
data_selection = _adamw.data_selection


def init_optimizer_state(
    workload: spec.Workload,
    model_params: Any,
    model_state: Any,
    hyperparameters: spec.Hyperparameters,
    rng: Any,
) -> Any:
    return _adamw.init_optimizer_state(
        workload, model_params, model_state, hyperparameters, rng, nesterov=True
    )


update_params = _adamw.update_params  # the rule lives in the optimizer init_optimizer_state made
