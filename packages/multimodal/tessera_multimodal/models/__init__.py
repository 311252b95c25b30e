from .captioners import *  # noqa: F401,F403
from .clip import *  # noqa: F401,F403
from .labert import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .pretraining import *  # noqa: F401,F403
from .text_encoders import *  # noqa: F401,F403
from .tokenizers import *  # noqa: F401,F403
