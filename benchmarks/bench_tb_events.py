"""TFRecord framing of TensorBoard events: the library's RecordWriter vs hand-written.

    python benchmarks/bench_tb_events.py [--events 2000] [--repeats 5]

``recording/tb/events.py`` used to frame records by hand (``struct.pack`` and
``masked_crc32c``); it now uses
``tensorboard.summary.writer.record_writer.RecordWriter``. This times, side by
side in one process, the two ways of turning serialized events into event-file
bytes, for the two payloads the project writes:

* a scalars event (one eval row's telemetry: ~30 tags, ~1 KB), as the
  per-trial writer appends it;
* an image event (a 64x64 RGB PNG, ~12 KB), as ``Logger.add_image`` writes it.

Both must give the same bytes (checked). Medians of `repeats` rounds,
alternating the two, in microseconds per event.
"""

import argparse
import io
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c  # noqa: E402
from tensorboard.summary.writer.record_writer import RecordWriter  # noqa: E402

from algorithmic_efficiency.recording.tb import events, images  # noqa: E402


def hand_written(payloads):
    """The framing events.py had: length, masked CRC of it, data, masked CRC of the data."""
    out = []
    for data in payloads:
        header = struct.pack('<Q', len(data))
        out.append(
            header
            + struct.pack('<I', masked_crc32c(header))
            + data
            + struct.pack('<I', masked_crc32c(data))
        )
    return b''.join(out)


def library(payloads):
    buf = io.BytesIO()
    writer = RecordWriter(buf)
    for data in payloads:
        writer.write(data)
    return buf.getvalue()


def payloads(n):
    telemetry = {f'cpu/util.x{i}': 12.5 + i for i in range(30)}
    scalar = events.summary_event(events.scalars_summary(telemetry), 7, 1.7e9)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    png = images.png(pixels)
    image = events.summary_event(images.image_summary('img', png, 64, 64), 7, 1.7e9)
    return {
        'scalars event': [scalar.SerializeToString(deterministic=True)] * n,
        'image event (64x64 RGB PNG)': [image.SerializeToString(deterministic=True)] * (n // 10),
    }


def time_per_event(fn, data):
    t0 = time.perf_counter()
    fn(data)
    return (time.perf_counter() - t0) / len(data) * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--events', type=int, default=2000)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    print(f'{"payload":<30}{"bytes":>8}{"hand-written":>15}{"RecordWriter":>15}{"lib / hand":>12}')
    for name, data in payloads(args.events).items():
        assert hand_written(data) == library(data), 'the two framings differ'
        hand, lib = [], []
        for _ in range(args.repeats):
            hand.append(time_per_event(hand_written, data))
            lib.append(time_per_event(library, data))
        h, r = statistics.median(hand), statistics.median(lib)
        print(f'{name:<30}{len(data[0]):>8}{h:>12.1f} us{r:>12.1f} us{r / h:>12.2f}')


if __name__ == '__main__':
    main()
