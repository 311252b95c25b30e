from .feature_extractor import TrainedFeatureExtractor, build_feature_extractor, load_feature_net
from .fid_metric import FrechetInceptionDistance
from .functional import frechet_distance, gaussian_stats, inception_score, precision_recall
from .generative_metric import GenerativeMetric
from .inception_score_metric import InceptionScore
from .precision_recall_metric import PrecisionAndRecall
from .vae_metric import VAEMetric

__all__ = ['VAEMetric', 'GenerativeMetric', 'FrechetInceptionDistance', 'InceptionScore', 'PrecisionAndRecall',
           'TrainedFeatureExtractor', 'build_feature_extractor', 'load_feature_net', 'frechet_distance',
           'gaussian_stats', 'inception_score', 'precision_recall']
