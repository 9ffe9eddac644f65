"""A multistart (anchor-based, VOT2020–2022 EAO) experiment that runs on vot-toolkit 0.8.x / 0.9.0.

The toolkit's own ``multistart`` experiment crashes in 0.8.x and 0.9.0: it builds an ``ObjectQuery`` from an
``ObjectStatus`` (``TypeError: ObjectQuery.state must be a Region``), offsets the query by the anchor index
instead of 0 within the re-mapped sequence, and reads the per-frame times and objects of ``RunResult`` with
the wrong nesting. This class keeps the toolkit's protocol and result layout and fixes the execution:

* anchors come from the sequence value ``anchor`` (``anchor.value``): ``> 0`` runs forward from the anchor
  to the last frame, ``< 0`` runs backward from the anchor to frame 0;
* each anchor is one run on the re-mapped sequence: ``initialize`` on its first frame with the ground
  truth, then ``update`` on every following frame. The runs reuse one tracker process (a TraX tracker
  receives several ``initialize`` requests) unless the runtime restarts it by itself;
* the result of anchor ``i`` is ``results/<tracker>/<experiment>/<seq>/<seq>_<i:08d>`` with frame 0 marked
  ``Special(INITIALIZATION)``, followed by the tracker's regions, plus per-frame ``time`` and every property
  the tracker reports (``confidence``) as ``.value`` files — exactly what the toolkit's analyses
  (``multistart_eao_score``, ``multistart_eao_curve``, ``multistart_average_ar``) read.

It subclasses the toolkit class, so those analyses accept it. Use it in a stack as::

    baseline:
      type: loretrack_plugin.vot.multistart.MultiStart

This module imports nothing but the toolkit, so ``loretrack vot-setup`` can copy it into a workspace for a
toolkit that lives in an environment without torch (the stack then names ``loretrack_multistart.MultiStart``).
"""
from typing import Callable, List, Tuple

from vot.dataset.proxy import FrameMapSequence
from vot.experiment.multistart import MultiStartExperiment, find_anchors
from vot.region import Special
from vot.tracker import ObjectStatus, OnlineTrackerRuntime, Trajectory

__all__ = ["MultiStart", "anchor_runs"]


def anchor_runs(sequence, anchor: str = "anchor") -> List[Tuple[int, bool]]:
    """``[(anchor_frame, reverse), ...]``: forward anchors first, then backward ones (the toolkit's order)."""
    forward, backward = find_anchors(sequence, anchor)
    return [(a, False) for a in forward] + [(a, True) for a in backward]


class _EmptyNewObjects(OnlineTrackerRuntime):
    """Passes ``new=[]`` instead of ``None`` to the wrapped runtime's ``update``.

    The toolkit's real-time wrapper calls ``update(frame, None)``, which ``TraxTrackerRuntime`` of 0.9.0
    rejects for single-object trackers ("multiple objects were provided").
    """

    def __init__(self, runtime: OnlineTrackerRuntime):
        super().__init__(runtime.tracker)
        self._runtime = runtime

    @property
    def multiobject(self):
        return self._runtime.multiobject

    def initialize(self, frame, new=None):
        return self._runtime.initialize(frame, new)

    def update(self, frame, new=None):
        return self._runtime.update(frame, [] if new is None else new)

    def restart(self):
        self._runtime.restart()

    def stop(self):
        self._runtime.stop()


def _first_object(status):
    """The single object of a runtime reply (a list of ``ObjectStatus`` or one ``ObjectStatus``)."""
    if isinstance(status, ObjectStatus):
        return status
    if isinstance(status, (list, tuple)) and len(status) >= 1 and isinstance(status[0], ObjectStatus):
        return status[0]
    raise TypeError("unexpected tracker runtime reply: {!r}".format(status))


class MultiStart(MultiStartExperiment):
    """Multistart experiment (forward/backward runs from every anchor) that works on vot-toolkit 0.9.0."""

    def _get_runtime(self, tracker, sequence, multiobject=False):
        if self.realtime is None:
            return super()._get_runtime(tracker, sequence, multiobject)
        from vot.tracker import RealtimeTrackerRuntime
        from vot.utilities import to_number
        grace = to_number(self.realtime.grace, min_n=0)
        fps = to_number(self.realtime.fps, min_n=0, conversion=float)
        interval = 1 / float(sequence.metadata("fps", fps))
        return RealtimeTrackerRuntime(_EmptyNewObjects(tracker.runtime()), grace, interval)

    def execute(self, tracker, sequence, force: bool = False, callback: Callable = None) -> None:
        results = self.results(tracker, sequence)
        runs = anchor_runs(sequence, self.anchor)
        if not runs:
            raise RuntimeError("Sequence {} does not contain any anchors".format(sequence.name))

        with self._get_runtime(tracker, sequence) as runtime:
            for done, (anchor, reverse) in enumerate(runs, 1):
                name = "{}_{:08d}".format(sequence.name, anchor)
                if force or not Trajectory.exists(results, name):
                    frames = list(range(anchor, -1, -1)) if reverse else list(range(anchor, len(sequence)))
                    self._run_fragment(runtime, FrameMapSequence(sequence, frames)).write(results, name)
                if callback:
                    callback(done / len(runs))

    def _run_fragment(self, runtime, proxy) -> Trajectory:
        """Initialise on ``proxy`` frame 0 with its ground truth, track to its end; frame 0 is INITIALIZATION."""
        trajectory = Trajectory(len(proxy))
        init = self._get_initialization(proxy, 0)
        _, elapsed = runtime.initialize(proxy.frame(0), [ObjectStatus(init.region, dict(init.properties))])
        trajectory.set(0, Special(Trajectory.INITIALIZATION), {"time": elapsed})
        for j in range(1, len(proxy)):
            status, elapsed = runtime.update(proxy.frame(j), [])
            state = _first_object(status)
            properties = dict(state.properties)
            properties["time"] = elapsed
            trajectory.set(j, state.region, properties)
        return trajectory
