from .backend_comparison import *  # noqa: F401,F403 (old name, kept while importers move)
