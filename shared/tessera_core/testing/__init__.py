"""Helpers for the packages' end-to-end tests."""
import os
import subprocess
import sys
from typing import Optional, Sequence


def run_mim(args: Sequence[str], cwd: Optional[str] = None, timeout: float = 600,
            env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Run ``mim ARGS`` with the current interpreter (``python -m mim``) and fail
    with mim's full output when it exits non-zero."""
    full_env = dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
    if env:
        full_env.update(env)
    proc = subprocess.run([sys.executable, '-m', 'mim', *args], cwd=cwd, env=full_env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise AssertionError(f'mim {" ".join(args)} exited with {proc.returncode}:\n{proc.stdout[-8000:]}')
    return proc


def randomise_batchnorms(model, seed: int = 1):
    """Give every BatchNorm of ``model`` non-trivial running statistics and affine parameters (in place),
    so that folding or eval-mode mistakes show up in output comparisons. Returns ``model``."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm) and m.running_mean is not None:
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.2)
    return model
