"""Fixed 2-D sine-cosine position embeddings (MAE, He et al., arXiv:2111.06377, after MoCo v3).

For a ``grid_h x grid_w`` patch grid and ``D`` channels (``D % 4 == 0``): the first ``D/2`` channels
encode the column index ``j``, the last ``D/2`` the row index ``i`` (the official MAE code's order:
its ``np.meshgrid(grid_w, grid_h)`` puts the column coordinate first), each as
``[sin(p * w_0..w_{D/4-1}), cos(p * w_0..w_{D/4-1})]`` with ``w_k = 10000 ** (-k / (D/4))``.
Patches are numbered row-major (``l = i * grid_w + j``), as patch embedding flattens them.
With ``cls_token=True`` a zero row is prepended for the class token.
"""
import torch


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """(M,) positions -> (M, dim) ``[sin(pos w), cos(pos w)]``, ``w_k = 10000 ** (-2k / dim)``."""
    if dim % 2:
        raise ValueError(f'sincos_1d needs an even dim, got {dim}')
    omega = torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = pos.reshape(-1).to(torch.float64)[:, None] * omega[None]
    return torch.cat([out.sin(), out.cos()], dim=1)


def build_2d_sincos_position_embedding(grid_size, embed_dims: int, cls_token: bool = False) -> torch.Tensor:
    """Returns (1, [1 +] grid_h * grid_w, embed_dims) float32."""
    grid_h, grid_w = (grid_size, grid_size) if isinstance(grid_size, int) else tuple(grid_size)
    if embed_dims % 4:
        raise ValueError(f'2-D sincos position embedding needs embed_dims divisible by 4, got {embed_dims}')
    rows = torch.arange(grid_h).repeat_interleave(grid_w)  # i of patch l = i * grid_w + j
    cols = torch.arange(grid_w).repeat(grid_h)             # j
    emb = torch.cat([sincos_1d(embed_dims // 2, cols), sincos_1d(embed_dims // 2, rows)], dim=1)
    if cls_token:
        emb = torch.cat([torch.zeros(1, embed_dims, dtype=emb.dtype), emb], dim=0)
    return emb.float().unsqueeze(0)
