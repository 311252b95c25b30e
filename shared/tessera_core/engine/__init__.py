from .checkpoint_errors import CheckpointFileError, UntrustedCheckpointError
from .ddp import DeviceAgnosticDDP
from .hooks import ClsVisualizationHook
from .safe_checkpoint import safe_load, set_trusted, trusted_checkpoints
from .safe_pickle import safe_pickle_load
from .safe_remote import safe_load_url

__all__ = ['DeviceAgnosticDDP', 'ClsVisualizationHook', 'CheckpointFileError', 'UntrustedCheckpointError',
           'safe_load', 'safe_load_url', 'safe_pickle_load', 'set_trusted', 'trusted_checkpoints']
