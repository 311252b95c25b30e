"""Checkpoints from URLs and model-zoo names, loaded through the allowlist.

mmengine reaches ``torch.load`` outside its local-path loader in three ways:

- ``load_from_http`` (schemes ``http://``, ``https://``, and through it
  ``torchvision://``, ``modelzoo://``, ``mmcls://`` and the URL entries of
  ``open-mmlab://``) calls ``load_url``, i.e. ``torch.hub.load_state_dict_from_url``,
  which defaults to ``weights_only=False``: any downloaded file could run code;
- ``load_from_openmmlab`` loads its local entries (``$MMENGINE_HOME/...``) with a
  bare ``torch.load``, which ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` makes unsafe;
- ``load_from_pavi`` and ``load_from_ceph`` (``s3://``, ``petrel://``) do the same.

:func:`safe_load_url` is a drop-in ``load_url`` (same arguments and cache,
``<torch hub dir>/checkpoints``) that downloads with
``torch.hub.download_url_to_file`` and loads with :func:`safe_load`;
:func:`load_from_openmmlab`, :func:`load_from_pavi` and :func:`load_from_ceph`
are mmengine's loaders with ``torch.load`` replaced by :func:`safe_load` (the
URL tables and file backends are still mmengine's, looked up at call time).
:mod:`.checkpoint_safety` installs them.
"""
from __future__ import annotations

import io
import logging
import os
import os.path as osp
import sys
import zipfile
from tempfile import TemporaryDirectory
from urllib.parse import urlparse

import mmengine.runner.checkpoint as mm_ckpt
import torch.hub
from mmengine.logging import print_log

from .safe_checkpoint import safe_load


def _legacy_zip_member(path: str):
    """The single member of a zip compressed by hand around a torch < 1.6 file
    (the case ``torch.hub`` still unpacks), or None."""
    if not zipfile.is_zipfile(path):
        return None
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        if len(members) != 1 or members[0].is_dir() or members[0].filename.endswith('data.pkl'):
            return None
        return members[0].filename, zf.read(members[0])


def safe_load_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                  file_name=None, weights_only=None):
    """``torch.hub.load_state_dict_from_url`` through the allowlist.

    ``weights_only`` is accepted for signature compatibility and ignored: only
    Tessera's explicit opt-ins (see :func:`safe_load`) load a file without the
    allowlist.
    """
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name or osp.basename(urlparse(url).path)
    cached_file = osp.join(model_dir, filename)
    if not osp.exists(cached_file):
        sys.stderr.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            match = torch.hub.HASH_REGEX.search(filename)
            hash_prefix = match.group(1) if match else None
        torch.hub.download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    name = f'{cached_file} (downloaded from {url})'
    legacy = _legacy_zip_member(cached_file)
    if legacy is not None:
        member, data = legacy
        return safe_load(io.BytesIO(data), map_location=map_location, name=f'{name}:{member}')
    return safe_load(cached_file, map_location=map_location, name=name)


def load_from_openmmlab(filename, map_location=None):
    """``open-mmlab://`` / ``openmmlab://`` names, resolved by mmengine's tables."""
    model_urls = mm_ckpt.get_external_models()
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') else 'openmmlab://'
    model_name = filename[len(prefix):]
    deprecated = mm_ckpt.get_deprecated_model_names()
    if model_name in deprecated:
        print_log(f'{prefix}{model_name} is deprecated in favor of {prefix}{deprecated[model_name]}',
                  logger='current', level=logging.WARNING)
        model_name = deprecated[model_name]
    model_url = model_urls[model_name]
    if model_url.startswith(('http://', 'https://')):
        return mm_ckpt.load_from_http(model_url, map_location=map_location)
    return safe_load(osp.join(mm_ckpt._get_mmengine_home(), model_url), map_location=map_location)


def load_from_pavi(filename, map_location=None):
    """``pavi://`` checkpoints (needs the ``pavi`` package)."""
    if not filename.startswith('pavi://'):
        raise ValueError(f'Expected filename startswith `pavi://`, but get {filename}')
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError('Please install pavi to load checkpoint from modelcloud.')
    model = modelcloud.get(filename[7:])
    with TemporaryDirectory() as tmp_dir:
        downloaded_file = osp.join(tmp_dir, model.name)
        model.download(downloaded_file)
        return safe_load(downloaded_file, map_location=map_location, name=filename)


def load_from_ceph(filename, map_location=None, backend='petrel'):
    """``s3://`` / ``petrel://`` checkpoints through mmengine's file backend."""
    file_backend = mm_ckpt.get_file_backend(filename, backend_args={'backend': backend})
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_load(buffer, map_location=map_location, name=filename)
