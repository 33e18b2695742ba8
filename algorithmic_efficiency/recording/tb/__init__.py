"""TensorBoard event files without TensorFlow: the encoding and the trial's files
(:mod:`.events`), the HParams protos (:mod:`.hparams`), and the submission-side
:class:`~.logger.Logger` (with its array-to-PNG helpers in :mod:`.images`)."""
