"""The errors Tessera raises when it will not, or cannot, load a checkpoint.

:class:`UntrustedCheckpointError` means the file is readable but asks for a
pickled object outside the allowlist (loading it could run code);
:class:`CheckpointFileError` means the file is not a complete checkpoint at all
(empty, truncated, or some other kind of file).
"""
import pickle

TRUST_HINT = ('If you trust this file, opt in explicitly with `trust_checkpoint = True` in the config, '
              '`--trust-checkpoint` on tools/train.py / tools/test.py, or TESSERA_TRUST_CHECKPOINTS=1.')


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint (or pickle file) references objects outside the allowlist."""


class CheckpointFileError(RuntimeError):
    """A file given as a checkpoint is empty, truncated or not a checkpoint."""
