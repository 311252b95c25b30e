"""l-infinity adversarial attacks (FGSM, PGD) and adversarial accuracy of a classifier.

Attacks work in the model's *input pixel space* (the raw batch before the data preprocessor, e.g.
grey levels 0-255), so an epsilon means the same thing for every model whatever its normalisation,
and a grey image expanded to 3 channels by the preprocessor is perturbed as one grey image.

- FGSM (Goodfellow et al., 2015): ``x + eps * sign(grad_x CE)``, clipped to the valid range.
- PGD (Madry et al., 2018): uniform random start in the eps-ball, ``steps`` signed-gradient steps
  of ``step_size``, each projected back onto the eps-ball and the valid range.
"""
from typing import Callable, Dict, Iterable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


def _check_eps(eps: float, lower: float, upper: float) -> None:
    if eps < 0:
        raise ValueError(f'eps must be >= 0, got {eps}')
    if not lower < upper:
        raise ValueError(f'the valid range needs lower < upper, got [{lower}, {upper}]')


def _input_gradient(logits_fn: LogitsFn, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    inputs = inputs.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(logits_fn(inputs), labels, reduction='sum')
        (grad,) = torch.autograd.grad(loss, inputs)
    return grad


def fgsm(logits_fn: LogitsFn, inputs: torch.Tensor, labels: torch.Tensor, eps: float,
         lower: float = 0.0, upper: float = 255.0) -> torch.Tensor:
    """One signed-gradient step of size ``eps`` on the cross-entropy.

    Args:
        logits_fn: Maps inputs (N, C, H, W) to logits (N, K), differentiably.
        inputs: Clean inputs (N, C, H, W) in [lower, upper].
        labels: True classes (N,).
        eps: l-inf radius in input units.
    Returns:
        Adversarial inputs (N, C, H, W), detached.
    """
    _check_eps(eps, lower, upper)
    grad = _input_gradient(logits_fn, inputs, labels)
    return (inputs + eps * grad.sign()).clamp(lower, upper).detach()


def pgd(logits_fn: LogitsFn, inputs: torch.Tensor, labels: torch.Tensor, eps: float, steps: int = 10,
        step_size: Optional[float] = None, random_start: bool = True, lower: float = 0.0, upper: float = 255.0,
        generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Projected gradient descent on the cross-entropy in the l-inf ball of radius ``eps``.

    Args:
        steps: Number of signed-gradient steps.
        step_size: Defaults to ``2.5 * eps / steps`` (Madry et al.).
        random_start: Start from a uniform point of the ball (else from the clean input).
        generator: For the random start.
    Returns:
        Adversarial inputs (N, C, H, W), detached, within ``eps`` of ``inputs`` and in range.
    """
    _check_eps(eps, lower, upper)
    if steps < 1:
        raise ValueError(f'steps must be >= 1, got {steps}')
    step_size = 2.5 * eps / steps if step_size is None else step_size
    clean = inputs.detach()
    adv = clean.clone()
    if random_start and eps > 0:
        noise = torch.rand(clean.shape, generator=generator, dtype=clean.dtype).to(clean.device)
        adv = (clean + (2 * noise - 1) * eps).clamp(lower, upper)
    for _ in range(steps):
        grad = _input_gradient(logits_fn, adv, labels)
        adv = adv + step_size * grad.sign()
        adv = torch.min(torch.max(adv, clean - eps), clean + eps).clamp(lower, upper)
    return adv.detach()


def classifier_logits_fn(model: nn.Module) -> LogitsFn:
    """Raw-pixel batch (N, C, H, W) -> logits through an mmengine classifier's own preprocessor
    (normalisation, channel expansion), in the model's current mode."""
    def logits(raw: torch.Tensor) -> torch.Tensor:
        data = model.data_preprocessor(dict(inputs=raw), False)
        return model(data['inputs'], mode='tensor')
    return logits


def adversarial_accuracy(model: nn.Module, batches: Iterable[dict], eps: Sequence[float],
                         pgd_steps: int = 10, lower: float = 0.0, upper: float = 255.0,
                         max_samples: Optional[int] = None, seed: int = 0,
                         progress: Optional[Callable[[int], None]] = None) -> Dict[str, float]:
    """Top-1 accuracy (%) on clean, FGSM and PGD inputs, one attack per eps.

    Args:
        model: An mmengine classifier (``data_preprocessor``, ``mode='tensor'`` gives logits); put
            in eval mode here.
        batches: Collated dataloader batches ``dict(inputs=[(C, H, W)...], data_samples=[...])``
            with ``gt_label``.
        eps: Radii in input units (e.g. grey levels: 8 = 8/255 of the range).
        max_samples: Stop after this many samples (the first ones of ``batches``).
        progress: Called with the number of samples done after each batch.
    Returns:
        ``{'clean': acc, 'fgsm@<eps>': acc, 'pgd<steps>@<eps>': acc, ...}`` and ``'samples'``.
    """
    model.eval()
    device = next(model.parameters()).device
    logits_fn = classifier_logits_fn(model)
    generator = torch.Generator().manual_seed(seed)
    keys = ['clean'] + [f'fgsm@{e:g}' for e in eps] + [f'pgd{pgd_steps}@{e:g}' for e in eps]
    correct = dict.fromkeys(keys, 0)
    seen = 0
    for batch in batches:
        inputs = torch.stack(list(batch['inputs'])) if not isinstance(batch['inputs'], torch.Tensor) else batch['inputs']
        labels = torch.cat([s.gt_label.reshape(-1) for s in batch['data_samples']])
        if max_samples is not None:
            inputs, labels = inputs[:max_samples - seen], labels[:max_samples - seen]
        inputs, labels = inputs.to(device).float(), labels.to(device)
        with torch.no_grad():
            correct['clean'] += (logits_fn(inputs).argmax(1) == labels).sum().item()
        for e in eps:
            adv = fgsm(logits_fn, inputs, labels, e, lower, upper)
            with torch.no_grad():
                correct[f'fgsm@{e:g}'] += (logits_fn(adv).argmax(1) == labels).sum().item()
            adv = pgd(logits_fn, inputs, labels, e, pgd_steps, lower=lower, upper=upper, generator=generator)
            with torch.no_grad():
                correct[f'pgd{pgd_steps}@{e:g}'] += (logits_fn(adv).argmax(1) == labels).sum().item()
        seen += len(labels)
        if progress is not None:
            progress(seen)
        if max_samples is not None and seen >= max_samples:
            break
    if seen == 0:
        raise ValueError('no samples to evaluate')
    result = {k: 100.0 * v / seen for k, v in correct.items()}
    result['samples'] = seen
    return result
