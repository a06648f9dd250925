#!/usr/bin/env bash
# Rebuilds models/tiny from scratch: `npm run models:build` (or `bash models/recipe/build.sh [--untrained]`).
# Needs: Debian's python3-torch (PyTorch 1.13, CPU) and python3-numpy, seen by $TTSNAP_PYTHON (default /usr/bin/python3).
#   apt-get install python3-torch python3-numpy
# Env: TTSNAP_RECIPE_THREADS (default 2), TTSNAP_RECIPE_WORK (checkpoints, default models/recipe/.work),
#      TTSNAP_BUNDLE_OUT (default models/tiny).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${TTSNAP_PYTHON:-/usr/bin/python3}"
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "models:build needs PyTorch and numpy for $py (Debian: apt-get install python3-torch python3-numpy;" >&2
  echo "or set TTSNAP_PYTHON to a python that has torch>=1.13 and numpy)" >&2
  exit 1
fi
if [[ "${1:-}" == "--untrained" ]]; then
  exec "$py" "$here/untrained.py"
fi
exec "$py" "$here/build.py" "$@"
