from .proposal_generation import boundary_candidates, generate_proposals, pair_boundaries, soft_nms
from .tal_mr import BASE_LAYERS, TALMR, tal_mr_targets

__all__ = ['boundary_candidates', 'generate_proposals', 'pair_boundaries', 'soft_nms', 'BASE_LAYERS', 'TALMR',
           'tal_mr_targets']
