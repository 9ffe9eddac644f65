"""Small got10k trackers for the runner and metric tests (importable as ``tests.evaluation.trackers:NAME``)."""
import numpy as np
from got10k.trackers import Tracker


class StaticTracker(Tracker):
    """Reports the initial box on every frame."""

    def __init__(self, name="static"):
        super().__init__(name=name, is_deterministic=True)

    def init(self, image, box):
        self.box = np.asarray(box, float)

    def update(self, image):
        return self.box


class DriftTracker(StaticTracker):
    """The initial box moving 2 px right per frame (deterministic, scores between 0 and 1)."""

    def __init__(self):
        super().__init__(name="drift")

    def update(self, image):
        self.box = self.box + [2.0, 0.0, 0.0, 0.0]
        return self.box


class FailingTracker(StaticTracker):
    """Raises on the third frame of every sequence whose first box starts left of x = 1e9 (all)."""

    def __init__(self):
        super().__init__(name="failing")
        self.frame = 0

    def init(self, image, box):
        super().init(image, box)
        self.frame = 0

    def update(self, image):
        self.frame += 1
        if self.frame == 2:
            raise RuntimeError("tracker exploded")
        return self.box


class FrameMeanTracker(StaticTracker):
    """The initial box with x set to the frame's mean grey level: its results say which frame it saw
    at each step, so any change in frame order changes them."""

    def __init__(self):
        super().__init__(name="frame-mean")

    def update(self, image):
        return np.array([np.asarray(image, np.float64).mean(), *self.box[1:]])


def static():
    return StaticTracker()


def drift():
    return DriftTracker()


def failing():
    return FailingTracker()


def frame_mean():
    return FrameMeanTracker()
