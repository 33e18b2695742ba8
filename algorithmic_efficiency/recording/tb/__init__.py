"""TensorBoard event files without TensorFlow: the encoding (:mod:`.events`) and the
submission-side :class:`~.logger.Logger`."""
