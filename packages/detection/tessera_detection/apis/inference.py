"""Output adapter of detectors: mmdet's ``DetDataSample.pred_instances`` as boxes, scores, labels."""
import numpy as np

from tessera_core.apis import OutputAdapter, register_output_adapter
from tessera_core.apis.classification_adapter import upscaled
from tessera_core.apis.output_adapters import to_rgb


class DetOutputAdapter(OutputAdapter):
    """Result: ``bboxes`` (K, 4) float32 (x1, y1, x2, y2) in input-image pixels,
    ``scores`` (K,) float32, ``labels`` (K,) int64 and ``classes`` (K,) str when the
    dataset metainfo has them; all detections the model's ``test_cfg`` keeps.

    Args:
        draw_score_thr (float): Only boxes scoring at least this are drawn.
    """

    def __init__(self, draw_score_thr: float = 0.3):
        self.draw_score_thr = draw_score_thr

    def to_result(self, data_sample, dataset_meta: dict) -> dict:
        instances = data_sample.pred_instances
        result = dict(bboxes=instances.bboxes.detach().float().cpu().numpy().reshape(-1, 4),
                      scores=instances.scores.detach().float().cpu().numpy(),
                      labels=instances.labels.detach().cpu().numpy().astype(np.int64))
        classes = dataset_meta.get('classes')
        if classes is not None:
            result['classes'] = [str(classes[i]) for i in result['labels']]
        return result

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """Boxes scoring >= ``draw_score_thr``, each with ``<class>: <score>``, on the enlarged image."""
        rgb = to_rgb(image)
        canvas = upscaled(rgb, min_size=256)
        factor = canvas.shape[0] / rgb.shape[0]
        visualizer.set_image(canvas)
        keep = result['scores'] >= self.draw_score_thr
        if keep.any():
            h, w = canvas.shape[:2]
            boxes = (result['bboxes'][keep] * factor).clip(0, [w - 1, h - 1, w - 1, h - 1])
            names = np.asarray(result.get('classes', result['labels']))[keep]
            visualizer.draw_bboxes(boxes, edge_colors='lime', line_widths=2)
            texts = [f'{name}: {score:.2f}' for name, score in zip(names, result['scores'][keep])]
            corners = np.minimum(boxes[:, :2] + 2, [w - 2, h - 2])
            visualizer.draw_texts(texts, corners, colors='black', font_sizes=10, vertical_alignments='top',
                                  bboxes=dict(facecolor='lime', alpha=0.8, pad=1, edgecolor='none'))
        return visualizer.get_image()


register_output_adapter('tessera_detection', DetOutputAdapter())
