"""Camera imaging styles of the embedded re-ID benchmark (:mod:`camstyle_reid`), as data.

Each camera of a style family images every identity the same fixed way: a background cut from one real
scikit-image sample photo (``skimage.data``) and fixed illumination, contrast, blur, colour cast and item
scale. Two families with different photos and different style ranges make two domains, so that direct
transfer from one to the other (train on one family's cameras, test on the other's) can be measured.

Legend of a row: photo = ``skimage.data`` function; crop = (top, left, side) of the square region of the photo
cut as background, in photo pixels; gain = illumination multiplier; contrast = factor about mid-grey 128;
blur = Gaussian sigma in output pixels; cast = (R, G, B) multipliers; scale = item size relative to 28 px
items on a 32 px canvas.
"""
from typing import Dict, NamedTuple, Tuple


class CameraStyle(NamedTuple):
    photo: str
    crop: Tuple[int, int, int]
    gain: float
    contrast: float
    blur: float
    cast: Tuple[float, float, float]
    scale: float


# 'street': outdoor textures and scenes; cool casts, soft to strong blur, low-contrast dusk cameras.
STREET = (
    CameraStyle('brick',  (0, 0, 256),     1.00, 1.00, 0.0, (1.00, 1.00, 1.00), 1.00),
    CameraStyle('grass',  (100, 100, 200), 0.75, 0.80, 0.6, (0.85, 1.00, 1.15), 0.85),
    CameraStyle('gravel', (200, 50, 256),  1.25, 1.10, 0.0, (1.15, 1.05, 0.85), 0.95),
    CameraStyle('camera', (40, 250, 200),  0.70, 0.80, 0.9, (0.90, 0.95, 1.25), 0.80),
    CameraStyle('coins',  (0, 0, 300),     1.10, 1.30, 0.3, (1.20, 0.90, 0.90), 1.05),
    CameraStyle('rocket', (0, 200, 400),   0.90, 0.90, 0.8, (1.00, 1.15, 0.95), 0.90),
)

# 'mall': indoor photos; warm and magenta casts, sharper optics, brighter high-contrast cameras.
MALL = (
    CameraStyle('coffee',    (50, 150, 300),  1.10, 1.20, 0.0, (1.20, 1.00, 0.80), 1.00),
    CameraStyle('chelsea',   (0, 100, 300),   0.85, 1.00, 0.4, (1.10, 0.90, 1.10), 0.90),
    CameraStyle('astronaut', (0, 0, 512),     1.30, 1.25, 0.0, (1.00, 1.00, 0.90), 1.05),
    CameraStyle('page',      (0, 100, 190),   0.70, 0.80, 0.7, (1.25, 1.05, 0.80), 0.85),
    CameraStyle('text',      (0, 0, 172),     1.00, 1.40, 0.2, (0.90, 1.10, 1.05), 0.95),
    CameraStyle('moon',      (100, 100, 300), 0.80, 0.90, 0.5, (1.15, 0.85, 1.00), 0.80),
)

STYLE_FAMILIES: Dict[str, Tuple[CameraStyle, ...]] = dict(street=STREET, mall=MALL)

# Occluders are patches of this photo (pasted over part of a shot; the occluded foreground leaves the mask).
OCCLUDER_PHOTO = 'immunohistochemistry'
