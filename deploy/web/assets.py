"""`python -m deploy.web.assets`: the web front end's third-party browser files, from npm.

htmx, Alpine.js, WeUI (the phone pages' CSS base), jsQR (the check-in desk's QR decoder
where the browser has none) and axe-core (the browser tests' accessibility check) are fetched from the npm registry at an exact version with `npm pack`
— never from a CDN, never committed — and their distribution files copied into
`services/web/static/vendor/` (gitignored), where the web service serves them under
`/static/vendor/`. A stamp file names the versions copied: a second run with the same
versions does nothing, so `make run`, `make test` and the Dockerfile may all call it.
Tarballs are kept in `.cache/web-assets/` (or `$GONGHUI_LOCAL_CACHE/web-assets/`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "services" / "web" / "static" / "vendor"
STAMP = VENDOR / ".stamp.json"

# package -> (exact version, {file in the package: name under vendor/})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "htmx.org": ("2.0.9", {"dist/htmx.min.js": "htmx.min.js"}),
    # Alpine's CSP build: it evaluates no strings, so the pages' Content-Security-Policy needs
    # no 'unsafe-eval' (the markup names a registered component's properties and methods).
    "@alpinejs/csp": ("3.17.4", {"dist/cdn.min.js": "alpine.min.js"}),
    "weui": ("2.6.26", {"dist/style/weui.min.css": "weui.min.css"}),
    "axe-core": ("4.14.1", {"axe.min.js": "axe.min.js"}),
    # The check-in desk's QR decoder where the browser has no BarcodeDetector (Safari, WeCom
    # on iPhone): frames from the camera drawn on a canvas and read in JavaScript.
    "jsqr": ("1.4.0", {"dist/jsQR.js": "jsQR.js"}),
}


class AssetError(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("GONGHUI_LOCAL_CACHE")
    return (Path(root) if root else REPO / ".cache") / "web-assets"


def wanted() -> dict[str, str]:
    return {name: version for name, (version, _) in PACKAGES.items()}


def current() -> bool:
    try:
        return json.loads(STAMP.read_text()) == wanted() and all(
            (VENDOR / target).is_file()
            for _, files in PACKAGES.values()
            for target in files.values()
        )
    except (OSError, ValueError):
        return False


def tarball(name: str, version: str) -> Path:
    """The package's tarball, packed once into the cache (`npm pack` checks its integrity)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    found = cache / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
    if found.is_file():
        return found
    if shutil.which("npm") is None:
        raise AssetError(
            "需要 npm 来获取前端资源（apt-get install -y npm）/ npm is needed to fetch the web "
            "front end's assets (apt-get install -y npm)"
        )
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        done = subprocess.run(
            ["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", tmp],
            capture_output=True,
            text=True,
            check=False,
        )
        packed = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(packed) != 1:
            raise AssetError(f"npm pack {name}@{version} failed: {done.stderr.strip()[-500:]}")
        packed[0].replace(found)
    return found


def fetch(say=print) -> bool:
    """Make vendor/ hold exactly the pinned files; True when something was copied."""
    if current():
        return False
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, (version, files) in PACKAGES.items():
        with tarfile.open(tarball(name, version)) as tar:
            for inner, target in files.items():
                member = tar.extractfile(f"package/{inner}")
                if member is None:
                    raise AssetError(f"{name}@{version} has no {inner}")
                (VENDOR / target).write_bytes(member.read())
        say(f"  web asset {name}@{version}")
    STAMP.write_text(json.dumps(wanted(), indent=1, sort_keys=True))
    return True


def main() -> int:
    try:
        fetch()
    except AssetError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
