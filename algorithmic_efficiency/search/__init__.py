"""Search: the tuning search space and the trials drawn from it.

* :mod:`.spaces` documents the search-space JSON and is the public interface
  (``load_search_space``, ``parse_search_space``, ``generate_trials``, ...);
  behind it :mod:`.space` holds the values (``Dimension``, ``SearchSpace``),
  :mod:`.parsing` the validation and :mod:`.trials` the drawing of trials;
* :mod:`.halton` is the scrambled Halton sequence behind ``--search_algorithm=halton``;
* :mod:`.seeds` derives every seed of a sweep from its ``--rng_seed``.
"""
