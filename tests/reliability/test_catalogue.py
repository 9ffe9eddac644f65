"""The catalogue is complete: every case has one test here and a row in the table of docs/reliability.md."""
import glob
import os
import re

from .catalogue import CASES, IDS

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "docs", "reliability.md")


def _claimed():
    """case id -> the test files whose ``@case(...)`` names it (read from the sources, so that running a
    single file of this folder does not hide the others)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        with open(path) as f:
            for m in re.finditer(r"^@case\(([^)]*)\)", f.read(), re.M):
                for cid in re.findall(r"[\"']([^\"']+)[\"']", m.group(1)):
                    out.setdefault(cid, []).append(os.path.basename(path))
    return out


def test_every_case_is_tested_once():
    assert len(set(IDS)) == len(IDS), "a case id is listed twice"
    claimed = _claimed()
    assert sorted(set(IDS) - set(claimed)) == [], "cases without a test"
    assert sorted(set(claimed) - set(IDS)) == [], "tests of cases that are not in the catalogue"
    assert {k: v for k, v in claimed.items() if len(v) > 1} == {}, "a case tested twice"


def test_the_table_lists_every_case():
    with open(TABLE) as f:
        text = f.read()
    start = text.index("## The cases")
    end = text.find("\n## ", start + 3)
    section = text[start:end if end > 0 else None]
    rows = [ln for ln in section.splitlines() if ln.startswith("| ")]
    for c in CASES:
        assert any(ln.startswith(f"| {c.what} |") for ln in rows), f"docs/reliability.md lacks a row for {c.id}: {c.what}"
    assert len(rows) == len(CASES) + 1, "the table has rows that are not in the catalogue"
