"""Caption templates for digit images and the fixed vocabulary they use.

Captions are generated from a digit's label by filling a template's fields:
``{word}`` (``'seven'``) and ``{numeral}`` (``'7'``). Two disjoint template sets:

* :data:`TRAIN_TEMPLATES` write the training (and retrieval-test) captions;
* :data:`ZERO_SHOT_TEMPLATES` are held out from training and only build the
  class prompts of zero-shot classification (as CLIP's prompt ensembles,
  arXiv:2103.00020, Section 3.1.4), so zero-shot accuracy measures transfer to
  sentences never seen in training. Their new words (``drawing``, ``sketch``,
  ...) are in the vocabulary but never trained.
"""
from typing import Dict, List, Sequence, Tuple, Union

NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine')

# Fields of every digit class, index = label.
DIGIT_CLASSES: Tuple[Dict[str, str], ...] = tuple(
    dict(word=word, numeral=str(i)) for i, word in enumerate(NUMBER_WORDS))

TRAIN_TEMPLATES = (
    'a photo of the digit {word}',
    'a handwritten {numeral}',
    'a photo of a handwritten {numeral}',
    'an image of the number {word}',
    'the number {word}',
    'the digit {numeral} written by hand',
    'a scan of the digit {numeral}',
    'a black and white photo of the number {word}',
)

ZERO_SHOT_TEMPLATES = (
    'a drawing of the number {word}',
    'a sketch of a {numeral}',
    'this is the digit {word}',
    'a blurry picture of the number {numeral}',
    'someone wrote the number {word}',
)

# Named template sets, so configs and ``--cfg-options`` can select one by name.
TEMPLATE_SETS = {'train': TRAIN_TEMPLATES, 'zero_shot': ZERO_SHOT_TEMPLATES}

# The fixed word-level vocabulary (sorted): every word of both template sets and
# every class field. Special tokens are added by the tokenizer.
DIGIT_CAPTION_VOCAB = (
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
    'a', 'an', 'and', 'black', 'blurry', 'by', 'digit', 'drawing', 'eight', 'five', 'four', 'hand',
    'handwritten', 'image', 'is', 'nine', 'number', 'of', 'one', 'photo', 'picture', 'scan', 'seven',
    'six', 'sketch', 'someone', 'the', 'this', 'three', 'two', 'white', 'written', 'wrote', 'zero',
)


def resolve_templates(templates: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """A name of :data:`TEMPLATE_SETS` or a list of templates -> a tuple of templates."""
    if isinstance(templates, str):
        if templates not in TEMPLATE_SETS:
            raise KeyError(f'unknown template set {templates!r}; valid: {sorted(TEMPLATE_SETS)} '
                           '(or pass a list of templates)')
        return TEMPLATE_SETS[templates]
    if not templates:
        raise ValueError('need at least one template')
    return tuple(templates)


def fill_template(template: str, fields: Dict[str, str]) -> str:
    """``fill_template('a handwritten {numeral}', dict(word='seven', numeral='7'))`` -> ``'a handwritten 7'``."""
    try:
        return template.format(**fields)
    except KeyError as err:
        raise KeyError(f'template {template!r} uses field {err.args[0]!r}; the class provides '
                       f'{sorted(fields)}') from None


def class_prompts(templates: Sequence[str], classes: Sequence[Dict[str, str]] = DIGIT_CLASSES) -> List[List[str]]:
    """Prompts per class: ``result[c][t] = templates[t]`` filled with ``classes[c]``."""
    if not templates:
        raise ValueError('need at least one template')
    return [[fill_template(t, fields) for t in templates] for fields in classes]
