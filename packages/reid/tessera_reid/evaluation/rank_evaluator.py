"""Vectorised, chunked re-ID ranking evaluation: CMC, mAP and mINP under four camera protocols.

Protocols (what a query's ranking keeps of the gallery):

- ``'market'``: the Market-1501 rule (Zheng et al., ICCV 2015) of torchreid's ``eval_market1501`` and the
  strong baseline's ``eval_func``: gallery images of the query's identity *and* camera are removed;
- ``'cross_camera'``: every gallery image of the query's camera is removed (only other cameras compete);
- ``'same_camera'``: only gallery images of the query's camera are kept (within-camera retrieval);
- ``'all'``: nothing is removed (camera ids are not needed).

With the kept gallery in ascending distance order and true matches at 0-based kept ranks
``r_1 < ... < r_R`` (``R`` = number of relevant images):

    CMC@k = [r_1 < k]            AP = (1 / R) * sum_j j / (r_j + 1)            INP = R / (r_R + 1)

averaged over the *valid* queries (R > 0). mINP is the mean inverse negative penalty of Ye et al., "Deep
Learning for Person Re-identification: A Survey and Outlook" (arXiv:2001.04193, official AGW code
``evaluate``): the fraction of the list up to the hardest true match that is correct. A query with R = 0
(its identity is absent from its kept gallery) is not part of the averages, as in torchreid, but it is
counted (``num_no_match``), listed (``no_match``) and warned about, never dropped silently.

Vectorisation: queries are processed ``chunk_size`` at a time; each chunk's distance rows are sorted with a
stable sort (ties keep gallery order), the kept ranks come from a cumulative sum of the keep mask, and only
the positions of true matches (a few per query) are gathered. Memory is O(chunk_size x num_gallery), so a
Market-1501-sized 3,368 x 15,913 problem runs in a few hundred MB; distances can be given as a matrix or
computed chunk by chunk from features (the full matrix is then never built).
"""
import warnings
from dataclasses import dataclass, field
from typing import Optional, Sequence, Union

import numpy as np
import torch

PROTOCOLS = ('market', 'cross_camera', 'same_camera', 'all')
DISTANCES = ('euclidean', 'cosine')
ArrayLike = Union[np.ndarray, torch.Tensor, Sequence[int]]


@dataclass
class RankResult:
    """Outcome of :func:`evaluate_ranking`; CMC, mAP and mINP in [0, 1]."""
    cmc: np.ndarray                      # (max_rank,) CMC@1..max_rank over the valid queries
    mAP: float
    mINP: float
    num_valid: int                       # queries with at least one true match in their kept gallery
    num_no_match: int                    # queries without (excluded from the averages, reported)
    no_match: np.ndarray = field(repr=False)   # their query indices
    ap: np.ndarray = field(repr=False)         # (num_query,) AP per query, NaN for no-match queries

    def rank(self, k: int) -> float:
        """CMC@k (k >= 1); beyond ``max_rank`` the curve is flat only if every valid query hit earlier."""
        if not 1 <= k <= len(self.cmc):
            raise ValueError(f'rank {k} outside the computed 1..{len(self.cmc)} (raise max_rank)')
        return float(self.cmc[k - 1])


def _as_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.dim() != 1:
        raise ValueError(f'{name} must be 1-D, got shape {tuple(t.shape)}')
    return t.long()


def chunk_distance(query: torch.Tensor, gallery: torch.Tensor, distance: str) -> torch.Tensor:
    """(B, D) x (N, D) -> (B, N) float64: squared Euclidean (clamped at 0) or ``1 - cosine``."""
    query, gallery = query.double(), gallery.double()
    if distance == 'cosine':
        return 1 - torch.nn.functional.normalize(query, dim=1) @ torch.nn.functional.normalize(gallery, dim=1).t()
    dist = query.pow(2).sum(1, keepdim=True) + gallery.pow(2).sum(1)[None] - 2 * query @ gallery.t()
    return dist.clamp(min=0)


def _ranks_by_sorting(dist: torch.Tensor, match: torch.Tensor, keep: Optional[torch.Tensor]):
    """Kept 0-based ranks of the kept true matches of each row, from a stable sort of the whole row.

    Returns ``(rows, ranks)``, row-major with ascending ranks within a row."""
    order = torch.sort(dist, dim=1, stable=True).indices
    match = torch.gather(match, 1, order)
    if keep is None:
        rows, cols = match.nonzero(as_tuple=True)
        return rows, cols
    keep = torch.gather(keep, 1, order)
    kept_rank = torch.cumsum(keep, dim=1, dtype=torch.int32) - 1
    rows, cols = (match & keep).nonzero(as_tuple=True)
    return rows, kept_rank[rows, cols].long()


def _ranks_by_counting(dist: torch.Tensor, match: torch.Tensor, keep: Optional[torch.Tensor]):
    """The same ranks without sorting the row: only the true matches (a few per row) are sorted, and every
    kept gallery distance is located among them (``searchsorted``, O(N log R) per row); the kept rank of the
    k-th match is the number of kept distances below it. Rows where a kept distance equals a match distance
    (other than the match itself) are returned in ``tied`` for the exact stable-sort path.

    Returns ``(rows, ranks, tied rows)``."""
    b, n = dist.shape
    if keep is not None:
        match = match & keep
    rows, cols = match.nonzero(as_tuple=True)                       # ascending gallery index per row
    counts = torch.bincount(rows, minlength=b)
    width = int(counts.max()) if len(rows) else 0
    slot = torch.arange(len(rows)) - (torch.cumsum(counts, 0) - counts)[rows]
    match_dist = torch.full((b, width + 1), float('inf'), dtype=dist.dtype)
    match_dist[rows, slot] = dist[rows, cols]
    match_dist, _ = torch.sort(match_dist, dim=1, stable=True)
    right = torch.searchsorted(match_dist, dist, right=True)        # matches <= d_j
    weight = keep.int() if keep is not None else torch.ones(b, n, dtype=torch.int32)
    hist = torch.zeros(b, width + 2, dtype=torch.int32).scatter_add_(1, right, weight)
    below = torch.cumsum(hist, 1)                                   # below[k] = kept d_j < k-th match
    # ties: a kept distance equal to the largest match distance <= it (each match equals itself once; a -inf
    # column in front stands for "no match below"), two equal match distances, or non-finite distances
    floor = torch.cat([torch.full((b, 1), -float('inf'), dtype=dist.dtype), match_dist], 1).gather(1, right)
    equal = floor == dist
    if keep is not None:
        equal &= keep
    finite = torch.isfinite(match_dist)
    tied = (equal.sum(1) != counts) | ((match_dist[:, 1:] == match_dist[:, :-1]) & finite[:, 1:]).any(1) \
        | ~torch.isfinite(dist.sum(1))      # a non-finite row sum: some distance is inf / nan (or overflowed)
    tied = torch.nonzero(tied).flatten()
    # rows are grouped and slot runs 0..count-1 in each: below[row, slot] are the row's ranks, ascending
    return rows, below[rows, slot], tied


def evaluate_ranking(q_pids: ArrayLike, g_pids: ArrayLike, q_camids: Optional[ArrayLike] = None,
                     g_camids: Optional[ArrayLike] = None, *, distmat=None, query_feats=None,
                     gallery_feats=None, distance: str = 'euclidean', protocol: str = 'market',
                     max_rank: int = 50, chunk_size: int = 256, warn_no_match: bool = True) -> RankResult:
    """CMC / mAP / mINP of a query set against a gallery.

    Args:
        q_pids, g_pids: (M,) and (N,) identities.
        q_camids, g_camids: (M,) and (N,) camera ids; required by every protocol but ``'all'``.
        distmat (ndarray | Tensor, optional): (M, N) distances, smaller is more similar.
        query_feats, gallery_feats (Tensor, optional): (M, D) and (N, D) features, instead of ``distmat``;
            distances are then computed per chunk with ``distance`` (``'euclidean'`` squared or ``'cosine'``).
        protocol (str): One of ``PROTOCOLS`` (see the module docstring).
        max_rank (int): Length of the returned CMC curve (cut to the gallery size, as torchreid does).
        chunk_size (int): Queries per chunk.
        warn_no_match (bool): Warn when some query has no true match.

    Returns:
        RankResult. Raises ``ValueError`` when no query has a true match (everything would be undefined).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'invalid protocol {protocol!r}; valid: {PROTOCOLS}')
    if distance not in DISTANCES:
        raise ValueError(f'invalid distance {distance!r}; valid: {DISTANCES}')
    if (distmat is None) == (query_feats is None or gallery_feats is None):
        raise ValueError('give either distmat or both query_feats and gallery_feats')
    q_pids, g_pids = _as_tensor(q_pids, 'q_pids'), _as_tensor(g_pids, 'g_pids')
    num_q, num_g = len(q_pids), len(g_pids)
    if distmat is not None:
        distmat = torch.as_tensor(distmat)
        if tuple(distmat.shape) != (num_q, num_g):
            raise ValueError(f'distmat {tuple(distmat.shape)} does not match {num_q} query and {num_g} gallery ids')
    else:
        query_feats, gallery_feats = torch.as_tensor(query_feats), torch.as_tensor(gallery_feats)
        if query_feats.shape[0] != num_q or gallery_feats.shape[0] != num_g:
            raise ValueError(f'features {tuple(query_feats.shape)} / {tuple(gallery_feats.shape)} do not match '
                             f'{num_q} query and {num_g} gallery ids')
    use_cams = protocol != 'all'
    if use_cams:
        if q_camids is None or g_camids is None:
            raise ValueError(f"protocol {protocol!r} needs query and gallery camera ids (or use protocol='all')")
        q_cams, g_cams = _as_tensor(q_camids, 'q_camids'), _as_tensor(g_camids, 'g_camids')
        if len(q_cams) != num_q or len(g_cams) != num_g:
            raise ValueError(f'camera ids {len(q_cams)} / {len(g_cams)} do not match {num_q} queries / '
                             f'{num_g} gallery samples')
    if max_rank < 1 or chunk_size < 1:
        raise ValueError(f'max_rank and chunk_size must be >= 1, got {max_rank} and {chunk_size}')
    max_rank = min(max_rank, num_g)

    first = torch.empty(num_q, dtype=torch.long)        # 0-based kept rank of the first true match
    ap = torch.empty(num_q, dtype=torch.float64)
    inp = torch.empty(num_q, dtype=torch.float64)
    num_rel = torch.empty(num_q, dtype=torch.long)
    for start in range(0, num_q, chunk_size):
        stop = min(start + chunk_size, num_q)
        if distmat is not None:
            dist = distmat[start:stop]
        else:
            dist = chunk_distance(query_feats[start:stop], gallery_feats, distance)
        match = g_pids[None] == q_pids[start:stop, None]
        keep = None
        if use_cams:
            same_cam = g_cams[None] == q_cams[start:stop, None]
            keep = {'market': ~(match & same_cam), 'cross_camera': ~same_cam, 'same_camera': same_cam}[protocol]
        rows, ranks, tied = _ranks_by_counting(dist, match, keep)
        if len(tied):   # exact ties with a match distance: stable-sort those rows
            redo = torch.zeros(stop - start, dtype=torch.bool)
            redo[tied] = True
            r2, k2 = _ranks_by_sorting(dist[tied], match[tied], None if keep is None else keep[tied])
            rows, ranks = torch.cat([rows[~redo[rows]], tied[r2]]), torch.cat([ranks[~redo[rows]], k2])
            order = torch.argsort(rows * (num_g + 1) + ranks)
            rows, ranks = rows[order], ranks[order]
        counts = torch.bincount(rows, minlength=stop - start)
        # ordinal j (1-based) of each true match within its query
        offsets = torch.cumsum(counts, 0) - counts
        ordinal = torch.arange(len(rows)) - offsets[rows] + 1
        precision = ordinal.double() / (ranks + 1).double()
        ap_sum = torch.zeros(stop - start, dtype=torch.float64).index_add_(0, rows, precision)
        big = torch.full((stop - start,), num_g, dtype=torch.long)
        first_c = big.scatter_reduce(0, rows, ranks, reduce='amin')
        last_c = torch.full_like(big, -1).scatter_reduce(0, rows, ranks, reduce='amax')
        num_rel[start:stop] = counts
        first[start:stop] = first_c
        ap[start:stop] = ap_sum / counts.clamp(min=1)
        inp[start:stop] = counts.double() / (last_c + 1).clamp(min=1).double()

    valid = num_rel > 0
    num_valid = int(valid.sum())
    no_match = torch.nonzero(~valid).flatten().numpy()
    if num_valid == 0:
        raise ValueError(f'no query has a true match in its gallery under protocol {protocol!r}: '
                         'CMC, mAP and mINP are undefined')
    if len(no_match) and warn_no_match:
        warnings.warn(f'{len(no_match)} of {num_q} queries have no true match in their gallery under protocol '
                      f'{protocol!r} (query indices {no_match[:10].tolist()}{" ..." if len(no_match) > 10 else ""}); '
                      'they are excluded from CMC/mAP/mINP and counted in num_no_match', stacklevel=2)
    hist = torch.bincount(first[valid].clamp(max=max_rank), minlength=max_rank + 1)[:max_rank]
    cmc = torch.cumsum(hist, 0).double() / num_valid
    ap_all = torch.where(valid, ap, torch.full_like(ap, float('nan')))
    return RankResult(cmc=cmc.numpy(), mAP=float(ap[valid].mean()), mINP=float(inp[valid].mean()),
                      num_valid=num_valid, num_no_match=len(no_match), no_match=no_match, ap=ap_all.numpy())
