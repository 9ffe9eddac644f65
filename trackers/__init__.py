"""Named trackers (one small file each) and the toolkit adapters (got10k, VOT/TraX).

Installed as ``loretrack_plugin.trackers``.
"""
