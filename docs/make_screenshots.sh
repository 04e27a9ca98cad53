#!/usr/bin/env bash
# Regenerate the README's screenshots: the demo movie through the headless pipeline, then
# `cnmf-gui screenshot` of every view, under a real X server (Xvfb) so fonts and styles are the
# ones users see. Needs: xvfb (apt-get install xvfb) and cnmf-gui on PATH.
# Usage: docs/make_screenshots.sh [OUTDIR]   (default docs/screenshots)
set -euo pipefail
OUT="${1:-$(dirname "$0")/screenshots}"
WORK="$(mktemp -d)"
trap 'kill "${XVFB_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

cnmf-gui make-demo "$WORK/demo.tif" --frames 1000 --neurons 30 --seed 0
cnmf-gui run "$WORK/demo.tif" --out "$WORK/demo.h5" --quiet

Xvfb :97 -screen 0 1600x1000x24 >/dev/null 2>&1 &
XVFB_PID=$!
sleep 1
export DISPLAY=:97 QT_QPA_PLATFORM=xcb
for view in raw corrected side_by_side background_subtracted denoised residual background demixed mean correlation; do
  cnmf-gui screenshot "$WORK/demo.h5" --out "$OUT/$view.png" --view "$view" --outlines "not rejected"
done
cnmf-gui screenshot "$WORK/demo.h5" --out "$OUT/motion_qc.png" --view corrected --dock motion --outlines "not rejected"
echo "screenshots in $OUT"
