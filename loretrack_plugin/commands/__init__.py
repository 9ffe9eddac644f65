"""Subcommands of the ``loretrack`` CLI (see :mod:`loretrack_plugin.cli`)."""
