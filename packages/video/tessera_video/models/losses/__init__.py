from .rspnet_losses import instance_logits, relative_speed_ranking_loss, rspnet_losses

__all__ = ['instance_logits', 'relative_speed_ranking_loss', 'rspnet_losses']
from .tal_mr_losses import tal_mr_losses  # noqa: F401
