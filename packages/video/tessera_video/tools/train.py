"""Train a tessera-video model: ``mim train tessera-video CONFIG``."""
from tessera_core.apis import train_main

if __name__ == '__main__':
    train_main(scope='tessera_video', imports=['tessera_video.models', 'tessera_video.datasets', 'tessera_video.evaluation', 'tessera_video.engine'])
