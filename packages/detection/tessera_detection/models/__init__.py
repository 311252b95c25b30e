"""Models of tessera-detection.

Detectors, necks, heads, assigners and losses come from mmdet (resolved unprefixed in the
``tessera_detection`` scope); backbones of tessera-core are named ``tessera_core.X`` in configs
(``custom_imports=dict(imports=['tessera_core.models'])``). Detection methods of the catalog add their
components here.
"""
