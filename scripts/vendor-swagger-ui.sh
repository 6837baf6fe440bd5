#!/usr/bin/env bash
# Copy the Swagger UI files /docs serves from node_modules/swagger-ui-dist (the exact version in
# package.json, installed by `npm ci`) into the Python package, so the docs work offline.
# Run after changing that version; tests/test_api_docs.py fails until the copies match.
set -euo pipefail
cd "$(dirname "$0")/.."
src=node_modules/swagger-ui-dist
dest=renderer/api/static/swagger-ui
version=$(node -p "require('./$src/package.json').version")
mkdir -p "$dest"
for file in swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE; do
  cp "$src/$file" "$dest/$file"
done
echo "$version" > "$dest/VERSION"
echo "vendored swagger-ui-dist $version into $dest"
