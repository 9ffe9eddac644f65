"""Old home of the OTB-folder helpers, now in :mod:`loretrack_plugin.formats` (kept while importers move)."""
from ..formats import list_otb_sequences, load_otb_sequence, read_boxes, read_rgb  # noqa: F401
