#!/usr/bin/env bash
# Copy hls.js (the exact version in package.json, installed by `npm ci`) from node_modules into
# assets/vendor/hls.js/, where templates list it as a static file: recipients' pages load it from
# their own origin, never from a CDN. The full build: the stream's audio is its own rendition
# (the light build has no alternate audio); captions and chapters are WebVTT side tracks. Run after changing the version;
# tests/outputs/test_vendored_player.py fails until the copies match.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/hls.js
dest=assets/vendor/hls.js
version=$(node -p "require('./$src/package.json').version")
mkdir -p "$dest"
cp "$src/dist/hls.min.js" "$dest/hls.min.js"
cp "$src/LICENSE" "$dest/LICENSE"
echo "$version" > "$dest/VERSION"
echo "vendored hls.js $version into $dest"
