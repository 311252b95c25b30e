"""Output adapter of re-ID models: the embedding ``pred_feature`` of each image."""
import numpy as np

from tessera_core.apis import OutputAdapter, register_output_adapter
from tessera_core.apis.classification_adapter import upscaled
from tessera_core.apis.output_adapters import to_rgb


class ReIDOutputAdapter(OutputAdapter):
    """Result: ``embedding`` (C,) float32, the model's retrieval feature (L2-normalised
    when the head says so); compare two images by the distance of their embeddings."""

    def to_result(self, data_sample, dataset_meta: dict) -> dict:
        return dict(embedding=data_sample.pred_feature.detach().float().cpu().numpy().reshape(-1))

    def draw(self, visualizer, image: np.ndarray, result: dict, dataset_meta: dict) -> np.ndarray:
        """The enlarged image captioned with the embedding's size and norm."""
        canvas = upscaled(to_rgb(image))
        visualizer.set_image(canvas)
        embedding = result['embedding']
        visualizer.draw_texts(f'embedding ({embedding.size},), |e| = {np.linalg.norm(embedding):.2f}',
                              np.array([4, 4]), colors='white', font_sizes=10, vertical_alignments='top',
                              bboxes=dict(facecolor='black', alpha=0.6, pad=2))
        return visualizer.get_image()


register_output_adapter('tessera_reid', ReIDOutputAdapter())
