"""Search: the tuning search space and the trials drawn from it.

* :mod:`.spaces` parses and validates a search-space JSON and draws trials;
* :mod:`.halton` is the scrambled Halton sequence behind ``--search_algorithm=halton``;
* :mod:`.seeds` derives every seed of a sweep from its ``--rng_seed``.
"""
