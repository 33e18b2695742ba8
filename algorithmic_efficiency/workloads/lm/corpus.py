"""The offline corpus: CPython's own documentation text, byte-level tokens.

``pydoc_data.topics`` (the text of ``help('TOPIC')``, ~466 KB of English
prose and code from the Python reference manual) ships inside every CPython
installation, so the demo and the tests need no download and no extra
package. Chosen over gensim's Lee news corpus (360 KB): that would pin gensim
and its SciPy stack into the environment for a text file; this costs nothing.
Its content follows the Python version, so its sha256 goes into
``metadata.json`` (``data.sha256``) next to the one the tiny target was
calibrated on (``data.calibrated_sha256``).

Tokens are the UTF-8 bytes (vocabulary 256). The topics, in sorted order and
joined by blank lines, are cut into 8 KiB blocks; every tenth block is
validation (a fixed, interleaved tenth: the topics differ in length by 100x, so
a tenth of the topics would not be a tenth of the text, nor a last tenth a
sample of it).
A model on this corpus is *not comparable to FineWeb-Edu*: other text, other
tokens, its own target.
"""

from __future__ import annotations

import hashlib

import numpy as np

from algorithmic_efficiency.workloads.lm.token_data import TokenSplit

SOURCE = 'pydoc_data'
DESCRIPTION = (
    "CPython's pydoc_data.topics (Python reference text), UTF-8 bytes; offline corpus, "
    'not comparable to FineWeb-Edu'
)
SEPARATOR = '\n\n'
BLOCK_BYTES = 8192
VALIDATION_EVERY = 10  # block i is validation when i % 10 == 9
# sha256 of the corpus the tiny target was calibrated on (Python 3.11.7's topics).
CALIBRATED_SHA256 = '6c7d68cee92383c2d38e91c095bc7f45b93d936d39b8d4c5fe1b718baf09dc63'


def topics() -> dict[str, str]:
    from pydoc_data.topics import topics as text  # stdlib; imported only when asked for

    return dict(text)


def fingerprint(text: dict[str, str]) -> str:
    """sha256 over the topics in sorted order (name, NUL, text, NUL)."""
    h = hashlib.sha256()
    for key in sorted(text):
        h.update(key.encode() + b'\0' + text[key].encode() + b'\0')
    return h.hexdigest()


def load_corpus() -> tuple[dict[str, TokenSplit], str]:
    """``({'train', 'val'} byte splits, sha256)`` of the corpus."""
    text = topics()
    data = np.frombuffer(SEPARATOR.join(text[k] for k in sorted(text)).encode('utf-8'), np.uint8)
    block = np.arange(len(data)) // BLOCK_BYTES
    is_val = block % VALIDATION_EVERY == VALIDATION_EVERY - 1
    splits = {
        name: TokenSplit([np.ascontiguousarray(data[mask])], f'{SOURCE}:{name}', 'corpus')
        for name, mask in (('train', ~is_val), ('val', is_val))
    }
    return splits, fingerprint(text)
