"""N2UQ weight quantizer: uniform levels after the entropy-preserving weight regularization.

Nonuniform-to-Uniform Quantization: Towards Accurate Quantization via Generalized Straight-Through
Estimation, Liu, Cheng, Huang, Xing and Shen, CVPR 2022, arXiv:2111.14826 (section 3.2.3 and
appendix A). Official code: https://github.com/liuzechun/Nonuniform-to-Uniform-Quantization
(``HardQuantizeConv`` in ``resnet/resnet.py``).

Weights keep equidistant thresholds (each weight learns its own value). Each filter ``W`` (one
output channel, ``|W|`` entries) is first rescaled so that its quantized values fill the ``2^n``
levels evenly (maximum entropy): with ``N = 2^n - 1``

    W' = 2^(n-1) / N * |W| / ||W||_1 * W = W / alpha,     alpha = N / 2^(n-1) * mean(|W|)

(``alpha`` per output channel, no gradient, as the official ``scaling_factor.detach()``), then
quantized uniformly to the ``2^n`` levels ``{-1, -1 + 2/N, ..., 1}`` and scaled back:

    F_Q(W') = round((clip(W', -1, 1) + 1) * N / 2) * 2 / N - 1,     W_q = alpha * F_Q(W')

For weights spread uniformly and symmetrically, ``W'`` is uniform on ``[-2^n / N, 2^n / N]`` and each
of the ``2^n`` levels receives exactly ``1 / 2^n`` of the weights (every bin is ``2 / N`` wide),
the entropy maximum. The backward pass is the official straight-through estimator on the
normalized weights: ``W_q`` carries the gradient of ``W'`` (``dW_q / dW = 1 / alpha``, per
channel, also outside the clipping range). The official code also declares a clipping parameter
(initialised to 2, i.e. ``[-1, 1]``) whose uses are all detached, so it never changes; here the
clipping range is the constant ``[-1, 1]``. After training ``alpha`` can be folded into the
following BatchNorm (appendix A).
"""
import torch

from tessera_compression.registry import MODELS

from .base import QuantLevels, Quantizer

__all__ = ['N2UQWeightQuantizer']


@MODELS.register_module()
class N2UQWeightQuantizer(Quantizer):
    """Uniform ``bits``-bit weight quantizer with N2UQ's entropy-preserving regularization.

    Args:
        bits (int): Bit width n (2-8): ``2^n`` symmetric levels ``alpha * {-1, -1 + 2/N, ..., 1}``.

    Shapes: weights (C_out, ...) of rank >= 2 -> same shape; row c holds at most ``2^n`` values,
    equally spaced by ``2 * alpha_c / N``.
    """

    def __init__(self, bits: int = 2):
        super().__init__(bits)
        self.num_steps = 2 ** self.bits - 1  # N
        self.gamma = self.num_steps / 2 ** (self.bits - 1)

    @property
    def qmin(self) -> int:
        return 0

    def _check(self, w: torch.Tensor) -> None:
        if w.dim() < 2:
            raise ValueError(f'N2UQWeightQuantizer expects (C_out, ...) weights of rank >= 2, '
                             f'got shape {tuple(w.shape)}')

    def channel_scale(self, w: torch.Tensor) -> torch.Tensor:
        """``alpha = N / 2^(n-1) * mean|W_c|`` per output channel, shape (C_out, 1, ..., 1), detached."""
        self._check(w)
        dims = tuple(range(1, w.dim()))
        alpha = self.gamma * w.detach().abs().mean(dim=dims, keepdim=True)
        return alpha.clamp_min(torch.finfo(alpha.dtype).tiny)

    def _codes(self, normalized: torch.Tensor) -> torch.Tensor:
        """Level index ``round((clip(W', -1, 1) + 1) * N / 2)`` in ``0..N`` (float, no gradient)."""
        return torch.round((normalized.detach().clamp(-1, 1) + 1) * (self.num_steps / 2))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        alpha = self.channel_scale(w)
        normalized = w / alpha
        quantized = alpha * (self._codes(normalized) * (2 / self.num_steps) - 1)
        return quantized.detach() + (normalized - normalized.detach())  # value exactly W_q, gradient of W'

    def integer_levels(self, w: torch.Tensor) -> QuantLevels:
        """Codes ``0..N`` (int64), scale ``2 * alpha / N`` per channel, zero point ``N / 2``."""
        alpha = self.channel_scale(w)
        codes = self._codes(w / alpha).long()
        return QuantLevels(codes, alpha * (2 / self.num_steps), self.num_steps / 2)

    def config(self) -> dict:
        return dict(type='N2UQWeightQuantizer', bits=self.bits)

    def extra_repr(self) -> str:
        return f'bits={self.bits}, levels=alpha*{{-1, ..., 1}} step 2/{self.num_steps}'
