from .profiling import *  # noqa: F401,F403 (old name, kept while importers move)
