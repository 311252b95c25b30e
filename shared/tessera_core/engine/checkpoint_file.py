"""What is wrong with a file that was given as a checkpoint.

``torch.load`` reports an empty, truncated or foreign file with a zipfile or
unpickling traceback that names neither the file nor the problem.
:func:`check_checkpoint_file` looks at the bytes first (nothing is unpickled)
and raises :class:`CheckpointFileError` naming the file and what is wrong:

- empty (0 bytes);
- a ``torch.save`` zip archive whose end is missing (an interrupted write or
  download: the zip central directory is written last);
- a complete zip archive without ``data.pkl`` (not written by ``torch.save``);
- anything that is neither a zip archive nor a pickle stream (the legacy format
  of torch < 1.6, e.g. torchvision's ``resnet18-5c106cde.pth``), e.g. an HTML
  error page saved by a failed download or a text file.

:func:`unreadable_error` turns an error raised by ``torch.load`` on a file that
passed these checks (a corrupted member, a truncated legacy pickle) into the
same error type, with the file name.
"""
from __future__ import annotations

import io
import os
import tarfile
import zipfile
from typing import BinaryIO, Union

from .checkpoint_errors import CheckpointFileError

ZIP_MAGIC = b'PK\x03\x04'
PICKLE_PROTO = b'\x80'  # PROTO opcode: every pickle of protocol >= 2 starts with it
_HEAD = 64

Source = Union[str, os.PathLike, BinaryIO]


def _read_head(source: Source) -> tuple:
    """(first bytes, size, is a complete zip, zip member names) without unpickling."""
    if isinstance(source, (str, os.PathLike)):
        size = os.path.getsize(source)
        with open(source, 'rb') as f:
            head = f.read(_HEAD)
        opener = lambda: open(source, 'rb')  # noqa: E731
    else:
        start = source.tell()
        source.seek(0, io.SEEK_END)
        size = source.tell() - start
        source.seek(start)
        head = source.read(_HEAD)
        source.seek(start)
        opener = None
    complete_zip, names = False, []
    if head.startswith(ZIP_MAGIC):
        f = opener() if opener else source
        try:
            complete_zip = zipfile.is_zipfile(f)
            if complete_zip:
                if opener is None:
                    f.seek(start)
                with zipfile.ZipFile(f) as zf:
                    names = zf.namelist()
        finally:
            if opener:
                f.close()
            else:
                source.seek(start)
    return head, size, complete_zip, names


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in '\r\n\t' for c in text)


def check_checkpoint_file(source: Source, name: str) -> None:
    """Raise :class:`CheckpointFileError` if ``source`` can not be a checkpoint."""
    head, size, complete_zip, names = _read_head(source)
    if size == 0:
        raise CheckpointFileError(f'checkpoint {name} is empty (0 bytes)')
    if head.startswith(ZIP_MAGIC):
        if not complete_zip:
            raise CheckpointFileError(
                f'checkpoint {name} is truncated ({size} bytes): it begins like a torch.save archive '
                'but its end (the zip central directory) is missing; the write or download was '
                'probably interrupted. Use an earlier checkpoint or download it again.')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            raise CheckpointFileError(
                f'checkpoint {name} is a zip archive but not a PyTorch checkpoint (no data.pkl among '
                f'its {len(names)} members: {", ".join(names[:5])}{", ..." if len(names) > 5 else ""})')
        return
    if head.startswith(PICKLE_PROTO):
        return  # legacy (torch < 1.6) format: torch.load reads it
    if isinstance(source, (str, os.PathLike)) and tarfile.is_tarfile(source):
        return  # the oldest legacy format (a tar archive), also read by torch.load
    if head.lstrip().startswith(b'<'):
        what = 'an HTML/XML document (a failed download saves the error page)'
    elif _looks_like_text(head):
        what = f'a text file (it starts with {head[:32].decode("utf-8")!r})'
    else:
        what = f'of an unknown format (it starts with {head[:16]!r})'
    raise CheckpointFileError(
        f'checkpoint {name} is not a PyTorch checkpoint: neither a torch.save zip archive nor a '
        f'legacy torch pickle, but {what}')


def unreadable_error(name: str, err: BaseException) -> CheckpointFileError:
    """The error to raise when ``torch.load`` failed on a file that passed the checks."""
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if 'TorchScript' in reason:
        return CheckpointFileError(
            f'checkpoint {name} is a TorchScript archive, not a checkpoint: load it with torch.jit.load')
    return CheckpointFileError(
        f'checkpoint {name} could not be read (corrupted or incomplete?): {type(err).__name__}: {reason}')
