"""RoI heads of tessera-detection's methods."""
from .cpn_proposal_classifier import CPNProposalClassifier, combine_cpn_scores, cpn_proposal_targets

__all__ = ['CPNProposalClassifier', 'combine_cpn_scores', 'cpn_proposal_targets']
