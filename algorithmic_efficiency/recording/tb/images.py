"""Images for the ``Logger``: checked arrays -> uint8 pixels -> PNG image summaries."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.plugins.image import metadata as image_metadata

CHANNELS = (1, 3, 4)
GRID_PADDING = 1  # px of black between the images of add_images


def image_summary(tag: str, png: bytes, width: int, height: int) -> summary_pb2.Summary:
    """The image plugin's summary: a string tensor ``[width, height, png]``."""
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]
        ),
        string_val=[str(width).encode(), str(height).encode(), png],
    )
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag,
        metadata=image_metadata.create_summary_metadata(display_name=None, description=None),
        tensor=tensor,
    )
    return summary


def png(pixels: np.ndarray) -> bytes:
    """PNG of uint8 (H, W, C) pixels, C in 1, 3, 4."""
    from PIL import Image  # Pillow comes with matplotlib

    buf = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buf, format='PNG')
    return buf.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG."""
    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def numeric(what: str, data: Any) -> np.ndarray:
    """`data` as a non-empty array of finite numbers; else a clear error naming `what`."""
    arr = np.asarray(data)
    if arr.dtype.kind not in 'biuf':
        raise TypeError(f'{what}: expected numbers, got an array of dtype {arr.dtype}')
    if arr.size == 0:
        raise ValueError(f'{what}: the array is empty (shape {arr.shape})')
    if arr.dtype.kind == 'f' and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ValueError(f'{what}: {bad} value(s) are NaN or infinite; images need finite values')
    return arr


def images_nhwc(what: str, arr: np.ndarray, batched: bool) -> np.ndarray:
    """(H, W) / (H, W, C) -- or (N, H, W) / (N, H, W, C) if `batched` -- as (N, H, W, C)."""
    want = '(N, H, W) or (N, H, W, C)' if batched else '(H, W) or (H, W, C)'
    ndim = arr.ndim - (1 if batched else 0)
    if ndim == 3 and arr.shape[-1] not in CHANNELS and arr.shape[-3] in CHANNELS:
        order = '(0, 2, 3, 1)' if batched else '(1, 2, 0)'
        raise ValueError(
            f'{what}: shape {arr.shape} looks channels-first; images are channels-last '
            f'{want} with C in 1, 3 or 4: pass array.transpose{order}'
        )
    if ndim not in (2, 3) or (ndim == 3 and arr.shape[-1] not in CHANNELS):
        raise ValueError(f'{what}: expected shape {want} with C in 1, 3 or 4; got {arr.shape}')
    if not batched:
        arr = arr[None]
    return arr[..., None] if ndim == 2 else arr


def to_uint8(what: str, arr: np.ndarray, equalize: bool, per_image: bool) -> np.ndarray:
    """(N, H, W, C) numbers -> uint8: floats in [0, 1], integers in [0, 255], or rescaled."""
    if equalize or per_image:
        x = arr.astype(np.float64)
        axes = (1, 2, 3) if per_image else None
        lo = x.min(axis=axes, keepdims=True)
        span = x.max(axis=axes, keepdims=True) - lo
        # A constant image has nothing to stretch: it becomes black.
        x = np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)
        return np.rint(x * 255).astype(np.uint8)
    if arr.dtype.kind == 'b':
        return arr.astype(np.uint8) * 255
    lo, hi = arr.min(), arr.max()
    if arr.dtype.kind == 'f':
        if lo < 0 or hi > 1:
            raise ValueError(
                f'{what}: float values must lie in [0, 1], got min {lo:g}, max {hi:g}; '
                'pass equalize=True to rescale them (or scale them yourself)'
            )
        return np.rint(arr.astype(np.float64) * 255).astype(np.uint8)
    if lo < 0 or hi > 255:
        raise ValueError(
            f'{what}: integer values must lie in [0, 255], got min {lo}, max {hi}; '
            'pass equalize=True to rescale them'
        )
    return arr.astype(np.uint8)


def image_grid(tiles: np.ndarray, padding: int = GRID_PADDING) -> np.ndarray:
    """(N, H, W, C) -> one image: ceil(sqrt(N)) columns, row by row, `padding` px of 0 between."""
    n, h, w, c = tiles.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros(
        (rows * (h + padding) - padding, cols * (w + padding) - padding, c), tiles.dtype
    )
    for i in range(n):
        r, q = divmod(i, cols)
        grid[
            r * (h + padding) : r * (h + padding) + h, q * (w + padding) : q * (w + padding) + w
        ] = tiles[i]
    return grid
