import pytest

from loretrack_plugin.report.families import LABELS, ORDER, ROLES, assign_families, parse_overrides


def test_paper_lineup():
    res = {"loretrack-96": 96, "loretrack-128": 128, "loretrack-256": 256, "ostrack-256": 256,
           "ostrack-384": 384, "ostrack-384-noce": 384, "mystery": None}
    ce = {"ostrack-256": True, "ostrack-384": True}
    fam = assign_families(res, ce)
    assert fam == {"loretrack-96": "student", "loretrack-128": "student", "loretrack-256": "student",
                   "ostrack-256": "baseline",       # same resolution as a student
                   "ostrack-384-noce": "teacher",   # largest resolution, no CE beats CE on a tie
                   "ostrack-384": "other", "mystery": "other"}


def test_teacher_by_name_and_baseline_prefix():
    fam = assign_families({"teacher": 128, "baseline-64": 64, "loretrack-64": 64, "big-one": 512, "baseline-32": 32})
    # a tracker named teacher wins over a larger non-student; "baseline*" is a baseline at any resolution
    assert fam == {"teacher": "teacher", "baseline-64": "baseline", "loretrack-64": "student",
                   "big-one": "other", "baseline-32": "baseline"}


def test_ostrack_at_other_resolution_is_not_a_baseline():
    fam = assign_families({"loretrack-128": 128, "ostrack-256": 256, "ostrack-384": 384})
    assert fam == {"loretrack-128": "student", "ostrack-256": "other", "ostrack-384": "teacher"}


def test_overrides():
    res = {"loretrack-128": 128, "ostrack-128": 128, "ostrack-384": 384, "my-teacher": 256}
    fam = assign_families(res, overrides=parse_overrides(["my-teacher=teacher", "ostrack-128=other"]))
    assert fam == {"loretrack-128": "student", "ostrack-128": "other", "ostrack-384": "other",
                   "my-teacher": "teacher"}
    # without an override the name decides: "my-teacher" is the teacher despite a larger tracker
    assert assign_families(res)["my-teacher"] == "teacher"
    res.pop("my-teacher")
    fam = assign_families(res, overrides={"loretrack-128": "baseline"})
    assert fam == {"loretrack-128": "baseline", "ostrack-128": "other", "ostrack-384": "teacher"}


def test_override_errors():
    with pytest.raises(ValueError, match="role must be one of"):
        parse_overrides(["a=boss"])
    with pytest.raises(ValueError, match="expected NAME=ROLE"):
        parse_overrides(["a"])
    with pytest.raises(ValueError, match="unknown tracker"):
        assign_families({"a": 64}, overrides={"b": "teacher"})


def test_opencv_trackers_are_the_cpu_peers():
    res = {"loretrack-96": 96, "baseline-96": 96, "teacher-192": 192, "opencv-nano": None, "opencv-csrt": None,
           "opencv-mil@s1": None}
    fam = assign_families(res)
    assert fam == {"loretrack-96": "student", "baseline-96": "baseline", "teacher-192": "teacher",
                   "opencv-nano": "peer", "opencv-csrt": "peer", "opencv-mil@s1": "peer"}
    # a peer is never the automatic teacher, whatever the others' resolutions
    assert assign_families({"opencv-nano": 255, "loretrack-96": 96})["opencv-nano"] == "peer"
    assert assign_families(res, overrides=parse_overrides(["opencv-nano=other"]))["opencv-nano"] == "other"
    assert "peer" in ROLES and LABELS["peer"] == "CPU peer (OpenCV)" and ORDER.index("peer") < ORDER.index("floor")
