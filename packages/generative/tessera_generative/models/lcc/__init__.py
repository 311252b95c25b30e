from .conv_encoder import ConvEncoder
from .lcc_bases import fit_lcc_bases, kmeans, lcc_objective
from .lcc_coding import lcc_reconstruction_error, local_coordinates, nearest_bases
from .lcc_generator import LCCGenerator
from .lcc_sampler import LCCSampler, simplex_weights

__all__ = ['ConvEncoder', 'LCCGenerator', 'LCCSampler', 'fit_lcc_bases', 'kmeans', 'lcc_objective',
           'lcc_reconstruction_error', 'local_coordinates', 'nearest_bases', 'simplex_weights']
