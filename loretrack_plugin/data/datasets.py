"""Old name of :mod:`loretrack_plugin.data.readers` (kept while importers move)."""
from .readers import *  # noqa: F401,F403
