#!/usr/bin/env bash
# Rebuilds models/tiny from scratch: `npm run models:build` (or `bash models/recipe/build.sh [stage ...]`).
# Needs: PyTorch >= 1.13 (CPU) and numpy for $TTSNAP_PYTHON (default /usr/bin/python3, i.e. Debian's
#   apt-get install python3-torch python3-numpy), and an optimised BLAS for it: Debian's torch calls the
#   system libblas.so.3, and the reference BLAS makes training ~10x slower (apt-get install libopenblas0-pthread).
# Stages: vae unet rewards narf eval export (no argument: every stage whose checkpoint is missing, then export);
#   `build.sh from-bundle narf eval export` reads the vae, unet and rewards checkpoints back from the committed
#   bundle (bit for bit) and redoes only NARF, eval and export (minutes instead of half an hour).
# Env: TTSNAP_RECIPE_THREADS (torch threads, default 1), TTSNAP_RECIPE_WORK (checkpoints, default
#      models/recipe/.work; delete it to retrain everything), TTSNAP_BUNDLE_OUT (default models/tiny).
# `--untrained` writes a random-weight bundle with the same layout in seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py="${TTSNAP_PYTHON:-/usr/bin/python3}"
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "models:build needs PyTorch (>= 1.13, CPU) and numpy for $py: apt-get install python3-torch python3-numpy" >&2
  echo "(or set TTSNAP_PYTHON to a python that has them)" >&2
  exit 1
fi
blas="$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || true)"
if [[ "$blas" == */blas/libblas.so.3 ]]; then
  echo "warning: the system BLAS is the slow reference one ($blas); apt-get install libopenblas0-pthread" >&2
fi
# One BLAS thread: on shared cores, extra spinning threads cost more than they give.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
if [[ "${1:-}" == "--untrained" ]]; then
  exec "$py" "$here/untrained.py"
fi
cd "$here"
exec "$py" build.py "$@"
