"""VOT toolkit support: the multistart (EAO) experiment that works on vot-toolkit 0.9, stack files and
workspaces (``trackers.ini``, ``config.yaml``, local synthetic sequences).

* :mod:`.multistart` — ``MultiStart``, imports only the toolkit (loaded by ``vot`` itself);
* :mod:`.stack` — the local stack and patched toolkit stacks;
* :mod:`.workspace` — ``trackers.ini`` entries, ``config.yaml``, anchors, the synthetic dataset, and
  :func:`~.workspace.setup_workspace`, the whole set-up that ``loretrack vot-setup`` runs.

The TraX server that runs a tracker for the toolkit is :mod:`loretrack_plugin.trackers.vot_trax`; the
command that ties it together is ``loretrack vot-setup``. Importing this package imports neither the toolkit
nor torch.
"""
