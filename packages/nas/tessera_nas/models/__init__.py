from .cars_classifier import CARSClassifier  # noqa: F401
from .darts_search_classifier import DARTSSearchClassifier  # noqa: F401
from .gold_nas_classifier import GoldNASClassifier  # noqa: F401
from .la_darts_classifier import LADARTSClassifier  # noqa: F401
from .darts_network import AuxiliaryHeadCIFAR, Cell, DARTSNetwork, drop_path
from .heads import AuxiliaryClsHead
from .operations import OPS, PRIMITIVES, DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero, build_op
from .search import DARTSSearchBackbone, MixedOp, PartialChannelMixedOp, SearchCell  # noqa: F401
from .search.cars_supernet import CARSSubnet, CARSSupernet  # noqa: F401

__all__ = ['AuxiliaryHeadCIFAR', 'Cell', 'DARTSNetwork', 'drop_path', 'AuxiliaryClsHead', 'OPS', 'PRIMITIVES',
           'DilConv', 'FactorizedReduce', 'ReLUConvBN', 'SepConv', 'Zero', 'build_op']
