# tessera-core's runtime (checkpoint every epoch, the last two kept, local visualisation backend), in
# this package's scope, logging every 10 iterations.
_base_ = ['tessera_core::_base_/default_runtime.py']
default_scope = 'tessera_nas'
default_hooks = dict(logger=dict(interval=10))
log_processor = dict(window_size=10)
