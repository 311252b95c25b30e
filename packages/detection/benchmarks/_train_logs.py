"""What the detection benchmark scripts share for training logs: a markdown table of logged values every N
iterations of an mmengine ``mim train`` log."""
import re
from pathlib import Path
from typing import Iterable, Sequence


def print_log_table(path: str, keys: Sequence[str], every: int = 100, also: Iterable[int] = ()) -> None:
    """Print ``| iter | key... |`` for the iterations that are multiples of ``every`` (and those in ``also``);
    a key absent from a line prints ``-``."""
    also = set(also)
    print(f'# {path}')
    print('| iter | ' + ' | '.join(keys) + ' |')
    print('|---' * (len(keys) + 1) + '|')
    for line in Path(path).read_text().splitlines():
        m = re.search(r'Iter\(train\) \[\s*(\d+)/\d+\]', line)
        if not m or (int(m.group(1)) % every and int(m.group(1)) not in also):
            continue
        vals = [re.search(rf'{k}: ([\d.]+)', line) for k in keys]
        print(f'| {m.group(1)} | ' + ' | '.join(v.group(1) if v else '-' for v in vals) + ' |')
