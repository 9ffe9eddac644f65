from .profile_net import *  # noqa: F401,F403 (old name, kept while importers move)
from .profile_net import HELP, add_arguments, run  # noqa: F401
