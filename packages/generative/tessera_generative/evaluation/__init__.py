from .vae_metric import VAEMetric

__all__ = ['VAEMetric']
