from ..formats.sequence_names import *  # noqa: F401,F403
