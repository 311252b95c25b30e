"""The import-time check that mmcv's compiled ops are there: mmcv-lite has none.

Every other Tessera package runs on mmcv-lite (``pip install "tessera-core[lite]"``); detection needs the
compiled ops that mmdet and its detectors call (non-maximum suppression, RoIAlign, corner pooling, rotated
IoU). Without them importing tessera-detection fails with one message naming the installed mmcv, the
missing ops and the command that builds the full mmcv (``tessera-build-mmcv``, shipped in tessera-core).
"""
from tessera_core._mmcv_check import FULL_INSTALL, describe_installed

# The mmcv.ops this package's detectors need (mmdet's RetinaNet/FCOS postprocessing, two-stage RoI heads,
# CornerNet-style pooling, rotated-box IoU).
REQUIRED_OPS = ('nms', 'batched_nms', 'RoIAlign', 'CornerPool', 'box_iou_rotated')


def missing_ops():
    """``(missing op names, why)``: the :data:`REQUIRED_OPS` that ``mmcv.ops`` cannot provide here."""
    try:
        import mmcv.ops as ops
    except ImportError as e:  # mmcv-lite: `No module named 'mmcv._ext'`
        return list(REQUIRED_OPS), str(e)
    missing = [op for op in REQUIRED_OPS if not hasattr(ops, op)]
    return missing, 'not in mmcv.ops' if missing else ''


def ops_message(installed: str, missing, why: str) -> str:
    return (f'tessera-detection needs the compiled ops of the full mmcv: {", ".join(missing)} are missing '
            f'from the installed {installed} ({why}). Build and install mmcv 2.1.0 with its CPU ops '
            f'(once, ~13 min on 2 cores, then cached; replaces mmcv-lite): {FULL_INSTALL}')


def check_mmcv_ops() -> None:
    """Raise one :class:`ImportError` naming the missing ops and the build command unless all are there."""
    missing, why = missing_ops()
    if missing:
        raise ImportError(ops_message(describe_installed(), missing, why))
