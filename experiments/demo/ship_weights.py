"""Copy the checkpoints of a finished `loretrack demo` run into trackers/weights/ (weights only, the
official layout with the network config) and write the named trackers demo-teacher-128,
demo-baseline-64 and demo-loretrack-64 plus a provenance record.

    python experiments/demo/ship_weights.py runs/demo "loretrack demo --out runs/demo ..."
"""
import hashlib
import json
import os
import sys

import yaml

from loretrack_plugin import build_net_from_checkpoint, save_checkpoint
from loretrack_plugin.utils.io import write_json, write_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACKERS = os.path.join(REPO, "trackers")
NAMES = {"teacher": "demo-teacher-128", "baseline": "demo-baseline-64", "student": "demo-loretrack-64"}
DESCRIPTIONS = {
    "teacher": "demo teacher: ViT 192/4 at 128/64 px, plain training (loretrack demo)",
    "baseline": "demo baseline: ViT 192/4 at 64/32 px, no distillation (loretrack demo)",
    "student": "demo LoReTrack: ViT 192/4 at 64/32 px, QKV-KD + Disc-KD from demo-teacher-128 (loretrack demo)",
}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main(run_dir, command):
    with open(os.path.join(run_dir, "demo_summary.json")) as f:
        summary = json.load(f)
    record = {"command": command, "seed": summary["seed"], "minutes_budget": summary["minutes_budget"],
              "minutes_measured": round(summary["seconds_total"] / 60, 1), "real_train": summary.get("real_train"),
              "real_heldout": summary.get("real_heldout"), "files": {}, "results": {}}
    for stage, name in NAMES.items():
        st = summary["stages"][stage]
        net = build_net_from_checkpoint(st["checkpoint"])
        rel = os.path.join("weights", f"{name}.pth.tar")
        path = save_checkpoint(net, os.path.join(TRACKERS, rel), epoch=st["epochs"])
        with open(os.path.join(run_dir, "trackers", os.path.basename(
                {"teacher": "teacher-128", "baseline": "baseline-64", "student": "loretrack-64"}[stage]) + ".yaml")) as f:
            src = yaml.safe_load(f)
        doc = {"name": name, "description": DESCRIPTIONS[stage], "search_factor": src["search_factor"],
               "template_factor": src["template_factor"], "checkpoint": "./" + rel, "backend": "auto"}
        write_text(os.path.join(TRACKERS, f"{name}.yaml"),
                   "# shipped demo model; provenance in weights/demo_weights.json\n" + yaml.safe_dump(doc, sort_keys=False))
        record["files"][name] = {"file": rel, "sha256": sha256(path), "bytes": os.path.getsize(path),
                                 "epochs": st["epochs"], "samples_per_epoch": st["samples_per_epoch"],
                                 "train_seconds": round(st["seconds"]), "config": os.path.relpath(st["config"], REPO)}
    demo_names = {"teacher-128": NAMES["teacher"], "baseline-64": NAMES["baseline"], "loretrack-64": NAMES["student"]}
    for bench, r in summary["results"].items():
        record["results"][bench] = {demo_names.get(k, k): v for k, v in r["metrics"].items()}
    write_json(os.path.join(TRACKERS, "weights", "demo_weights.json"), record)
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
