#!/usr/bin/env bash
# Build the one-folder bundle installers/dist/cnmf-gui/ (executable: cnmf-gui) in a fresh
# virtual environment, then smoke-test the built bundle offscreen:
#   --version, and `screenshot` of a small synthetic session.
# Prints the bundle's size and its start-up times.
# Usage: installers/build.sh            (from anywhere; Linux or macOS)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
WORK="$HERE/build"
DIST="$HERE/dist"
export QT_QPA_PLATFORM=offscreen PIP_DISABLE_PIP_VERSION_CHECK=1

rm -rf "$WORK" "$DIST"
mkdir -p "$WORK"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$ROOT" "pyinstaller>=6.5"

echo "== building"
"$WORK/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK/pyinstaller" "$HERE/cnmf-gui.spec"
cp "$ROOT/resources/cnmf-gui.desktop" "$DIST/cnmf-gui/"
cp "$ROOT/cnmf_gui/resources/cnmf-gui.png" "$DIST/cnmf-gui/"

echo "== smoke test of the built bundle"
"$WORK/venv/bin/python" "$HERE/smoke_test.py" "$DIST/cnmf-gui/cnmf-gui"
echo "bundle: $DIST/cnmf-gui ($(du -sh "$DIST/cnmf-gui" | cut -f1))"
