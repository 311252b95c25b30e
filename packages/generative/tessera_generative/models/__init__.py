from .data_preprocessors import *  # noqa: F401,F403
from .feature_nets import *  # noqa: F401,F403
from .gans import *  # noqa: F401,F403
from .lcc import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .vaes import *  # noqa: F401,F403
from .mim import *  # noqa: F401,F403
