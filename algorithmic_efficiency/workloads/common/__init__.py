"""What every workload shares, so that no workload imports another.

* :mod:`.data`: the data-error type, the endless index stream every train
  split is drawn with, and the check of a split's image and label arrays
  (NumPy only);
* :mod:`.jax_seeds`: a JAX key back to its integer seed (imports JAX);
* :mod:`.torch_devices`: the default PyTorch device (imports PyTorch).

This ``__init__`` imports nothing, so a NumPy-only module never pulls in a
framework by importing one of its siblings.
"""
