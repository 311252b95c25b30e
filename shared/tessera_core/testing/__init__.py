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
