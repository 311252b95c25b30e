"""Zero-shot classification accuracy and image<->text retrieval recall of a CLIP model."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from tessera_multimodal.registry import METRICS


def retrieval_recall_at_1(query: torch.Tensor, gallery: torch.Tensor, query_labels: torch.Tensor,
                          gallery_labels: torch.Tensor) -> float:
    """Percent of queries whose most similar gallery item has the query's label.

    Args:
        query (Tensor): (Q, E) normalised embeddings.
        gallery (Tensor): (G, E) normalised embeddings.
        query_labels, gallery_labels (Tensor): (Q,), (G,) labels.
    """
    top1 = (query @ gallery.t()).argmax(dim=1)
    return gallery_labels[top1].eq(query_labels).float().mean().item() * 100


@METRICS.register_module()
class ZeroShotRetrievalMetric(BaseMetric):
    """Evaluates a contrastive image-text model on a captioned test split.

    Keys (prefix ``clip/`` by default), all in percent:

    * ``zeroshot_top1``: top-1 accuracy of the zero-shot classifier (the model's
      ``pred_score``, built from class prompts whose templates were held out
      from training);
    * ``i2t_recall@1``: each test image queries the test captions;
    * ``t2i_recall@1``: each test caption queries the test images.

    The captions are generated from labels, so many test captions are
    interchangeable descriptions of the same digit (identical texts even, with
    identical embeddings). A retrieved item therefore counts as correct when
    it is the query's pair or describes / shows the same digit, i.e. has the
    same label.
    """
    default_prefix = 'clip'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [k for k in ('pred_score', 'gt_label', 'img_embed', 'text_embed') if k not in sample]
            if missing:
                raise KeyError(f'ZeroShotRetrievalMetric: data sample lacks {missing} (needs a CLIP model in '
                               'predict mode on a captioned dataset)')
            self.results.append(dict(score=sample['pred_score'].cpu(), label=int(sample['gt_label']),
                                     img=sample['img_embed'].cpu(), text=sample['text_embed'].cpu()))

    def compute_metrics(self, results: List[dict]) -> dict:
        scores = torch.stack([r['score'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        img = torch.stack([r['img'] for r in results]).float()
        text = torch.stack([r['text'] for r in results]).float()
        return {
            'zeroshot_top1': scores.argmax(dim=1).eq(labels).float().mean().item() * 100,
            'i2t_recall@1': retrieval_recall_at_1(img, text, labels, labels),
            't2i_recall@1': retrieval_recall_at_1(text, img, labels, labels),
        }
