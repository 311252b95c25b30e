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

Vectorisation: queries are processed ``chunk_size`` at a time. No row is sorted: a query's true matches
(looked up in the gallery grouped by identity, a few per query) are sorted, only the gallery distances not
above its largest match distance (the *candidates*: about 9 % of a Market-1501-sized problem) can precede a
match, and each candidate is located among the chunk's match distances (a uniform-grid lookup, exactly
``searchsorted``); the kept rank of a match is then a count. Rows where a candidate's distance equals a match
distance (or with non-finite distances) take the exact path: a stable sort of the row (ties keep gallery
order). Memory is O(chunk_size x num_gallery); distances can be given as a matrix or computed chunk by chunk
from features (the full matrix is then never built).
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


class _GalleryIndex:
    """The gallery grouped by identity (a stable sort of its ids), so a query's same-identity gallery items
    are looked up instead of compared against all ``N`` ids."""

    def __init__(self, g_pids: torch.Tensor):
        self.order = torch.sort(g_pids, stable=True).indices
        self.pids, self.counts = torch.unique_consecutive(g_pids[self.order], return_counts=True)
        self.starts = torch.cumsum(self.counts, 0) - self.counts

    def same_identity(self, q_pids: torch.Tensor):
        """(B,) query ids -> ``(rows, cols)`` of every gallery item with the query's id, grouped by row,
        ascending gallery index within a row (the order of ``nonzero`` on the dense match mask)."""
        if len(self.pids) == 0:
            empty = torch.empty(0, dtype=torch.long)
            return empty, empty
        pos = torch.searchsorted(self.pids, q_pids).clamp(max=len(self.pids) - 1)
        num = torch.where(self.pids[pos] == q_pids, self.counts[pos], torch.zeros_like(pos))
        rows = torch.repeat_interleave(torch.arange(len(q_pids)), num)
        within = torch.arange(len(rows)) - (torch.cumsum(num, 0) - num)[rows]
        return rows, self.order[self.starts[pos][rows] + within]


def _kept(protocol: str, same_identity: torch.Tensor, same_camera: Optional[torch.Tensor]):
    """Which (query, gallery) pairs a protocol keeps, from the pairs' identity / camera equality
    (dense masks or one entry per pair); ``None`` keeps everything."""
    if protocol == 'all':
        return None
    return {'market': ~(same_identity & same_camera), 'cross_camera': ~same_camera,
            'same_camera': same_camera}[protocol]


def _count_at_most(values: torch.Tensor, x: torch.Tensor, cells_per_value: int = 8,
                   max_steps: int = 8) -> torch.Tensor:
    """``torch.searchsorted(values, x, right=True)`` (how many of the sorted finite ``values`` are ``<= x``),
    by a uniform-grid lookup: ~2.5x faster for a few hundred values and millions of ``x`` (not NaN).

    The range of ``values`` is cut into ``G = cells_per_value * len(values)`` equal cells and ``cell(v) =
    clamp(floor((v - lo) * scale), 0, G - 1)`` is computed in the tensors' dtype. It is monotone in ``v``, so
    every value of a lower cell than ``x``'s is ``< x`` and every value of a higher cell is ``> x``: the
    count is the number of values below ``x``'s cell (a table) plus those of its own cell that are ``<= x``,
    found in as many steps as the fullest cell holds values. Falls back to ``searchsorted`` when a cell
    holds more than ``max_steps`` values (clustered or equal values) or the scale is not finite."""
    num = len(values)
    if num == 0:
        return torch.zeros(x.shape, dtype=torch.long)
    lo, hi = values[0], values[-1]
    if not hi > lo:     # one distinct value
        return (x >= lo).long() * num
    cells = cells_per_value * num
    scale = (cells - 1) / (hi - lo)
    if not torch.isfinite(scale):
        return torch.searchsorted(values, x, right=True)

    def cell(v):
        return torch.floor_((v - lo).mul_(scale)).clamp_(0, cells - 1).long()

    value_cells = cell(values)
    steps = int(torch.bincount(value_cells, minlength=cells).max())
    if steps > max_steps:
        return torch.searchsorted(values, x, right=True)
    below = torch.searchsorted(value_cells, torch.arange(cells, dtype=torch.long))   # values of lower cells
    padded = torch.cat([values, values.new_full((1,), float('nan'))])      # NaN <= x is never true: a stop
    count = below.index_select(0, cell(x))      # index_select: ~5x faster than advanced indexing here
    for _ in range(steps):
        count += padded.index_select(0, count) <= x
    return count


def _ranks_by_counting(dist: torch.Tensor, rel_rows: torch.Tensor, rel_cols: torch.Tensor, kept_pairs=None,
                       dropped=None):
    """The ranks of :func:`_ranks_by_sorting` without sorting the row.

    Only the relevant matches (a few per row, given as ``rel_rows``/``rel_cols``, grouped by row) are sorted.
    A gallery distance above a row's largest match distance precedes no match, so only the *candidates*
    ``d <= max match distance`` (about 9 % of a Market-1501-sized problem) are counted: the kept rank of the
    k-th match is the number of kept candidates below it. What the protocol removes is given either as a rule
    on candidate pairs (``kept_pairs(rows, cols)`` -> bool) or, when it is a few pairs per row (the Market
    rule's same-identity, same-camera images), as those pairs (``dropped = (rows, cols)``), whose counts are
    subtracted. A candidate's count of same-row matches ``<= d`` comes from one lookup among all the
    chunk's finite match distances and a table of per-row prefix counts over that sorted list. Rows where a
    kept distance equals a match distance (other than the match itself), where two matches are equal, or with
    a non-finite distance are returned in ``tied`` for the exact stable-sort path.

    Returns ``(rows, ranks, tied rows)``."""
    b, n = dist.shape
    counts = torch.bincount(rel_rows, minlength=b)
    width = int(counts.max()) if len(rel_rows) else 0
    slot = torch.arange(len(rel_rows)) - (torch.cumsum(counts, 0) - counts)[rel_rows]
    rel_dist = dist[rel_rows, rel_cols]
    match_dist = torch.full((b, width + 1), float('inf'), dtype=dist.dtype)
    match_dist[rel_rows, slot] = rel_dist
    match_dist, _ = torch.sort(match_dist, dim=1, stable=True)
    last = match_dist.gather(1, (counts - 1).clamp(min=0)[:, None]).squeeze(1)
    last = torch.where(counts > 0, last, torch.full_like(last, -float('inf')))
    # flat positions of the candidates: numpy's compare and flatnonzero are 1.4-3x faster than torch's on one
    # CPU thread (measured); then one 1-D gather for the values
    flat = torch.from_numpy(np.flatnonzero(dist.detach().numpy() <= last.detach().numpy()[:, None]))
    rows = torch.div(flat, n, rounding_mode='floor')
    if kept_pairs is not None:
        kept = kept_pairs(rows, flat - rows * n)
        rows, flat = rows[kept], flat[kept]
    d = dist.reshape(-1).index_select(0, flat)
    # every finite match distance of the chunk in one sorted list; prefix[r, p] = row r's matches among its
    # first p entries, so prefix[r, (entries <= d)] = row r's matches <= d
    finite_rel = torch.isfinite(rel_dist)
    values, order = torch.sort(rel_dist[finite_rel])
    prefix = torch.zeros(b, len(values) + 1, dtype=torch.int32)
    prefix[rel_rows[finite_rel][order], torch.arange(1, len(values) + 1)] = 1
    prefix = torch.cumsum(prefix, 1, dtype=torch.int32)
    # floor: the largest match distance <= d (a -inf column in front stands for "no match below")
    floors = torch.cat([torch.full((b, 1), -float('inf'), dtype=dist.dtype), match_dist], 1)

    def locate(r, v):
        """(rows, distances) -> (bucket = matches <= v, the distance equals its floor)"""
        # flat 1-D gathers (cheaper than 2-D advanced indexing)
        k = prefix.view(-1).index_select(0, r * prefix.shape[1] + _count_at_most(values, v)).long()
        return k, floors.view(-1).index_select(0, r * (width + 2) + k) == v

    right, equal = locate(rows, d)
    hist = torch.bincount(rows * (width + 2) + right, minlength=b * (width + 2))
    num_equal = torch.bincount(rows[equal], minlength=b)
    if dropped is not None and len(dropped[0]):
        r, c = dropped
        v = dist[r, c]
        inside = v <= last[r]
        r, v = r[inside], v[inside]
        k, eq = locate(r, v)
        hist -= torch.bincount(r * (width + 2) + k, minlength=b * (width + 2))
        num_equal -= torch.bincount(r[eq], minlength=b)
    below = torch.cumsum(hist.view(b, width + 2), 1)                # below[k] = kept d_j < k-th match
    finite = torch.isfinite(match_dist)
    # each match equals its own floor once; any other equality is a tie
    tied = (num_equal != counts) \
        | ((match_dist[:, 1:] == match_dist[:, :-1]) & finite[:, 1:]).any(1) \
        | ~torch.isfinite(dist.sum(1))      # a non-finite row sum: some distance is inf / nan (or overflowed)
    tied = torch.nonzero(tied).flatten()
    # rel rows are grouped and slot runs 0..count-1 in each: below[row, slot] are the row's ranks, ascending
    return rel_rows, below[rel_rows, slot], tied


def evaluate_ranking(q_pids: ArrayLike, g_pids: ArrayLike, q_camids: Optional[ArrayLike] = None,
                     g_camids: Optional[ArrayLike] = None, *, distmat=None, query_feats=None,
                     gallery_feats=None, distance: str = 'euclidean', protocol: str = 'market',
                     max_rank: int = 50, chunk_size: int = 64, warn_no_match: bool = True) -> RankResult:
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

    gallery = _GalleryIndex(g_pids)
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
        qp = q_pids[start:stop]
        qc = q_cams[start:stop] if use_cams else None
        rel_rows, rel_cols = gallery.same_identity(qp)
        kept_pairs = dropped = None
        if use_cams:
            same_cam = qc[rel_rows] == g_cams[rel_cols]    # of same-identity pairs: relevant = kept
            rel = same_cam if protocol == 'same_camera' else ~same_cam
            if protocol == 'market':   # it drops only same-identity pairs: a few per row
                dropped = rel_rows[~rel], rel_cols[~rel]
            else:
                def kept_pairs(r, c, qc=qc):
                    return _kept(protocol, qp[r] == g_pids[c], qc[r] == g_cams[c])
            rel_rows, rel_cols = rel_rows[rel], rel_cols[rel]

        rows, ranks, tied = _ranks_by_counting(dist, rel_rows, rel_cols, kept_pairs, dropped)
        if len(tied):   # exact ties with a match distance: stable-sort those rows (dense masks, few rows)
            redo = torch.zeros(stop - start, dtype=torch.bool)
            redo[tied] = True
            match = g_pids[None] == qp[tied, None]
            keep = _kept(protocol, match, g_cams[None] == qc[tied, None]) if use_cams else None
            r2, k2 = _ranks_by_sorting(dist[tied], match, keep)
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
