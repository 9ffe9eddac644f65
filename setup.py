"""Installable distribution of the LoReTrack plugin (package ``loretrack_plugin``)."""
import os
from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    ns = {}
    with open(os.path.join(HERE, "loretrack_plugin", "version.py")) as f:
        exec(f.read(), ns)
    return ns["__version__"]


# Supported versions: each lower bound is the oldest release with what the code uses (reason beside
# it where one was found); an upper bound or pin only with a measured failure or need named beside it.
# CI (.ci/run) upgrades to the newest releases within these ranges on every run and prints the
# versions at the top of its log; a floor is marked "tested" with the date it was run.
INSTALL_REQUIRES = [
    # torch.amp.GradScaler("cuda") (the trainer's fp16 path) needs 2.3; torch.onnx.export(dynamo=False)
    # (ONNX export, the ONNX Runtime backend) needs 2.5
    "torch>=2.5",
    "timm>=1.0",
    # tested 2026-12-07 on the crop and pair-processing tests (tests/tracking/test_crop.py,
    # tests/data/test_processing.py): numpy 1.24.4 with opencv-python 4.8.0.74, numpy 1.26.4 with
    # 4.8.1.78, numpy 2.4.6 with 4.14.0.94 and with 5.1.0.95
    "numpy>=1.24",
    "opencv-python>=4.8",
    "scipy>=1.10",
    "Pillow>=9",
    "got10k==0.1.3",
    "six",  # imported by got10k.datasets but not declared by it
    "vot-trax>=4.0.2",
    "tqdm>=4.60",
    "tensorboard>=2.12",
    "pyyaml>=6",
    "matplotlib>=3.7",
    "onnx>=1.15",
    "onnxruntime>=1.17",
    "openvino>=2024.0",
    # NNCF post-training quantisation for the int8-ov backend (loretrack_plugin/tracking/backends.py)
    "nncf>=2.14",
]

EXTRAS = {
    # The VOT toolkit (the evaluation side of `vot evaluate`); attributee 0.1.10 breaks on Python >= 3.11.
    "vot": ["vot-toolkit==0.9.0", "attributee==0.1.9"],
    "test": ["pytest>=7", "pytest-timeout>=2"],
}
EXTRAS["all"] = sorted({r for v in EXTRAS.values() for r in v})

setup(
    name="loretrack-plugin",
    version=_version(),
    description="LoReTrack: low-resolution ViT tracking distilled from a high-resolution teacher, "
                "as a plugin for got10k and the VOT toolkit",
    long_description=open(os.path.join(HERE, "README.md")).read() if os.path.exists(os.path.join(HERE, "README.md")) else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    # trackers/ (named tracker files, got10k and VOT adapters) is installed as loretrack_plugin.trackers:
    # a top-level "trackers" package would collide with an unrelated PyPI package of that name.
    packages=find_packages(include=["loretrack_plugin", "loretrack_plugin.*"]) + ["loretrack_plugin.trackers"],
    package_dir={"loretrack_plugin.trackers": "trackers"},
    include_package_data=True,
    package_data={"loretrack_plugin": ["data/splits/*.txt", "recipes/*/*.yaml", "sample_data/real/*/*.txt",
                                       "sample_data/real/*/*.json", "sample_data/real/*/img/*.jpg",
                                       # the pretrained stems' weights with their licences and provenance
                                       "models/pretrained/*.pth", "models/pretrained/*.md",
                                       "models/pretrained/LICENSE.*"],
                  # the demo checkpoints that ship with the package (see trackers/weights/README.md), and
                  # NanoTrack's ONNX pair for opencv-nano with its licence and provenance (weights/opencv/)
                  "loretrack_plugin.trackers": ["*.yaml", "weights/*.pth.tar", "weights/*.json", "weights/*.md",
                                                "weights/opencv/*.onnx", "weights/opencv/*.json",
                                                "weights/opencv/*.md", "weights/opencv/LICENSE.*"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["loretrack=loretrack_plugin.cli:main"]},
)
