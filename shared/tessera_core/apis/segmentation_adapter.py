"""Output adapter of core's ``Segmentor``: the class of every pixel."""
import mmcv
import numpy as np

from .classification_adapter import upscaled
from .output_adapters import OutputAdapter, register_output_adapter, to_rgb


def label_colours(num: int) -> np.ndarray:
    """(num, 3) uint8 RGB colours, black for label 0 (background), fixed hues for the rest."""
    rng = np.random.RandomState(0)
    colours = rng.randint(64, 256, size=(num, 3)).astype(np.uint8)
    colours[0] = 0
    return colours


class SegOutputAdapter(OutputAdapter):
    """Result: ``pred_sem_seg`` (H, W) int64 class per pixel (at the head's output size,
    the input's for the PSA configs) and ``labels`` (sorted classes present).
    Skips the test pipeline's target builders (``DigitSegMap`` needs ``gt_label``)."""
    skip_transforms = ('DigitSegMap',)

    def to_result(self, data_sample, dataset_meta: dict) -> dict:
        seg = data_sample.pred_sem_seg.detach().cpu().numpy().astype(np.int64).reshape(
            data_sample.pred_sem_seg.shape[-2:])
        return dict(pred_sem_seg=seg, labels=np.unique(seg))

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """The enlarged image beside the enlarged label map (one colour per class)."""
        seg = result['pred_sem_seg']
        colours = label_colours(max(int(seg.max()) + 1, 2))[seg]
        left = upscaled(to_rgb(image))
        right = mmcv.imresize(colours, (left.shape[1], left.shape[0]), interpolation='nearest')
        visualizer.set_image(np.concatenate([left, right], axis=1))
        return visualizer.get_image()


register_output_adapter('Segmentor', SegOutputAdapter())
