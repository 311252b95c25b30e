"""k-reciprocal re-ranking, vectorised.

Re-ranking Person Re-identification with k-reciprocal Encoding, Zhong, Zheng, Cao, Li, CVPR 2017
(arXiv:1701.08398). Official code: https://github.com/zhunzhong07/person-re-ranking
(``python-version/re_ranking_ranklist.py``; torchreid's ``utils/rerank.py`` is the same function).

With ``d`` the (Q+G) x (Q+G) matrix of all query/gallery distances, squared and normalised per column
(``d <- (d^2 / max_rows d^2)^T``, as the official code), ``N(i, k)`` the k+1 nearest neighbours of ``i``
(itself included) under a stable sort:

    R(i, k)  = {j in N(i, k) : i in N(j, k)}                                 k-reciprocal neighbours
    R*(i)    = R(i, k1) u  U_{c in R(i, k1), |R(c, k1/2) n R(i, k1)| > 2/3 |R(c, k1/2)|} R(c, k1/2)
    V[i, j]  = exp(-d[i, j]) / sum_{j' in R*(i)} exp(-d[i, j'])   for j in R*(i), else 0
    V[i]    <- mean_{r in N(i, k2 - 1)} V[r]                                local query expansion (k2 > 1)
    J[i, j]  = 1 - sum_k min(V[i,k], V[j,k]) / (2 - sum_k min(V[i,k], V[j,k]))  Jaccard distance
    final    = (1 - lambda) J + lambda d                                     query rows, gallery columns

(``k1/2`` is ``int(round(k1 / 2))`` with numpy's rounding, as the official code.) The official code loops
over every sample and every non-zero of ``V``; here the neighbour tests are batched gathers, ``V`` is kept
sparse (a few dozen non-zeros per row) and the min-sums of the Jaccard distance are a sparse join over the
columns of ``V``. Only the normalised distance matrix itself is dense (as in the official code): memory is
(Q+G)^2 x 4 bytes plus O((Q+G) x k1).
"""
from typing import Union

import numpy as np
import torch

Array = Union[np.ndarray, torch.Tensor]


def _topk_stable(dist: torch.Tensor, k: int, chunk_size: int) -> torch.Tensor:
    """First ``k`` columns of a stable row-wise argsort (ties keep column order), without sorting whole rows:
    ``topk`` finds each row's k-th smallest value, every entry up to it is a candidate (k of them, more with
    ties at the boundary), and the candidates are ordered by (value, column)."""
    out = []
    for s in range(0, len(dist), chunk_size):
        d = dist[s:s + chunk_size]
        kth = torch.topk(d, k, dim=1, largest=False).values.max(1, keepdim=True).values
        rows, cols = (d <= kth).nonzero(as_tuple=True)            # row-major, columns ascending
        by_value = torch.sort(d[rows, cols], stable=True).indices
        by_row = torch.sort(rows[by_value], stable=True).indices   # rows again, values ascending within
        order = by_value[by_row]
        rows, cols = rows[order], cols[order]
        counts = torch.bincount(rows, minlength=len(d))
        slot = torch.arange(len(rows)) - (torch.cumsum(counts, 0) - counts)[rows]
        first = slot < k
        top = torch.empty(len(d), k, dtype=torch.long)
        top[rows[first], slot[first]] = cols[first]
        out.append(top)
    return torch.cat(out)


def _reciprocal(neighbours: torch.Tensor) -> torch.Tensor:
    """(A, k+1) forward neighbours -> (A, k+1) mask: is row ``i`` among the k+1 neighbours of neighbour j."""
    rows = torch.arange(len(neighbours))[:, None, None]
    return (neighbours[neighbours] == rows).any(-1)


def k_reciprocal_rerank(q_g_dist: Array, q_q_dist: Array, g_g_dist: Array, k1: int = 20, k2: int = 6,
                        lambda_value: float = 0.3, chunk_size: int = 512) -> np.ndarray:
    """Re-ranked (Q, G) query-gallery distances (float32), the official function's inputs and defaults.

    Args:
        q_g_dist, q_q_dist, g_g_dist: (Q, G), (Q, Q), (G, G) distances (e.g. Euclidean; squared inside, as in
            the official code).
        k1, k2, lambda_value: The paper's k1 = 20, k2 = 6, lambda = 0.3.
        chunk_size (int): Rows processed at a time.
    """
    q_g = torch.as_tensor(np.asarray(q_g_dist) if not isinstance(q_g_dist, torch.Tensor) else q_g_dist)
    q_q = torch.as_tensor(np.asarray(q_q_dist) if not isinstance(q_q_dist, torch.Tensor) else q_q_dist)
    g_g = torch.as_tensor(np.asarray(g_g_dist) if not isinstance(g_g_dist, torch.Tensor) else g_g_dist)
    num_q, num_g = q_g.shape
    if q_q.shape != (num_q, num_q) or g_g.shape != (num_g, num_g):
        raise ValueError(f'shapes do not fit: q_g {tuple(q_g.shape)}, q_q {tuple(q_q.shape)}, g_g {tuple(g_g.shape)}')
    if k1 < 1 or k2 < 1 or not 0 <= lambda_value <= 1:
        raise ValueError(f'need k1 >= 1, k2 >= 1 and 0 <= lambda_value <= 1, got {k1}, {k2}, {lambda_value}')
    num_all = num_q + num_g
    dist = torch.cat([torch.cat([q_q, q_g], 1), torch.cat([q_g.t(), g_g], 1)], 0)
    dist = dist.pow(2).float()
    dist = (dist / dist.max(0).values).t().contiguous()
    k_half = int(np.around(k1 / 2.))
    width = min(max(k1 + 1, k2), num_all)
    initial_rank = _topk_stable(dist, width, chunk_size)
    forward = initial_rank[:, :k1 + 1]                          # N(i, k1)
    recip = _reciprocal(forward)                                # R(i, k1) as a mask over forward
    forward_half = initial_rank[:, :k_half + 1]
    recip_half = _reciprocal(forward_half)                      # R(c, k1/2) as a mask over forward_half
    half_size = recip_half.sum(1)

    v_rows, v_cols, v_vals = [], [], []
    for s in range(0, num_all, chunk_size):
        fw, rc = forward[s:s + chunk_size], recip[s:s + chunk_size]              # (B, k1+1)
        cand_members, cand_mask = forward_half[fw], recip_half[fw]                # (B, k1+1, h+1)
        in_r = ((cand_members[..., None] == fw[:, None, None, :]) & rc[:, None, None, :]).any(-1)
        overlap = (in_r & cand_mask).sum(-1)
        accept = rc & (overlap > 2. / 3 * half_size[fw])                           # (B, k1+1)
        expansion = torch.zeros(len(fw), num_all, dtype=torch.bool)
        expansion.scatter_(1, fw, rc)                                               # R(i, k1)
        rows = torch.arange(len(fw))[:, None, None].expand_as(cand_members)
        take = cand_mask & accept[..., None]
        expansion[rows[take], cand_members[take]] = True
        weight = torch.where(expansion, torch.exp(-dist[s:s + chunk_size]), torch.zeros(()))
        weight = weight / weight.sum(1, keepdim=True)
        r, c = expansion.nonzero(as_tuple=True)
        v_rows.append(r + s)
        v_cols.append(c)
        v_vals.append(weight[r, c])
    rows, cols, vals = torch.cat(v_rows), torch.cat(v_cols), torch.cat(v_vals)   # row-major
    if k2 != 1:
        # V_qe[i] = mean of V[r] over r in N(i, k2 - 1): gather those rows' entries, sum duplicates, divide
        row_count = torch.bincount(rows, minlength=num_all)
        row_start = torch.cumsum(row_count, 0) - row_count
        source = initial_rank[:, :k2].reshape(-1)
        n = row_count[source]
        rep = torch.repeat_interleave(torch.arange(len(source)), n)
        pos = row_start[source][rep] + torch.arange(len(rep)) - (torch.cumsum(n, 0) - n)[rep]
        qe = torch.sparse_coo_tensor(torch.stack([rep // k2, cols[pos]]), vals[pos], (num_all, num_all),
                                     check_invariants=False).coalesce()
        rows, cols = qe.indices()
        vals = qe.values() / k2
    # sum_k min(V[i, k], V[j, k]) for query rows i and gallery rows j: join the entries of V on their column.
    by_col = torch.argsort(cols, stable=True)
    col_rows, col_vals = rows[by_col], vals[by_col]
    col_count = torch.bincount(cols, minlength=num_all)
    col_start = torch.cumsum(col_count, 0) - col_count
    row_count = torch.bincount(rows, minlength=num_all)
    row_start = torch.cumsum(row_count, 0) - row_count          # V's entries are row-major after coalesce
    jaccard = torch.empty(num_q, num_g, dtype=torch.float32)
    q_chunk = max(1, chunk_size // 8)
    for s in range(0, num_q, q_chunk):
        e = min(s + q_chunk, num_q)
        lo, hi = int(row_start[s]), int(row_start[e - 1] + row_count[e - 1])
        e_row, e_col, e_val = rows[lo:hi], cols[lo:hi], vals[lo:hi]
        n = col_count[e_col]
        rep = torch.repeat_interleave(torch.arange(len(e_col)), n)
        within = torch.arange(len(rep)) - (torch.cumsum(n, 0) - n)[rep]
        pos = col_start[e_col][rep] + within
        other, other_val = col_rows[pos], col_vals[pos]
        gallery = other >= num_q
        flat = (e_row[rep] - s) * num_g + (other - num_q)
        contrib = torch.minimum(e_val[rep], other_val)
        temp_min = torch.zeros((e - s) * num_g, dtype=torch.float32)
        temp_min.index_add_(0, flat[gallery], contrib[gallery])
        temp_min = temp_min.view(e - s, num_g)
        jaccard[s:e] = 1 - temp_min / (2. - temp_min)
    final = jaccard * (1 - lambda_value) + dist[:num_q, num_q:] * lambda_value
    return final.numpy()
