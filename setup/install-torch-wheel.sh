#!/usr/bin/env bash
# Installs the torch wheel (LibTorch 2.x with CUDA and NCCL) and the Python packages pinned in
# setup/requirements-torch.txt into a virtual environment at <checkout>/.venv, for the `cuda`
# build (`cmake --preset cuda`, CMakePresets.json; README, "Running a study", step 3).
# Idempotent: when .venv already holds this requirements file's versions (a stamp holds the
# file's hash), it returns at once. pip's cache (~/.cache/pip) is used as usual: a second
# checkout on the same machine does not download the ~3 GB of wheels again.
# Python: $ORDERTUNE_PYTHON, else python3 on PATH; 3.11 or newer (the pins were resolved on 3.11).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
requirements=setup/requirements-torch.txt
venv=.venv
stamp=$venv/ordertune-requirements.sha256
python=${ORDERTUNE_PYTHON:-python3}

# The stamp names the requirements and the interpreter: a venv made by another Python is remade.
want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" -c 'import sys; print(sys.version.split()[0])')"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "install-torch-wheel: $venv already has the versions of $requirements"
  exit 0
fi

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "install-torch-wheel: $python is Python $("$python" -V 2>&1); 3.11 or newer is needed (set ORDERTUNE_PYTHON)" >&2
  exit 1
}
# Debian's python3 makes virtual environments only with python3-venv (ensurepip).
if ! "$python" -c 'import ensurepip' 2> /dev/null; then
  echo "install-torch-wheel: installing python3-venv (Debian) for $python -m venv"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv > /dev/null
fi
# A venv from another interpreter (or a broken one) is remade rather than patched.
if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])' 2> /dev/null)" != "${want#* }" ]; then
  echo "install-torch-wheel: $venv was made by another Python; remaking it"
  rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

start=$(date +%s)
echo "install-torch-wheel: installing $requirements into $venv (pip's cache: $("$venv/bin/python" -m pip cache dir 2> /dev/null || echo off))"
rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --requirement "$requirements"
"$venv/bin/python" -m pip check
echo "$want" > "$stamp"
echo "install-torch-wheel: done in $(($(date +%s) - start)) s: $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "NCCL", ".".join(map(str, torch.cuda.nccl.version())))')"
