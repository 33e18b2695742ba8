"""Tuning search spaces: parsing, validation and trial generation.

## Search-space file format

A search space is a JSON file (conventionally `tuning_search_space.json`)
whose top level is an object mapping each hyperparameter name to a
*dimension*:

```json
{
  "learning_rate":    {"min": 1e-4, "max": 1e-2, "scaling": "log"},
  "one_minus_beta_1": {"min": 0.02, "max": 0.3, "scaling": "log"},
  "epsilon":          {"feasible_points": [1e-8, 1e-6]},
  "warmup_steps":     {"min": 0, "max": 100, "type": "int"}
}
```

Names are non-empty strings of letters, digits, `_`, `.` and `-`. Each
trial is a dict with one value per hyperparameter, in the file's order.

A dimension is exactly one of:

* **a range**: `min` and `max` (numbers, `min <= max`, both inclusive) with
  * `scaling`: `"linear"` (default) samples uniformly in the value;
    `"log"` samples uniformly in its logarithm (needs `min > 0`), so that
    e.g. `[1e-4, 1e-2]` puts as many trials in `[1e-4, 1e-3]` as in
    `[1e-3, 1e-2]`. Use it for learning rates, `1 - beta`, weight decay.
  * `type`: `"float"` (default) or `"int"`. Integer dimensions need
    whole-number bounds; every integer in `[min, max]` can be drawn (with
    `"log"`, smaller integers get proportionally more of the trials).
* **a list of feasible points**: `{"feasible_points": [...]}`, a non-empty
  list of numbers, strings or booleans; each trial takes one of them, all
  equally likely (list a value twice to weight it double). A hyperparameter
  fixed for the whole study is `{"feasible_points": [value]}`.

Instead of a space, the top level may be a **list of trials**, each an object
of fixed values; every object must set the same hyperparameters:

```json
[
  {"learning_rate": 0.001, "one_minus_beta_1": 0.1, "epsilon": 1e-8},
  {"learning_rate": 0.003, "one_minus_beta_1": 0.1, "epsilon": 1e-8}
]
```

The run then uses the first `num_tuning_trials` of these, in order, and it
is an error to ask for more trials than the list has.

### How trials are drawn

Each trial is a point `u` in the unit cube `[0, 1)^d`, one coordinate per
hyperparameter in file order, mapped through its dimension:

| dimension | value |
| --- | --- |
| linear float | `min + u * (max - min)` |
| log float | `exp(log(min) + u * (log(max) - log(min)))` |
| int | the float rule over `[min, max + 1)`, rounded down |
| feasible points | `points[floor(u * len(points))]` |

The points come from a **scrambled Halton sequence** (`halton`, the
default), which covers the space far more evenly than independent uniform
draws for the tens of trials a study can afford, or from
`numpy.random.default_rng` (`random`). Both are seeded: the same seed gives
the same trials in the same order, and asking for more trials keeps the
first ones unchanged.

Mistakes (an unknown key, `min > max`, `"scaling": "logarithmic"`, a
bound written as a string, log scaling of a range reaching 0, invalid JSON)
are reported as `SearchSpaceError` with a one-line message naming the
file, the hyperparameter and the fix, e.g.

```
tuning_search_space.json: 'learning_rate': 'scaling' must be 'linear' or 'log', got 'logarithmic'
```

The implementation: :mod:`.space` (the values), :mod:`.parsing` (validation)
and :mod:`.trials` (drawing); this module is their public interface. Only
numpy is imported here: no JAX, no torch.
"""
from __future__ import annotations

from algorithmic_efficiency.search.parsing import load_search_space, parse_search_space
from algorithmic_efficiency.search.space import Dimension, SearchSpace, SearchSpaceError
from algorithmic_efficiency.search.trials import ALGORITHMS, generate_trials

__all__ = [
    'ALGORITHMS',
    'Dimension',
    'SearchSpace',
    'SearchSpaceError',
    'generate_trials',
    'load_search_space',
    'parse_search_space',
]
