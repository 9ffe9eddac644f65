"""Published numbers (docs/method.md §6), shown beside measured ones for orientation only.

Success AUC in %, from the LoReTrack README and the OSTrack README (CE models). GOT-10k AO and
TrackingNet numbers are test-server results and are left out: a local val/test evaluation cannot
reproduce them. GMACs are the thop-style counts of docs/method.md §6.6.
"""
from __future__ import annotations

from typing import Dict, List, Optional

SOURCE = "LoReTrack README (RTX A5500 / i9-11900K) and OSTrack README; method.md §6"

# benchmark key -> [(tracker, resolution, AUC %, speed note)]
PUBLISHED_AUC: Dict[str, List[tuple]] = {
    "lasot": [("OSTrack-384", 384, 71.1, ""), ("OSTrack-256", 256, 69.1, ""),
              ("LoReTrack-256", 256, 70.3, "130 fps GPU"), ("LoReTrack-192", 192, 68.6, "186 fps GPU"),
              ("LoReTrack-128", 128, 64.9, "25 fps CPU"), ("LoReTrack-96", 96, 61.0, "31 fps CPU")],
    "lasot_ext": [("LoReTrack-256", 256, 51.3, ""), ("LoReTrack-192", 192, 50.0, ""),
                  ("LoReTrack-128", 128, 46.4, ""), ("LoReTrack-96", 96, 45.1, "")],
    "uav123": [("OSTrack-384", 384, 70.7, ""), ("OSTrack-256", 256, 68.3, ""),
               ("LoReTrack-256", 256, 70.6, ""), ("LoReTrack-192", 192, 69.9, ""),
               ("LoReTrack-128", 128, 69.0, ""), ("LoReTrack-96", 96, 67.1, "")],
}

#: thop-style GMACs of the ViT-B/16 network per search size (docs/method.md §6.6)
PUBLISHED_GMACS = {384: 65.3, 256: 29.0, 192: 16.3, 128: 7.3, 96: 4.1}


def published_for(benchmark: str) -> Optional[List[dict]]:
    rows = PUBLISHED_AUC.get(benchmark.lower().replace("-", "_"))
    if not rows:
        return None
    return [{"tracker": t, "resolution": r, "auc_percent": a, "gmacs_thop": PUBLISHED_GMACS.get(r), "speed": s}
            for t, r, a, s in rows]
