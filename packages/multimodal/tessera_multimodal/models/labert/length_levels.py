"""Length-Controllable Image Captioning (LaBERT), Deng et al., ECCV 2020, arXiv:2007.09580.
Official repository: https://github.com/bearcatt/LaBERT (``config.py``: ``boundaries``).

Length levels: K inclusive token-length bins ``[(low_1, high_1), ..., (low_K, high_K)]``.
Level ``k`` (1-based, as the official code) is the token type of every caption position;
a caption of level ``k`` is padded with [EOS] to ``high_k`` positions and generated at
exactly ``high_k`` positions (the caption is the prefix before the first [EOS]).

==============  ==================================  ===============================
name            bins (word tokens, inclusive)       where
==============  ==================================  ===============================
``coco``        (7, 9) (10, 14) (15, 19) (20, 25)   paper / official ``config.py``
``digits``      (1, 3) (4, 6) (7, 9)                captioned digits (3-9 words)
``stamps``      (2, 11) (12, 24) (25, 60)           StampScenes short/medium/long
==============  ==================================  ===============================
Legend: lengths count ``WordTokenizer.split`` tokens (words and punctuation). The stamp bins are
derived from the default StampScenes train captions (2,000 scenes): token-length medians short 8,
medium 15, long 41 (5-95 %: 3-17, 6-26, 19-112); the cuts lie midway between the short and
medium medians (11/12) and at the medium 90th percentile (24/25); 60 caps the long level as the
official code caps COCO at 25 (longer captions are dropped from training, ``skip_out_of_bins``).
Levels follow a caption's token length, not its short/medium/long label (the labels overlap).
"""
from typing import Sequence, Tuple, Union

LENGTH_BINS = {
    'coco': ((7, 9), (10, 14), (15, 19), (20, 25)),
    'digits': ((1, 3), (4, 6), (7, 9)),
    'stamps': ((2, 11), (12, 24), (25, 60)),
}


class LengthLevels:
    """Validated length bins.

    Args:
        bins (str | sequence of (low, high)): a key of :data:`LENGTH_BINS` or the bins,
            ascending, disjoint, ``1 <= low <= high``.
    """

    def __init__(self, bins: Union[str, Sequence[Sequence[int]]]):
        if isinstance(bins, str):
            if bins not in LENGTH_BINS:
                raise ValueError(f'unknown length bins {bins!r}; named bins: {sorted(LENGTH_BINS)}')
            bins = LENGTH_BINS[bins]
        self.bins: Tuple[Tuple[int, int], ...] = tuple((int(lo), int(hi)) for lo, hi in bins)
        if not self.bins:
            raise ValueError('length bins must not be empty')
        prev = 0
        for lo, hi in self.bins:
            if not (1 <= lo <= hi) or lo <= prev:
                raise ValueError(f'length bins must be ascending, disjoint and 1 <= low <= high; got {self.bins}')
            prev = hi

    def __len__(self) -> int:
        return len(self.bins)

    @property
    def max_length(self) -> int:
        return self.bins[-1][1]

    def valid(self) -> str:
        return ', '.join(f'L{k}={lo}-{hi}' for k, (lo, hi) in enumerate(self.bins, 1))

    def check(self, level: int) -> Tuple[int, int]:
        """Bin ``(low, high)`` of ``level``; a level outside the trained bins raises."""
        if not isinstance(level, int) or not 1 <= level <= len(self.bins):
            raise ValueError(f'length level {level!r} is outside the trained bins; valid levels: {self.valid()}')
        return self.bins[level - 1]

    def level_of(self, length: int) -> int:
        """Level whose bin holds ``length`` tokens; 0 if none."""
        for k, (lo, hi) in enumerate(self.bins, 1):
            if lo <= length <= hi:
                return k
        return 0
