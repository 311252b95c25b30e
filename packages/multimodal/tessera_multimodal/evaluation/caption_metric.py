"""Caption metrics through the reference COCO-caption code (``pycocoevalcap``), never re-implemented.

Microsoft COCO Captions: Data Collection and Evaluation Server, arXiv:1504.00325,
https://github.com/tylin/coco-caption (packaged as ``pycocoevalcap``). LaBERT (arXiv:2007.09580,
https://github.com/bearcatt/LaBERT) reports these scores overall and per length level.

Every predicted data sample (a dict, or a data sample whose fields/metainfo hold the keys) carries

* ``pred_caption`` (str), ``gt_captions`` (list[str], >= 1 reference),
* optionally ``length_level`` (int): scores are then also computed per level (``L<level>/<name>``);
* optionally ``pred_captions`` ({level: str}, a length-controllable captioner's caption at every level it was
  asked for, as LaBERT gives): each level's captions are scored against the same references
  (``gen-L<level>/<name>``, as the paper scores every level against all references), with their mean length
  in PTB-tokenised words (``gen-L<level>/words``).

=============  =================================================================================
score          when
=============  =================================================================================
BLEU-1..4      always (``Bleu(4)``)
ROUGE_L        always
CIDEr          always (``Cider``: its idf comes from the references of the evaluated set)
METEOR         when ``java`` is on PATH (``Meteor``, bundled jar, offline); else skipped, reason logged
SPICE          never by default: it downloads Stanford CoreNLP models at first use (network); ``spice=True``
               is an opt-in for machines where those models are already present
=============  =================================================================================

Tokenisation: pycocoevalcap's ``PTBTokenizer`` (Stanford PTB tokenizer, lower-cased, punctuation removed)
when java is present; otherwise :func:`simple_ptb_like_tokenize` (lower-case, split off punctuation and
``n't``/``'s`` clitics, drop the same punctuation tokens), with a logged warning: scores may then differ
slightly from the official ones.
"""
import re
import shutil
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tessera_multimodal.registry import METRICS

# pycocoevalcap.tokenizer.ptbtokenizer.PUNCTUATIONS
_PUNCT = {"''", "'", '``', '`', '-LRB-', '-RRB-', '-LCB-', '-RCB-', '.', '?', '!', ',', ':', '-', '--', '...', ';'}
_SIMPLE_RE = re.compile(r"n't|'[a-z]+|[a-z0-9]+|\.\.\.|--|[^\sa-z0-9]")


def simple_ptb_like_tokenize(text: str) -> str:
    """Fallback without java: ``"Don't go, Sam."`` -> ``"do n't go sam"``."""
    text = re.sub(r"([a-z])n't\b", r"\1 n't", text.lower().replace('\n', ' '))
    toks = _SIMPLE_RE.findall(text)
    return ' '.join(t for t in toks if t not in _PUNCT)


def _get(sample, key, default=None):
    if isinstance(sample, dict):
        return sample.get(key, default)
    if key in sample:
        return sample.get(key)
    return sample.metainfo.get(key, default) if hasattr(sample, 'metainfo') else default


@METRICS.register_module()
class CaptionMetric(BaseMetric):
    """Args:
        meteor (bool | None): ``None`` = when java is present; ``True`` requires java.
        spice (bool): Opt-in SPICE (needs java and Stanford CoreNLP models already downloaded).
        tokenizer (str): ``'auto'`` (PTB when java, else simple), ``'ptb'`` or ``'simple'``.
        prefix (str): Key prefix, default ``'caption'``.
    """
    default_prefix = 'caption'
    TOKENIZERS = ('auto', 'ptb', 'simple')

    def __init__(self, meteor: Optional[bool] = None, spice: bool = False, tokenizer: str = 'auto',
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if tokenizer not in self.TOKENIZERS:
            raise ValueError(f'tokenizer={tokenizer!r} is not one of {self.TOKENIZERS}')
        java = shutil.which('java') is not None
        logger = MMLogger.get_current_instance()
        if tokenizer == 'auto':
            tokenizer = 'ptb' if java else 'simple'
            if not java:
                logger.warning('CaptionMetric: java not found, using the simple PTB-like tokenizer instead of '
                               "pycocoevalcap's PTBTokenizer (scores may differ slightly from the official ones)")
        if tokenizer == 'ptb' and not java:
            raise RuntimeError("CaptionMetric(tokenizer='ptb') needs java on PATH (Stanford PTBTokenizer)")
        if meteor is None:
            meteor = java
            if not java:
                logger.info('CaptionMetric: METEOR skipped (java not found on PATH)')
        elif meteor and not java:
            raise RuntimeError('CaptionMetric(meteor=True) needs java on PATH')
        if spice and not java:
            raise RuntimeError('CaptionMetric(spice=True) needs java on PATH')
        if not spice:
            logger.info('CaptionMetric: SPICE skipped (off by default: it downloads Stanford CoreNLP models at '
                        'first use; pass spice=True only where they are already present)')
        self.tokenizer, self.meteor, self.spice = tokenizer, bool(meteor), bool(spice)

    def process(self, data_batch, data_samples: Sequence) -> None:
        for s in data_samples:
            pred, gts = _get(s, 'pred_caption'), _get(s, 'gt_captions')
            if not isinstance(pred, str):
                raise KeyError(f'CaptionMetric needs a str pred_caption in every data sample, got {type(pred).__name__}')
            if isinstance(gts, str):
                gts = [gts]
            if not gts or not all(isinstance(g, str) for g in gts):
                raise KeyError(f'CaptionMetric needs gt_captions (a non-empty list of str), got {gts!r}')
            level = _get(s, 'length_level')
            by_level = _get(s, 'pred_captions')
            if by_level is not None and not (isinstance(by_level, dict)
                                             and all(isinstance(c, str) for c in by_level.values())):
                raise KeyError(f'CaptionMetric: pred_captions must map a level to a str caption, got {by_level!r}')
            self.results.append(dict(pred=pred, gts=list(gts), level=None if level is None else int(level),
                                     by_level=dict(by_level or {})))

    def tokenize(self, caps: Dict[int, List[str]]) -> Dict[int, List[str]]:
        if self.tokenizer == 'ptb':
            from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
            return PTBTokenizer().tokenize({k: [{'caption': c} for c in v] for k, v in caps.items()})
        return {k: [simple_ptb_like_tokenize(c) for c in v] for k, v in caps.items()}

    def scorers(self) -> list:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
        out = [(Bleu(4), ['BLEU-1', 'BLEU-2', 'BLEU-3', 'BLEU-4']), (Rouge(), ['ROUGE_L']), (Cider(), ['CIDEr'])]
        if self.meteor:
            from pycocoevalcap.meteor.meteor import Meteor
            out.append((Meteor(), ['METEOR']))
        if self.spice:
            from pycocoevalcap.spice.spice import Spice
            out.append((Spice(), ['SPICE']))
        return out

    def score(self, gts: Dict[int, List[str]], res: Dict[int, List[str]]) -> Dict[str, float]:
        """Tokenised references / one-element predictions -> scores (pycocoevalcap's scale, 0..1; CIDEr 0..10)."""
        out = {}
        for scorer, names in self.scorers():
            value, _ = scorer.compute_score(gts, res)
            values = value if isinstance(value, (list, tuple)) else [value]
            out.update({n: float(v) for n, v in zip(names, values)})
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        gts = {i: r['gts'] for i, r in enumerate(results)}
        res = {i: [r['pred']] for i, r in enumerate(results)}
        tok_gts, tok_res = self.tokenize(gts), self.tokenize(res)
        metrics = self.score(tok_gts, tok_res)
        by_level = defaultdict(list)
        for i, r in enumerate(results):
            if r['level'] is not None:
                by_level[r['level']].append(i)
        for level in sorted(by_level):
            ids = by_level[level]
            sub = self.score({i: tok_gts[i] for i in ids}, {i: tok_res[i] for i in ids})
            metrics.update({f'L{level}/{k}': v for k, v in sub.items()})
        generated = sorted({lv for r in results for lv in r.get('by_level', {})})
        for lv in generated:
            ids = [i for i, r in enumerate(results) if lv in r.get('by_level', {})]
            tok = self.tokenize({i: [results[i]['by_level'][lv]] for i in ids})
            sub = self.score({i: tok_gts[i] for i in ids}, tok)
            sub['words'] = sum(len(tok[i][0].split()) for i in ids) / len(ids)
            metrics.update({f'gen-L{lv}/{k}': v for k, v in sub.items()})
        return metrics
