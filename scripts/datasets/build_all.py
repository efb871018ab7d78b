"""Rebuild every bundled dataset: run each build script in this folder.

Every ``scripts/datasets/<name>.py`` (except this file and ``_*.py`` helpers, and so
including ``gadre2024.py`` when present) is run as
``python <script> --shared SHARED --out OUT``; each writes ``OUT/<name>/``. Usage::

    python scripts/datasets/build_all.py --shared <raw-data-dir> [--out forecast/_data]

Stops at the first script that fails and exits with its return code. Afterwards prints
the size of every dataset folder and the total (the installed package must stay < 10 MB).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _build import parse_args

HERE = Path(__file__).resolve().parent


def main() -> int:
    shared, out = parse_args(__doc__)
    scripts = sorted(
        p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "build_all.py"
    )
    for script in scripts:
        print(f"== {script.name}", flush=True)
        cmd = [sys.executable, str(script), "--shared", str(shared), "--out", str(out)]
        rc = subprocess.run(cmd, check=False).returncode
        if rc != 0:
            print(f"{script.name} failed with exit code {rc}", file=sys.stderr)
            return rc
    total = 0
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        total += size
        print(f"{folder.name:20s} {size / 1024:9.1f} KiB")
    print(f"{'total':20s} {total / 1024:9.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
