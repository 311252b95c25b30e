"""Output adapter of image classifiers (``ClsDataSample`` with ``pred_score``), the default."""
import numpy as np

from .output_adapters import OutputAdapter, register_output_adapter, to_rgb


def upscaled(image: np.ndarray, min_size: int = 224) -> np.ndarray:
    """RGB ``image`` enlarged by an integer factor (nearest) so its shorter side is >= ``min_size``."""
    factor = max(1, -(-min_size // min(image.shape[:2])))
    return np.ascontiguousarray(image.repeat(factor, axis=0).repeat(factor, axis=1))


class ClsOutputAdapter(OutputAdapter):
    """Result: ``pred_scores`` (K,) float32 softmax scores, ``pred_label`` (int, their
    argmax), ``pred_score`` (float, its score) and ``pred_class`` (str, when the
    dataset metainfo has ``classes``)."""

    def to_result(self, data_sample, dataset_meta: dict) -> dict:
        if 'pred_score' not in data_sample:
            raise TypeError(f'{type(self).__name__} reads pred_score, which the model\'s data sample '
                            f'({type(data_sample).__name__} with {sorted(data_sample.keys())}) lacks; '
                            'register an adapter for this model with tessera_core.apis.register_output_adapter')
        scores = data_sample.pred_score.detach().float().cpu().numpy()
        label = int(data_sample.pred_label.reshape(-1)[0]) if 'pred_label' in data_sample else int(scores.argmax())
        result = dict(pred_scores=scores, pred_label=label, pred_score=float(scores[label]))
        classes = dataset_meta.get('classes')
        if classes is not None:
            result['pred_class'] = str(classes[label])
        return result

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """The image (enlarged) with ``<class or label>: <score>`` in its top-left corner."""
        canvas = upscaled(to_rgb(image))
        visualizer.set_image(canvas)
        text = f'{result.get("pred_class", result["pred_label"])}: {result["pred_score"]:.2f}'
        visualizer.draw_texts(text, np.array([4, 4]), colors='white', font_sizes=max(10, canvas.shape[0] // 12),
                              vertical_alignments='top', bboxes=dict(facecolor='black', alpha=0.6, pad=2))
        return visualizer.get_image()


register_output_adapter('tessera_core', ClsOutputAdapter())
