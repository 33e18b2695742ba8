"""``algoperf.spec``: the peer's names for this project's contract.

Everything is imported from :mod:`algorithmic_efficiency.spec`, never
redefined: the enums, ``ShapeTuple`` and ``TrainingCompleteError`` a submission
gets here are the very objects the workloads and the trial loop use.
"""

from algorithmic_efficiency.spec import (  # noqa: F401  (re-exported)
    Batch,
    DataSelectionFn,
    EvalResults,
    ForwardPassMode,
    GetBatchSizeFn,
    Hyperparameters,
    InitOptimizerFn,
    LossType,
    ModelAuxiliaryState,
    ModelInitState,
    OptimizerState,
    ParameterContainer,
    ParameterKey,
    ParameterShapeTree,
    ParameterType,
    ParameterTypeTree,
    PrepareForEvalFn,
    RandomState,
    Shape,
    ShapeTuple,
    Steps,
    Tensor,
    Timing,
    TrainingCompleteError,
    UpdateParamsFn,
    UpdateReturn,
    Workload,
)
