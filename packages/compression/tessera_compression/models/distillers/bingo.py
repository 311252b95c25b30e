"""BINGO: bag-of-instances aggregation for self-supervised distillation.

Bag of Instances Aggregation Boosts Self-supervised Distillation, Xu, Fang, Zhang, Xie, Wang, Dai,
Xiong and Tian, ICLR 2022, arXiv:2107.01691; official code https://github.com/haohang96/bingo
(``compute_knn.py`` / ``clustering.py``: the bags; ``moco/folder.py``: sampling a bag mate;
``moco/builder.py`` + ``main_moco.py``: the loss).

1. Bags (once, before training; :func:`knn_bags`, run by ``BagOfInstancesHook``): the frozen
   teacher's pooled backbone features of every un-augmented training image, L2-normalised; the
   bag of image i is i and its k nearest neighbours among the other training images (cosine
   similarity = L2 distance on the sphere; official k = 5, ``--clus_pos_num``).
2. Each step, for anchor x_i the dataset (``BagOfInstancesDataset``) draws one bag mate x_j
   uniformly from its k neighbours and gives two augmented views of each: q_i, k_i, q_j, k_j.
3. Student embeddings s_i = S(q_i), s_j = S(q_j), s_mix = S(cutmix(q_i, q_j)) (one box for the
   batch, area ratio 1 - lam, lam ~ Beta(2, 2)); teacher embeddings t_i = T(k_i), t_j = T(k_j),
   all L2-normalised; ``queue`` holds the teacher's t_i of past batches.

       L = 1/3 [ BINGOLoss(s_i, [t_i, t_j], w)          (intra-sample + bag aggregation)
               + BINGOLoss(s_j, [t_j, t_i], w)
               + BINGOLoss(s_mix, [t_i, t_j], [lam, 1 - lam]) ]
       queue <- enqueue(t_i)

   with w = (1, 0) during the first ``warmup_epochs`` epochs (official: ``epoch > 10`` switches,
   i.e. 11 of 200 epochs) and ``aggregate_weights`` = (0.5, 0.5) afterwards. tau = 0.2,
   queue K = 65,536, 128-d embeddings.

The teacher is held by :class:`DistillationModel` (config + checkpoint through the safe loader,
frozen, eval mode). Inputs: four views stacked on the channel axis (q_i, k_i, q_j, k_j).
"""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.model import BaseModel

from tessera_compression.registry import MODELS

from .distillation_model import DistillationModel
from .embedding_queue import EmbeddingQueue
from .seed import check_encoder

__all__ = ['BINGO', 'knn_bags', 'cutmix_pair']


@torch.no_grad()
def knn_bags(features: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Indices (N, k) of each row's k nearest other rows by cosine similarity, nearest first.

    ``features`` (N, D) need not be normalised (they are here). A row never lists itself.
    """
    if features.dim() != 2:
        raise ValueError(f'features must be (N, D), got {tuple(features.shape)}')
    n = features.size(0)
    if not 1 <= k < n:
        raise ValueError(f'need 1 <= k < N for k nearest neighbours of N={n} images, got k={k}')
    f = F.normalize(features.float(), dim=1)
    out = []
    for start in range(0, n, chunk):
        sim = f[start:start + chunk] @ f.t()
        rows = torch.arange(sim.size(0))
        sim[rows, rows + start] = -float('inf')
        out.append(sim.topk(k, dim=1).indices)
    return torch.cat(out, dim=0)


def cutmix_pair(x: torch.Tensor, y: torch.Tensor, alpha: float, rng: np.random.Generator):
    """Paste one random box of ``y`` into a copy of ``x`` (same box for the whole batch), as BINGO's
    official ``cutmix``: lam ~ Beta(alpha, alpha), box sides sqrt(1 - lam) of the image, centre uniform,
    clipped; returns ``(mixed, lam_adjusted)`` with ``lam_adjusted`` = the fraction of ``x`` kept."""
    h, w = x.shape[-2:]
    lam = rng.beta(alpha, alpha)
    ratio = np.sqrt(1.0 - lam)
    ch, cw = int(h * ratio), int(w * ratio)
    cy, cx = rng.integers(h), rng.integers(w)
    y1, y2 = np.clip(cy - ch // 2, 0, h), np.clip(cy + ch // 2, 0, h)
    x1, x2 = np.clip(cx - cw // 2, 0, w), np.clip(cx + cw // 2, 0, w)
    mixed = x.clone()
    mixed[..., y1:y2, x1:x2] = y[..., y1:y2, x1:x2]
    return mixed, 1.0 - float((y2 - y1) * (x2 - x1)) / float(h * w)


@MODELS.register_module()
class BINGO(DistillationModel):
    """Args:
        student (dict | BaseModel): Student encoder config (e.g. a ``MoCoV2`` with a narrow backbone).
        teacher (dict | str): Teacher config or config file (a MoCoV2).
        teacher_ckpt (str, optional): Teacher checkpoint (strict, safe loader).
        queue_len (int): ``K`` (65,536).
        feat_dim (int): Embedding width (128).
        num_neighbors (int): ``k``, the bag's neighbours besides the anchor (5).
        aggregate_weights (tuple): Weights of (own, bag mate) teacher embeddings after warm-up (0.5, 0.5).
        warmup_epochs (int): Epochs with weights (1, 0) (official 11 of 200).
        cutmix_alpha (float): Beta parameter of the mixed student view (2.0).
        loss (dict): ``BINGOLoss`` config.
        seed (int): Seed of the cutmix draws.
    """

    def __init__(self, student: Union[dict, BaseModel], teacher: Union[dict, str], teacher_ckpt: Optional[str] = None,
                 queue_len: int = 65536, feat_dim: int = 128, num_neighbors: int = 5,
                 aggregate_weights: Sequence[float] = (0.5, 0.5), warmup_epochs: int = 11, cutmix_alpha: float = 2.0,
                 loss: dict = dict(type='BINGOLoss', temperature=0.2), seed: int = 0,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(student=student, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         calculate_student_loss=False, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        check_encoder(self.student, 'student')
        check_encoder(self.teacher, 'teacher')
        if num_neighbors < 1:
            raise ValueError(f'num_neighbors must be >= 1, got {num_neighbors}')
        if len(aggregate_weights) != 2:
            raise ValueError(f'aggregate_weights gives the (own, bag mate) weights, got {aggregate_weights}')
        if warmup_epochs < 0 or cutmix_alpha <= 0:
            raise ValueError(f'need warmup_epochs >= 0 and cutmix_alpha > 0, got {warmup_epochs}, {cutmix_alpha}')
        self.queue = EmbeddingQueue(queue_len, feat_dim)
        self.loss_module = MODELS.build(loss)
        self.num_neighbors = int(num_neighbors)
        self.aggregate_weights = tuple(float(w) for w in aggregate_weights)
        self.warmup_epochs, self.cutmix_alpha = int(warmup_epochs), float(cutmix_alpha)
        self._rng = np.random.default_rng(seed)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's pooled backbone features (what the k-NN monitor and the linear probe read)."""
        return self.student.extract_feat(inputs)

    # ----------------------------------------------------------------------------- bags
    @torch.no_grad()
    def teacher_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """The teacher's pooled backbone features (N, C), L2-normalised (official ``pre_out``)."""
        self.teacher.eval()
        return F.normalize(self.teacher.extract_feat(inputs), dim=1)

    @torch.no_grad()
    def compute_bags(self, dataset, batch_size: int = 500) -> torch.Tensor:
        """Bags (N, num_neighbors) of ``dataset`` (a ``BagOfInstancesDataset``): the teacher's k nearest
        neighbours of each un-augmented image, in dataset order."""
        n = len(dataset)
        feats = []
        for start in range(0, n, batch_size):
            batch = pseudo_collate([dataset.plain_item(i) for i in range(start, min(start + batch_size, n))])
            data = self.data_preprocessor(batch, False)
            feats.append(self.teacher_features(data['inputs']).cpu())
        return knn_bags(torch.cat(feats, dim=0), self.num_neighbors)

    # ----------------------------------------------------------------------------- training
    @torch.no_grad()
    def teacher_embed(self, inputs: torch.Tensor) -> torch.Tensor:
        self.teacher.eval()
        return self.teacher.encode_query(inputs)

    def current_weights(self) -> tuple:
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return self.aggregate_weights if epoch >= self.warmup_epochs else (1.0, 0.0)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> dict:
        if inputs.size(1) % 4:
            raise ValueError(f'BINGO expects 4 views stacked on the channel axis (anchor query, anchor key, bag mate '
                             f'query, bag mate key: BagOfInstancesDataset), got {inputs.size(1)} channels')
        q_i, k_i, q_j, k_j = inputs.chunk(4, dim=1)
        t = torch.stack([self.teacher_embed(k_i), self.teacher_embed(k_j)], dim=1)   # (N, 2, D)
        mixed, lam = cutmix_pair(q_i, q_j, self.cutmix_alpha, self._rng)
        n = q_i.size(0)
        s = self.student.encode_query(torch.cat([q_i, q_j, mixed], dim=0))
        s_i, s_j, s_mix = s[:n], s[n:2 * n], s[2 * n:]
        if s_i.shape != t[:, 0].shape:
            raise ValueError(f'student embeddings {tuple(s_i.shape)} and teacher embeddings {tuple(t[:, 0].shape)} '
                             f'differ: give both heads out_channels={self.queue.dim}')
        queue = self.queue.get()
        w_own, w_mate = self.current_weights()
        loss = (self.loss_module(s_i, t, queue, [w_own, w_mate])
                + self.loss_module(s_j, t.flip(1), queue, [w_own, w_mate])
                + self.loss_module(s_mix, t, queue, [lam, 1.0 - lam])) / 3
        self.queue.enqueue(t[:, 0])
        return {'distill.loss_bingo': loss,
                'bag_mate_weight': torch.tensor(w_mate),
                'teacher_bag_cos': (t[:, 0] * t[:, 1]).sum(1).mean().detach()}
