"""The player's third-party script is the npm package pinned in package.json, copied verbatim."""

from __future__ import annotations

import json

from renderer.settings import PROJECT_ROOT

VENDOR = PROJECT_ROOT / "assets" / "vendor" / "hls.js"
NPM = PROJECT_ROOT / "node_modules" / "hls.js"


def test_vendored_hls_js_is_the_pinned_npm_package() -> None:
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["dependencies"]["hls.js"]
    installed = json.loads((NPM / "package.json").read_text())["version"]
    assert (VENDOR / "VERSION").read_text().strip() == pinned == installed, "run scripts/vendor-player.sh"
    assert (VENDOR / "hls.min.js").read_bytes() == (NPM / "dist" / "hls.min.js").read_bytes()
    assert (VENDOR / "LICENSE").read_bytes() == (NPM / "LICENSE").read_bytes()
