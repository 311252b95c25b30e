"""The DARTS search space: mixed operations, search cells and the supernet backbone."""
from .mixed_op import MixedOp, check_edge_weights, check_primitives
from .gold_nas_supernet import GATED_OPS, GatedCell, GoldNASSupernet  # noqa: F401
from .latency_predictor import LatencyPredictor  # noqa: F401
from .nb201_darts_supernet import NB201DARTSSupernet, NB201MixedCell  # noqa: F401
from .partial_channel_mixed_op import PartialChannelMixedOp, channel_shuffle
from .search_backbone import DARTSSearchBackbone
from .search_cell import (SearchCell, cell_edges, check_edge_primitives, node_edge_softmax, num_cell_edges,
                          registered_mixed_ops)

__all__ = ['MixedOp', 'check_edge_weights', 'check_primitives', 'PartialChannelMixedOp', 'channel_shuffle',
           'DARTSSearchBackbone', 'SearchCell', 'cell_edges', 'check_edge_primitives', 'node_edge_softmax',
           'num_cell_edges', 'registered_mixed_ops']
