from .caption_dataset import CaptionDataset, CocoCaptionDataset
from .caption_json import read_coco_captions, read_karpathy_split
from .captioned_digits import CaptionedDigits
from .pack_caption_inputs import CAPTION_META_KEYS, PackCaptionInputs
from .digit_captions import (DIGIT_CAPTION_VOCAB, DIGIT_CLASSES, NUMBER_WORDS, TEMPLATE_SETS, TRAIN_TEMPLATES,
                             ZERO_SHOT_TEMPLATES, class_prompts, fill_template, resolve_templates)
from .stamp_scenes import CAPTION_LEVELS, StampScenes
from .tuxpaint_stamps import TUXPAINT_STAMPS_ROOT, SkippedStamp, Stamp, read_stamps, split_stamps

__all__ = ['CaptionedDigits', 'DIGIT_CAPTION_VOCAB', 'DIGIT_CLASSES', 'NUMBER_WORDS', 'TRAIN_TEMPLATES',
           'ZERO_SHOT_TEMPLATES', 'TEMPLATE_SETS', 'class_prompts', 'fill_template', 'resolve_templates',
           'TUXPAINT_STAMPS_ROOT', 'Stamp', 'SkippedStamp', 'read_stamps', 'split_stamps',
           'StampScenes', 'CAPTION_LEVELS', 'read_coco_captions', 'read_karpathy_split',
           'CaptionDataset', 'CocoCaptionDataset', 'PackCaptionInputs', 'CAPTION_META_KEYS']
