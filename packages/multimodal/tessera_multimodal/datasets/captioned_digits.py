"""Real digit images paired with captions generated from their labels."""
from typing import List, Sequence, Union

import numpy as np
from tessera_core.datasets import EmbeddedDigits

from tessera_multimodal.registry import DATASETS

from .digit_captions import DIGIT_CLASSES, fill_template, resolve_templates


@DATASETS.register_module()
class CaptionedDigits(EmbeddedDigits):
    """:class:`tessera_core.datasets.EmbeddedDigits` with one caption per image.

    The caption of image ``i`` is ``templates[t_i]`` filled with the fields of
    its label (``{word}``: ``'seven'``, ``{numeral}``: ``'7'``), ``t_i`` drawn
    once from ``np.random.RandomState(caption_seed)``: the pairs are fixed,
    identical on every machine. Items gain the keys ``caption`` and
    ``template_idx`` (pack them as meta keys).

    Args:
        templates (str | Sequence[str]): Caption templates, or the name of a set
            of :data:`~tessera_multimodal.datasets.digit_captions.TEMPLATE_SETS`;
            defaults to ``'train'`` (``TRAIN_TEMPLATES``).
        caption_seed (int): Seed of the template draw.
        **kwargs: ``source``, ``split``, ``pipeline``... of ``EmbeddedDigits``.
    """

    def __init__(self, templates: Union[str, Sequence[str]] = 'train', caption_seed: int = 0, **kwargs):
        self.templates = resolve_templates(templates)
        self.caption_seed = caption_seed
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        rng = np.random.RandomState(self.caption_seed)
        choice = rng.randint(len(self.templates), size=len(data_list))
        for info, t in zip(data_list, choice):
            label = info['gt_label']
            if not 0 <= label < len(DIGIT_CLASSES):
                raise ValueError(f'label {label} has no caption fields; valid labels: 0..{len(DIGIT_CLASSES) - 1}')
            info['template_idx'] = int(t)
            info['caption'] = fill_template(self.templates[t], DIGIT_CLASSES[label])
        return data_list
