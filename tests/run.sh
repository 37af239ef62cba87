#!/usr/bin/env bash
# Installs humokit with its test extras and everything the test suite needs on a
# fresh machine, then runs the whole suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. System tools the tests drive: headless Chromium (viewer test), Khronos glTF validator
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if command -v npm >/dev/null 2>&1 && ! (cd "$(npm root -g)" && [ -d gltf-validator ]); then
  npm install -g --silent gltf-validator >/dev/null
fi

# 2. Python packages (the CPU build of torch first, so nothing pulls a CUDA torch)
python -m pip install -q torch==2.13.0
python -m pip install -q -e ".[test,physics,mediapipe,drive,scale]"

# 3. Build the Anny body cache once (minutes on a new machine, ~1 s afterwards)
python -c "from humokit.body import create_body; create_body('anny')" 2>&1 | grep -v -i -E '^(warp|   )' || true

# 4. The tests
python -m pytest -q -p no:cacheprovider tests
