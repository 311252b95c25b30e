"""Draw docs/camstyle_<domain>.png: a few CamStyle-ReID identities (rows) across the six cameras (columns),
the first shot of each camera, with the foreground mask of the first identity in the last row.

    python packages/reid/docs/make_camstyle_figure.py            # default benchmark size, cached
"""
import argparse
import os.path as osp

import numpy as np
from PIL import Image

from tessera_reid.datasets.camstyle_reid import CamStyleReID


def figure(domain: str, num_ids: int, zoom: int, **kwargs) -> Image.Image:
    ds = CamStyleReID(domain=domain, split='train', max_ids=num_ids, **kwargs)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    shots = {(i['pid'], i['camid']): i for i in infos if i['shot'] == 0}
    pids = sorted({i['pid'] for i in infos})[:num_ids]
    h, w = ds.images.shape[1:3]
    cams = ds.metainfo['num_cameras']
    pad = 2
    canvas = np.full(((len(pids) + 1) * (h + pad) + pad, cams * (w + pad) + pad, 3), 255, np.uint8)
    for r, pid in enumerate(pids):
        for c in range(cams):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            canvas[y:y + h, x:x + w] = shots[(pid, c)]['img']
    for c in range(cams):   # masks of the first identity
        y, x = pad + len(pids) * (h + pad), pad + c * (w + pad)
        canvas[y:y + h, x:x + w] = shots[(pids[0], c)]['gt_mask'][..., None] * 255
    img = Image.fromarray(canvas)
    return img.resize((img.width * zoom, img.height * zoom), Image.NEAREST)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--ids', type=int, default=5)
    parser.add_argument('--zoom', type=int, default=3)
    args = parser.parse_args()
    for domain in ('fashion', 'digits'):
        out = osp.join(osp.dirname(osp.abspath(__file__)), f'camstyle_{domain}.png')
        figure(domain, args.ids, args.zoom).save(out, optimize=True)
        print(out)
