"""DistributedDataParallel wrapper that also runs on CPU (gloo)."""
from mmengine.model import MMDistributedDataParallel

from tessera_core.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class DeviceAgnosticDDP(MMDistributedDataParallel):
    """mmengine's runner always passes ``device_ids=[LOCAL_RANK]``, which torch
    rejects for a module on CPU. This wrapper drops ``device_ids`` when the
    module's parameters live on the CPU and keeps them on accelerators."""

    def __init__(self, module, device_ids=None, **kwargs):
        params = list(module.parameters())
        if params and params[0].device.type == 'cpu':
            device_ids = None
            kwargs.pop('output_device', None)
        super().__init__(module=module, device_ids=device_ids, **kwargs)
