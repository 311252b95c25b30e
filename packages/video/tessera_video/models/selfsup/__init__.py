from .rspnet import ProjectionHead, RSPNet

__all__ = ['ProjectionHead', 'RSPNet']
