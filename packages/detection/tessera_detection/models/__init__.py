"""Models of tessera-detection.

Detectors, necks, heads, assigners and losses come from mmdet (resolved unprefixed in the
``tessera_detection`` scope); backbones of tessera-core are named ``tessera_core.X`` in configs
(``custom_imports=dict(imports=['tessera_core.models'])``). Detection methods of the catalog add their
components here.
"""
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .roi_heads import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
