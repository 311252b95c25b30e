"""What is wrong with a file that was given as a checkpoint.

``torch.load`` reports an empty, truncated or foreign file with a zipfile or
unpickling traceback that names neither the file nor the problem.
:func:`check_checkpoint_file` looks at the bytes first (nothing is unpickled)
and raises :class:`CheckpointFileError` naming the file and what is wrong:

- empty (0 bytes);
- a ``torch.save`` zip archive whose end is missing (an interrupted write or
  download: the zip central directory is written last);
- a complete zip archive without ``data.pkl`` (not written by ``torch.save``), or
  whose ``data.pkl`` fails its CRC check (the tensor data is not checked: that
  would read the whole file);
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
import zlib
from typing import BinaryIO, Union

from .checkpoint_errors import CheckpointFileError

ZIP_MAGIC = b'PK\x03\x04'
PICKLE_PROTO = b'\x80'  # PROTO opcode: every pickle of protocol >= 2 starts with it
_HEAD = 64

Source = Union[str, os.PathLike, BinaryIO]


def _read_head(source: Source) -> tuple:
    """(first bytes, size, zip member names or None, data.pkl's CRC is right), without unpickling."""
    if isinstance(source, (str, os.PathLike)):
        f, start = open(source, 'rb'), 0
    else:
        f, start = source, source.tell()
    try:
        head = f.read(_HEAD)
        size = f.seek(0, io.SEEK_END) - start
        names, crc_ok = None, True
        if head.startswith(ZIP_MAGIC):
            f.seek(start)
            if zipfile.is_zipfile(f):
                f.seek(start)
                with zipfile.ZipFile(f) as zf:
                    names = zf.namelist()
                    pickles = [n for n in names if n == 'data.pkl' or n.endswith('/data.pkl')]
                    try:
                        for name in pickles[:1]:
                            zf.read(name)  # zipfile checks the CRC-32 of what it reads
                    except (zipfile.BadZipFile, zlib.error):
                        crc_ok = False
    finally:
        if f is source:
            f.seek(start)
        else:
            f.close()
    return head, size, names, crc_ok


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in '\r\n\t' for c in text)


def check_checkpoint_file(source: Source, name: str) -> None:
    """Raise :class:`CheckpointFileError` if ``source`` can not be a checkpoint."""
    head, size, names, crc_ok = _read_head(source)
    if size == 0:
        raise CheckpointFileError(f'checkpoint {name} is empty (0 bytes)')
    if head.startswith(ZIP_MAGIC):
        if names is None:
            raise CheckpointFileError(
                f'checkpoint {name} is truncated ({size} bytes): it begins like a torch.save archive '
                'but its end (the zip central directory) is missing; the write or download was '
                'probably interrupted. Use an earlier checkpoint or download it again.')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
            raise CheckpointFileError(
                f'checkpoint {name} is a zip archive but not a PyTorch checkpoint (no data.pkl among '
                f'its {len(names)} members: {", ".join(names[:5])}{", ..." if len(names) > 5 else ""})')
        if not crc_ok:
            raise CheckpointFileError(
                f'checkpoint {name} is corrupted: its data.pkl fails the zip CRC-32 check')
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
