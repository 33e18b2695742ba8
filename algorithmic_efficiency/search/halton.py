"""Scrambled Halton sequences (numpy only).

``halton(num_points, dim, seed)`` returns ``num_points`` points of the
``dim``-dimensional Halton sequence in ``[0, 1)``: coordinate ``d`` of point
``n`` is the radical inverse of ``n`` in the ``d``-th prime base ``b``
(``2, 3, 5, 7, ...``), i.e. the base-``b`` digits of ``n`` mirrored about the
radix point.

Scrambling (``seed`` an int) applies a random permutation of ``{0..b-1}`` to
every digit *position* of every coordinate, independently drawn per position
and per coordinate (the "random digit permutation" scrambling of
Braaten-Weller / Mascagni-Chi, with random rather than hand-picked
permutations). Digits are taken to double precision, so the infinitely many
leading zeros of ``n``'s expansion are scrambled too and the points are not
confined to a grid. Scrambling

* keeps the stratification: for any ``m``, each block of ``b**m`` consecutive
  indices starting at a multiple of ``b**m`` puts exactly one point in each
  of the ``b**m`` equal bins of that coordinate;
* breaks the strong correlations between the coordinates of large prime
  bases that make the plain Halton sequence poor beyond ~10 dimensions;
* makes the points a reproducible function of ``seed``.

Scrambled sequences start at index 0 (which is no longer a special point);
the unscrambled one (``seed=None``) starts at index 1, skipping the all-zero
point. Prefixes are stable: ``halton(n, d, s)`` is the first ``n`` rows of
``halton(n + k, d, s)``, and (for scrambled sequences) the first ``d``
columns of ``halton(n, d + k, s)``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

__all__ = ['first_primes', 'halton']

# Enough digits that the last one is below double-precision resolution.
_MANTISSA_BITS = 53


def first_primes(count: int) -> list[int]:
    """The first ``count`` primes, ``[2, 3, 5, ...]``."""
    if count <= 0:
        return []
    # n-th prime < n (ln n + ln ln n) for n >= 6.
    limit = 15 if count < 6 else int(count * (math.log(count) +
                                              math.log(math.log(count)))) + 1
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(limit) + 1):
        if sieve[p]:
            sieve[p * p::p] = False
    return [int(p) for p in np.flatnonzero(sieve)[:count]]


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be an integer >= {minimum}, '
                         f'got {value!r}')
    try:
        value = operator.index(value)
    except TypeError:
        raise ValueError(f'{name} must be an integer >= {minimum}, got '
                         f'{value!r} ({type(value).__name__})') from None
    if value < minimum:
        raise ValueError(f'{name} must be an integer >= {minimum}, '
                         f'got {value!r}')
    return value


def _digit_permutations(seed: int, coordinate: int, base: int,
                        num_digits: int) -> np.ndarray:
    """``(num_digits, base)`` random permutations for one coordinate.

    Seeded per coordinate so a coordinate's scrambling does not depend on how
    many coordinates are requested.
    """
    rng = np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(coordinate,)))
    return np.argsort(rng.random((num_digits, base)), axis=1)


def _radical_inverse(indices: np.ndarray, base: int,
                     permutations: np.ndarray | None) -> np.ndarray:
    """Radical inverse of ``indices`` in ``base``, digits optionally permuted.

    ``permutations[k]`` permutes the digit with weight ``base**-(k + 1)``.
    """
    remaining = indices.copy()
    if permutations is None:
        # Mirror the digits exactly in integers, then divide once, so that
        # e.g. 1/3 is the correctly rounded double.
        numerator = np.zeros(indices.shape, dtype=np.int64)
        denominator = 1
        while remaining.any():
            remaining, digit = np.divmod(remaining, base)
            numerator = numerator * base + digit
            denominator *= base
        return numerator / float(denominator)
    result = np.zeros(indices.shape, dtype=np.float64)
    # Horner from the least significant digit keeps the rounding error at the
    # last bit: x = (p_0(d_0) + (p_1(d_1) + (...) / b) / b) / b.
    num_digits = len(permutations)
    digits = np.empty((num_digits,) + indices.shape, dtype=np.int64)
    for k in range(num_digits):
        remaining, digits[k] = np.divmod(remaining, base)
    for k in range(num_digits - 1, -1, -1):
        result += permutations[k][digits[k]]
        result /= base
    return result


def halton(num_points: int, dim: int, seed: int | None) -> np.ndarray:
    """Points of the (scrambled) Halton sequence.

    Args:
      num_points: number of points (rows), >= 0.
      dim: number of coordinates (columns), >= 1; coordinate ``d`` uses the
        ``d``-th prime as its base.
      seed: non-negative int for a random digit-permutation scrambling
        (same seed, same points; different seeds, different points), or None
        for the plain Halton sequence starting at index 1.

    Returns:
      float64 array of shape ``(num_points, dim)`` with values in ``[0, 1)``.

    Raises:
      ValueError: a negative or non-integer argument.
    """
    num_points = _check_int(num_points, 'num_points', 0)
    dim = _check_int(dim, 'dim', 1)
    if seed is not None:
        seed = _check_int(seed, 'seed', 0)
    start = 1 if seed is None else 0
    indices = np.arange(start, start + num_points, dtype=np.int64)
    points = np.empty((num_points, dim), dtype=np.float64)
    for coordinate, base in enumerate(first_primes(dim)):
        if seed is None:
            permutations = None
        else:
            num_digits = max(1, math.ceil(_MANTISSA_BITS / math.log2(base)))
            permutations = _digit_permutations(seed, coordinate, base,
                                               num_digits)
        points[:, coordinate] = _radical_inverse(indices, base, permutations)
    # All-(b-1) digits sum to 1 - b**-K, which may round up to 1.0.
    np.minimum(points, np.nextafter(1.0, 0.0), out=points)
    return points
