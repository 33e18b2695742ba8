"""What CIFAR-10 is: image shape, classes, counts, the file names and how to download them.

Split from :mod:`.data` so that :mod:`.tfds_build` (which :mod:`.data` calls
for a tensorflow-datasets build) reads these without importing :mod:`.data`
back.
"""

IMAGE_SHAPE = (32, 32, 3)
NUM_PIXELS = 32 * 32 * 3
NUM_CLASSES = 10
NUM_TRAIN = 50000  # the official training set (AlgoPerf: 45,000 train + 5,000 validation)
NUM_TEST = 10000

BATCHES_DIR = 'cifar-10-batches-py'
TRAIN_FILES = tuple(f'data_batch_{i}' for i in range(1, 6))
TEST_FILE = 'test_batch'
BATCH_FILES = TRAIN_FILES + (TEST_FILE,)
ARCHIVE = 'cifar-10-python.tar.gz'
TFDS_NAME = 'cifar10'

DOWNLOAD_HINT = 'python -m algorithmic_efficiency.datasets cifar10 --data_dir DIR'
