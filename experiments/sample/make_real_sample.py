"""Build the small real sample that ships inside the package (loretrack_plugin/sample_data/real).

Four short real sequences (the ones of the team's evaluation folder that no shipped model trains
on), down-scaled so that the longer side is at most ``--max-side`` px and re-encoded as JPEG, with
the boxes scaled alike. Each sequence keeps every frame, so its motion is the original one.

    python experiments/sample/make_real_sample.py --src "$LORETRACK_REAL_OTB"

Writes <seq>/img/0001.jpg..., <seq>/groundtruth_rect.txt and <seq>/meta.json (the source's
provenance plus the scale and JPEG quality used here).
"""
import argparse
import json
import os
import shutil
import sys

import cv2
import numpy as np

SEQUENCES = ("Biker", "Crossing", "MountainBike6", "vot15_bag")
DEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "loretrack_plugin", "sample_data", "real")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="folder holding the OTB-layout source sequences")
    ap.add_argument("--dest", default=os.path.normpath(DEST))
    ap.add_argument("--max-side", type=int, default=480)
    ap.add_argument("--quality", type=int, default=60)
    args = ap.parse_args(argv)
    for seq in SEQUENCES:
        src = os.path.join(args.src, seq)
        if not os.path.isdir(os.path.join(src, "img")):
            sys.exit(f"{src}: not an OTB-layout sequence")
        boxes = np.loadtxt(os.path.join(src, "groundtruth_rect.txt"), delimiter=",", ndmin=2)
        frames = sorted(os.listdir(os.path.join(src, "img")))
        dst = os.path.join(args.dest, seq)
        tmp = dst + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "img"))
        scale = 1.0
        for i, f in enumerate(frames):
            img = cv2.imread(os.path.join(src, "img", f), cv2.IMREAD_COLOR)
            if i == 0:
                scale = min(1.0, args.max_side / max(img.shape[:2]))
            if scale < 1.0:
                img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                                 interpolation=cv2.INTER_AREA)
            cv2.imwrite(os.path.join(tmp, "img", f"{i + 1:04d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
        np.savetxt(os.path.join(tmp, "groundtruth_rect.txt"), boxes * scale, fmt="%.3f", delimiter=",")
        meta = {}
        if os.path.isfile(os.path.join(src, "meta.json")):
            with open(os.path.join(src, "meta.json")) as fh:
                meta = json.load(fh)
        meta.update({"sample_scale": scale, "sample_jpeg_quality": args.quality, "n_frames": len(frames),
                     "sample_note": "down-scaled copy for the package's embedded real sample; research use only"})
        meta.pop("bytes", None)
        with open(os.path.join(tmp, "meta.json"), "w") as fh:
            json.dump(meta, fh, indent=1)
        shutil.rmtree(dst, ignore_errors=True)
        os.replace(tmp, dst)
        print(seq, len(frames), "frames, scale", round(scale, 3))


if __name__ == "__main__":
    main()
