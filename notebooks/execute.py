"""Execute the notebooks (``make figures``): full size by default, PNGs into ``--figures``.

Usage: python notebooks/execute.py [--figures figures] [--scale full|small] [NOTEBOOK ...]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--figures", default="figures")
    p.add_argument("--scale", choices=("full", "small"), default="full")
    p.add_argument("--timeout", type=int, default=3600)
    p.add_argument("notebooks", nargs="*")
    a = p.parse_args(argv)
    figdir = Path(a.figures).resolve()
    figdir.mkdir(parents=True, exist_ok=True)
    os.environ["SHAMINFER_FIGURES_DIR"] = str(figdir)
    os.environ["SHAMINFER_NOTEBOOK_SCALE"] = a.scale
    os.environ.setdefault("JAX_ENABLE_X64", "1")
    paths = [Path(x) for x in a.notebooks] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        t0 = time.time()
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=a.timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE.parent)}}).execute()
        print(f"ran {path.name} in {time.time() - t0:.0f} s", flush=True)
    print(f"figures in {figdir}: " + ", ".join(sorted(p.name for p in figdir.glob("*.png"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
