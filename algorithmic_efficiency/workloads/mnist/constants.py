"""What MNIST is: image shape, classes, the IDX file names and how to download them.

Split from :mod:`.data` so that :mod:`.data_tfds` (which :mod:`.data` imports
when a directory holds a tensorflow-datasets build) reads these without
importing :mod:`.data` back.
"""

IMAGE_SHAPE = (28, 28)
NUM_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
NUM_CLASSES = 10

TRAIN_IMAGES = 'train-images-idx3-ubyte'
TRAIN_LABELS = 'train-labels-idx1-ubyte'
TEST_IMAGES = 't10k-images-idx3-ubyte'
TEST_LABELS = 't10k-labels-idx1-ubyte'
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

DOWNLOAD_HINT = 'python -m algorithmic_efficiency.datasets mnist --data_dir DIR'
