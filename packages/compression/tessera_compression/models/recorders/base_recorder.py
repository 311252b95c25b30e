"""Base recorder: collects data produced during a forward pass while recording is on.

The recorder idea (named hooks on a model, read back by the distillation losses) follows mmrazor's
distillation design (https://github.com/open-mmlab/mmrazor, ``mmrazor/models/task_modules/recorder``);
this is an independent, smaller implementation on mmengine.
"""
import difflib
from typing import Any, List, Optional, Sequence

import torch
from torch import nn

__all__ = ['BaseRecorder', 'close_matches', 'resolve_submodule']


def close_matches(name: str, valid: Sequence[str], n: int = 5) -> List[str]:
    """Up to ``n`` names of ``valid`` closest to ``name`` (difflib ratio >= 0.5)."""
    return difflib.get_close_matches(name, list(valid), n=n, cutoff=0.5)


def resolve_submodule(model: nn.Module, name: str, what: str = 'module') -> nn.Module:
    """``model.get_submodule(name)``, or a ``KeyError`` naming the close matches among the model's
    module names (and how many valid names there are)."""
    if name == '':
        return model
    try:
        return model.get_submodule(name)
    except AttributeError:
        pass
    valid = [n for n, _ in model.named_modules() if n]
    close = close_matches(name, valid)
    hint = f'close matches: {close}' if close else f'first valid names: {valid[:10]}'
    raise KeyError(f'{what} {name!r} is not a module of {type(model).__name__} ({len(valid)} module names; '
                   f'{hint})')


def _tensors(data: Any) -> List[torch.Tensor]:
    if isinstance(data, torch.Tensor):
        return [data]
    if isinstance(data, (tuple, list)):
        return [t for item in data for t in _tensors(item)]
    if isinstance(data, dict):
        return [t for item in data.values() for t in _tensors(item)]
    return []


class BaseRecorder:
    """Holds the records of one source.

    Args:
        source (str): What to record, relative to the model the recorder is initialised on.

    Attributes:
        data_buffer (list): One entry per call of the source while :attr:`recording` is True.
        recording (bool): Whether calls are recorded (set by :class:`RecorderManager`'s context).
    """

    def __init__(self, source: str):
        if not isinstance(source, str):
            raise TypeError(f'recorder source must be a string, got {source!r}')
        self.source = source
        self.data_buffer: List[Any] = []
        self.versions: List[List[int]] = []
        self.recording = False
        self.initialized = False

    def record(self, data: Any) -> None:
        """Append ``data``, remembering the version counters of its tensors (see :meth:`get_record_data`)."""
        self.data_buffer.append(data)
        self.versions.append([t._version for t in _tensors(data)])

    def initialize(self, model: nn.Module) -> None:
        """Attach to ``model`` (hooks or method wrappers). Called once."""
        raise NotImplementedError

    def reset_data(self) -> None:
        self.data_buffer = []
        self.versions = []

    def get_record_data(self, record_idx: int = 0, data_idx: Optional[int] = None) -> Any:
        """The ``record_idx``-th record (calls in order), or element ``data_idx`` of it when the
        source returns a tuple / list (e.g. a backbone's stage outputs)."""
        if not self.data_buffer:
            raise RuntimeError(f'{type(self).__name__}({self.source!r}) has no record: the source was not '
                               f'called inside the recording context')
        if not -len(self.data_buffer) <= record_idx < len(self.data_buffer):
            raise IndexError(f'{type(self).__name__}({self.source!r}): record_idx {record_idx} out of range '
                             f'({len(self.data_buffer)} records)')
        record = self.data_buffer[record_idx]
        if len(self.versions) == len(self.data_buffer) and \
                [t._version for t in _tensors(record)] != self.versions[record_idx]:
            raise RuntimeError(f'{type(self).__name__}({self.source!r}): the record was modified in place after it '
                               f'was recorded (e.g. by a following ReLU(inplace=True)); record a module whose '
                               f'output is not overwritten, such as the activation itself or the enclosing block')
        if data_idx is None:
            return record
        if not isinstance(record, (tuple, list)):
            raise TypeError(f'{type(self).__name__}({self.source!r}): data_idx={data_idx} given but the record '
                            f'is a {type(record).__name__}, not a tuple or list')
        return record[data_idx]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(source={self.source!r})'
