#!/usr/bin/env bash
# smoke.sh — builds ordertune on a bare GPU machine against .gpu-pack/ (tests/gpu/pack.sh, made
# on the Debian machine and carried along) and the machine's own torch, then checks what only a
# GPU can: forward parity with transformers, the CUDA engine tests, training speed against
# transformers, and `ordertune run` / a 2-rank sweep on the GPU.
#
#   bash tests/gpu/smoke.sh            from the repository root, on the GPU machine
#   SMOKE_CPU=1 bash tests/gpu/smoke.sh   (or no GPU found) the same without a GPU, see below
#
# Runs:      1. the build: pack_env.sh's environment, cmake -G Ninja, Release, C++20,
#               ORDERTUNE_WITH_NCCL=ON, TORCH_CUDA_ARCH_LIST=9.0, ORDERTUNE_TORCH_DIR = python3's
#               torch, nvcc's toolkit; targets ordertune, ordertune-prepare, engine_tests, with
#               -j$(nproc); into build-gpu-smoke/ (SMOKE_BUILD). Then ldd: MPI, HDF5 and
#               sentencepiece must resolve into the pack (check pack_ldd).
#            2. checks, each in its own process group with a time limit, so that one failure or
#               hang does not stop the rest; their logs are in build-gpu-smoke/work/logs/:
#               parity      forward_parity.py: `ordertune forward --device cuda --dtype fp32|bf16`
#                           against transformers (eager and SDPA; bounds in forward_parity.py)
#               cuda_tests  engine_tests "[cuda]" (tests/engine/cuda.test.cpp), Catch2's XML
#                           reporter summarised per test
#               run         `ordertune run` of one demo order (the demo at a tenth of its size,
#                           as tests/e2e/run_order.sh) on the GPU
#               sweep       a 2-rank sweep of a small demo through the packed mpirun, both ranks
#                           on the one GPU (sweep.share_gpus = true, group_size 1); `ordertune
#                           results` read back
#               bench       `ordertune bench train --device cuda --dtype bf16` at XLM-R base
#                           (B=64) and large (B=32), T=256, against hf_train_bench.py at the same
#                           shape: tokens/s, MFU and the ratio. Targets (reported, not asserted):
#                           MFU >= 0.55 on large, >= 1.3x transformers' tokens/s
# Prints:    progress on stderr; ONE JSON object on stdout at the end, also written to
#            build-gpu-smoke/work/smoke.json and, when $OUT is set, $OUT/smoke.json (with the logs
#            as $OUT/smoke-logs.tar.gz): {"device", "torch", "mode", "build_s", "total_s",
#            "checks": {name: {"ok", "seconds", ...figures}}}. Exit status 0 when every check
#            that ran is ok.
# Without a GPU (SMOKE_CPU=1, or none found): the same build, proving the pack complete: the
#            system's Open MPI, PMIx, HDF5, sentencepiece, fmt, toml++, nlohmann_json, CLI11 and
#            Catch2 are hidden in a private mount namespace (unshare -m; SMOKE_HIDE_SYSTEM=0 to
#            skip) and CMake ignores /usr and /usr/local (CMAKE_IGNORE_PREFIX_PATH), and every
#            fallback library is used (pack_env.sh all); python: $SMOKE_PYTHON (default python3)
#            with torch (and transformers for the parity check, else it is skipped). Runs
#            parity on the CPU, the [cuda] tests (each reports skipped), `run` and the 2-rank
#            sweep with ORDERTUNE_DEVICE=cpu; bench is "skipped: no GPU".
# Resources: GPU machine: 16 cores, one H200, < 8 minutes in all (SMOKE_DEADLINE_S, default 470 s,
#            bounds the checks: one that would start with too little time left is skipped).
#            CPU: the build takes ~20 minutes on 2 cores (incremental afterwards), checks ~5.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
self=$root/tests/gpu/smoke.sh
build=${SMOKE_BUILD:-$root/build-gpu-smoke}
work=$build/work
python=${SMOKE_PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
say() { echo "smoke: $*" >&2; }

# ---- one check (run as `smoke.sh --check NAME` in its own process) ---------------------------
# Each writes its figures as JSON to $work/checks/NAME.json; its exit status says whether it
# passed. The Python steps run without the pack's LD_LIBRARY_PATH (the machine's own libraries).
py() { env LD_LIBRARY_PATH="$SMOKE_SYSTEM_LD_LIBRARY_PATH" "$python" "$@"; }
ot() { "$build/ordertune" "$@"; }

check_pack_ldd() {
  ldd "$build/ordertune" "$build/ordertune-prepare" "$build/tests/engine_tests" > "$work/ldd.txt"
  py - "$work/ldd.txt" "$pack_dir" > "$work/checks/pack_ldd.json" << 'EOF'
import json, re, sys
text, pack = open(sys.argv[1]).read(), sys.argv[2]
wanted = re.compile(r"^(libmpi|libopen-(pal|rte)|libhdf5|libsentencepiece|libfmt|libtomlplusplus|libevent|libhwloc|libpmix)")
found = {}
for so, path in re.findall(r"^\s*(\S+) => (\S+)", text, re.M):
    if wanted.match(so):
        found[so] = path
outside = {so: p for so, p in found.items() if not p.startswith(pack + "/")}
required = ("libmpi.so.40", "libhdf5_openmpi.so.103", "libsentencepiece.so.0")
missing = [so for so in required if so not in found]
print(json.dumps({"ok": not outside and not missing, "from_pack": sorted(found),
                  "outside_pack": outside, "missing": missing, "not_found": re.findall(r"(\S+) => not found", text)}))
sys.exit(0 if not outside and not missing else 1)
EOF
}

check_parity() {
  local dir=$work/parity device=cuda
  [ "$SMOKE_MODE" = gpu ] || device=cpu
  rm -rf "$dir"
  py tests/gpu/forward_parity.py make "$dir"
  ot forward --model "$dir/model" --inputs "$dir/inputs.txt" --out "$dir/fp32.h5" --device "$device" --dtype fp32
  ot forward --model "$dir/model" --inputs "$dir/inputs.txt" --out "$dir/bf16.h5" --device "$device" --dtype bf16
  py tests/gpu/forward_parity.py compare "$dir" "$dir/fp32.h5" "$dir/bf16.h5" --device "$device" \
    > "$work/checks/parity.json"
}

check_cuda_tests() {
  local xml=$work/cuda-tests.xml rc=0
  "$build/tests/engine_tests" "[cuda]" -r xml -o "$xml" || rc=$?
  py - "$xml" "$SMOKE_MODE" "$rc" > "$work/checks/cuda_tests.json" << 'EOF'
import json, sys
import xml.etree.ElementTree as ET
path, mode, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
tests = {}
for case in ET.parse(path).getroot().iter("TestCase"):
    warnings = " ".join((w.text or "").strip() for w in case.iter("Warning"))
    success = case.find("OverallResult").get("success") == "true"
    failures = [" ".join((e.find("Expanded").text or "").split()) for e in case.iter("Expression")
                if e.get("success") == "false"]
    state = "skipped" if "skipped: no CUDA device" in warnings else "passed" if success else "failed"
    tests[case.get("name")] = {"result": state, **({"failed": failures[:3]} if failures else {})}
n = {s: sum(t["result"] == s for t in tests.values()) for s in ("passed", "failed", "skipped")}
# On a GPU every test must run and pass; without one, every test reports skipped.
ok = len(tests) > 0 and (n["passed"] == len(tests) if mode == "gpu" else n["skipped"] == len(tests))
print(json.dumps({"ok": ok, "engine_tests_rc": rc, **n, "tests": tests}))
sys.exit(0 if ok else 1)
EOF
}

# The demo at a tenth of its size with a short pretraining and one epoch per stage
# (tests/e2e/run_order.sh); the sweep's copy adds 1 replicate, orders of length 0-1, 2 ranks on
# one GPU.
demo_config() {
  local lengths=$1
  sed -e 's/^demo = true$/demo = true\ndemo_scale = 0.1/' \
    -e 's/^pretrain_steps = .*/pretrain_steps = 40/' \
    -e 's/^epochs = .*/epochs = 1.0/' \
    -e 's/^replicates = .*/replicates = 1\nshare_gpus = true\nthreads = 1/' \
    -e "s/^lengths = .*/lengths = $lengths/" "$root/configs/demo.toml"
}

device_env() {
  if [ "$SMOKE_MODE" = gpu ]; then unset ORDERTUNE_DEVICE; else export ORDERTUNE_DEVICE=cpu; fi
}

check_run() {
  local dir=$work/run
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  demo_config "[0, 1, 2]" > demo.toml
  grep -q '^demo_scale = 0.1' demo.toml && grep -q '^share_gpus = true' demo.toml
  device_env
  local t0=$SECONDS
  ot prepare --config demo.toml > prepare.txt
  local t1=$SECONDS
  ot run --config demo.toml --order "mnli>hellaswag" --json > run.json 2> run.log
  local t2=$SECONDS
  cat run.log >&2
  py - run.json run.log $((t1 - t0)) $((t2 - t1)) > "$work/checks/run.json" << 'EOF'
import json, re, sys
r = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
device = re.search(r"device (\S+)", log)
print(json.dumps({"device": device.group(1) if device else None, "prepare_s": int(sys.argv[3]),
                  "run_s": int(sys.argv[4]), "order": r["order"], "score": r["score"],
                  "targets": {t["task"]: t["score"] for t in r["targets"]},
                  "stages": {s["stage"]: {"steps": s["steps"], "steps_per_s": s["steps_per_s"]}
                             for s in r["stages"]}}))
EOF
}

check_sweep() {
  local dir=$work/sweep
  rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
  demo_config "[0, 1]" > demo.toml
  device_env
  ot prepare --config demo.toml > prepare.txt
  local t0=$SECONDS rc=0
  # --oversubscribe: mpirun counts cores as slots, and 2 ranks may exceed them (2-core CI).
  # The ranks are local: they inherit this environment (the pack's libraries, ORDERTUNE_DEVICE).
  mpirun -np 2 --oversubscribe "$build/ordertune" sweep --config demo.toml > sweep.log 2>&1 || rc=$?
  local t1=$SECONDS
  tail -n 15 sweep.log >&2
  [ "$rc" -eq 0 ] || return "$rc"
  ot status results/demo.h5 > status.txt
  ot results results/demo.h5 > table.csv
  py - table.csv sweep.log $((t1 - t0)) > "$work/checks/sweep.json" << 'EOF'
import csv, json, re, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
log = open(sys.argv[2]).read()
assert rows, "ordertune results printed no rows"
xnli = [float(r["value"]) for r in rows if r["target"] == "xnli" and r["metric"] == "accuracy"]
print(json.dumps({"ranks": 2, "sweep_s": int(sys.argv[3]), "rows": len(rows),
                  "orders": len({r["order"] for r in rows}),
                  "devices": sorted(set(re.findall(r"device (cuda:\d+|cpu)", log))),
                  "xnli_accuracy_mean": statistics.mean(xnli) if xnli else None}))
EOF
}

check_bench() {
  local shape
  local -A shapes=([base]="--layers 12 --hidden 768 --heads 12 --ffn 3072 --batch 64"
    [large]="--layers 24 --hidden 1024 --heads 16 --ffn 4096 --batch 32")
  local common="--vocab 250002 --seq 256 --labels 8 --steps 10 --warmup 3 --seed 0"
  for shape in base large; do
    # shellcheck disable=SC2086  # the shapes are word lists
    ot bench train --device cuda --dtype bf16 --json ${shapes[$shape]} $common > "$work/bench-$shape-ordertune.json"
    # shellcheck disable=SC2086
    py tests/gpu/hf_train_bench.py --device cuda --dtype bf16 ${shapes[$shape]} $common > "$work/bench-$shape-hf.json"
  done
  py - "$work" > "$work/checks/bench.json" << 'EOF'
import json, sys
work = sys.argv[1]
out = {}
for shape in ("base", "large"):
    ot = json.loads(open(f"{work}/bench-{shape}-ordertune.json").read().strip().splitlines()[-1])
    hf = json.loads(open(f"{work}/bench-{shape}-hf.json").read().strip().splitlines()[-1])
    out[shape] = {"batch": ot["batch"], "seq": ot["seq"],
                  "ordertune_tokens_per_s": ot["tokens_per_s"], "ordertune_mfu": ot["mfu"],
                  "ordertune_step_ms": ot["step_ms"],
                  "transformers_tokens_per_s": hf["tokens_per_s"], "transformers_mfu": hf["mfu"],
                  "transformers_step_ms": hf["step_ms"],
                  "ratio": ot["tokens_per_s"] / hf["tokens_per_s"]}
out["targets"] = {"large_mfu_ge_0.55": out["large"]["ordertune_mfu"] >= 0.55,
                  "ratio_ge_1.3": all(out[s]["ratio"] >= 1.3 for s in ("base", "large"))}
print(json.dumps(out))
EOF
}

if [ "${1:-}" = --check ]; then
  "check_$2"
  exit $?
fi

# ---- mode, hiding the system's packages (CPU mode) ---------------------------------------------
if [ -z "${SMOKE_MODE:-}" ]; then
  if [ "${SMOKE_CPU:-0}" = 1 ] || ! nvidia-smi -L > /dev/null 2>&1; then
    export SMOKE_MODE=cpu
  else
    export SMOKE_MODE=gpu
  fi
fi
if [ "$SMOKE_MODE" = cpu ] && [ "${SMOKE_HIDE_SYSTEM:-1}" = 1 ] && [ -z "${SMOKE_HIDDEN:-}" ]; then
  # Re-run in a private mount namespace where the system's copies of what the pack carries are
  # empty: a build or run that reached for one would fail. The toolchain's own libraries (zlib,
  # zstd, curl, ...) stay; pack_env.sh all puts the pack's copies of them first.
  lib=/usr/lib/x86_64-linux-gnu
  hide=(/usr/lib/x86_64-linux-gnu/openmpi "$lib/pmix2" "$lib/hdf5" "$lib/hwloc" /usr/include/hdf5
    /usr/share/openmpi /etc/openmpi "$lib/cmake/fmt" "$lib/cmake/tomlplusplus" /usr/lib/cmake/Catch2
    /usr/share/cmake/CLI11 /usr/share/cmake/nlohmann_json /usr/include/fmt /usr/include/toml++
    /usr/include/nlohmann /usr/include/CLI /usr/include/catch2)
  for f in "$lib"/lib{mpi,open-rte,open-pal,hdf5_openmpi,sentencepiece,pmix,fmt,tomlplusplus,event_core,event_pthreads,hwloc}[._]* \
    /usr/include/sentencepiece*.h "$lib"/pkgconfig/{sentencepiece,ompi,hdf5-openmpi,pmix}*.pc \
    /usr/bin/{orterun,orted,opal_wrapper,h5pcc.openmpi}; do
    # Links are left: their targets are hidden (a mount on a link mounts on its target).
    [ -f "$f" ] && [ ! -L "$f" ] && hide+=("$f")
  done
  empty=$(mktemp -d)
  touch "$empty/file"
  mkdir "$empty/dir"
  # shellcheck disable=SC2016  # expanded by the inner bash
  script='set -e; empty=$1; shift; for p in "$@"; do if [ -d "$p" ]; then mount --bind "$empty/dir" "$p"; else mount --bind "$empty/file" "$p"; fi; done; exec env SMOKE_HIDDEN=1 bash "'"$self"'"'
  if unshare -m --propagation private true 2> /dev/null; then
    say "CPU mode: hiding ${#hide[@]} system paths of the packed packages (unshare -m)"
    rc=0
    unshare -m --propagation private bash -c "$script" _ "$empty" "${hide[@]}" || rc=$?
    rm -rf "$empty"
    exit $rc
  fi
  rm -rf "$empty"
  say "CPU mode: unshare -m is not allowed here; the system's packages stay visible"
fi

start=$SECONDS
deadline=${SMOKE_DEADLINE_S:-470}
[ "$SMOKE_MODE" = gpu ] || deadline=${SMOKE_DEADLINE_S:-100000}
export SMOKE_SYSTEM_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
rm -rf "$work/checks" "$work/logs"
mkdir -p "$work/checks" "$work/logs"

# ---- environment and build --------------------------------------------------------------------
torch_dir=$("$python" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2> /dev/null) || {
  echo "smoke: $python has no torch (set SMOKE_PYTHON)" >&2
  exit 2
}
torch_version=$("$python" -c 'import torch; print(torch.__version__)' 2> /dev/null)
device_name=cpu
[ "$SMOKE_MODE" = cpu ] || device_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
if [ "$SMOKE_MODE" = gpu ]; then
  # shellcheck source=tests/gpu/pack_env.sh
  source tests/gpu/pack_env.sh missing
else
  # shellcheck source=tests/gpu/pack_env.sh
  source tests/gpu/pack_env.sh all
fi
say "mode $SMOKE_MODE, device $device_name, torch $torch_version in $torch_dir; fallback libraries used: ${pack_fallback_used[*]:-none}"
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
cuda_root=$(dirname "$(dirname "$nvcc")")
cmake_bin=$(command -v cmake || echo "$(dirname "$(command -v "$python")")/cmake")
ninja_bin=$(command -v ninja || echo "$(dirname "$(command -v "$python")")/ninja")
config_args=(-S "$root" -B "$build" -G Ninja -DCMAKE_MAKE_PROGRAM="$ninja_bin"
  -DCMAKE_BUILD_TYPE=Release -DORDERTUNE_TORCH_DIR="$torch_dir" -DORDERTUNE_WITH_NCCL=ON
  -DORDERTUNE_CXX_STANDARD=20 -DTORCH_CUDA_ARCH_LIST=9.0 -DCUDAToolkit_ROOT="$cuda_root"
  -DCUDA_TOOLKIT_ROOT_DIR="$cuda_root" -DCMAKE_CUDA_COMPILER="$nvcc" "${pack_cmake_args[@]}")
# Warnings are not errors here: the GPU machine's compiler is not the one CI checks warnings with,
# and GCC 12 at -O3 (Release) reports a false -Wstringop-overflow in src/sweep/results.cpp.
config_args+=(-DORDERTUNE_WERROR=OFF)
if [ "$SMOKE_MODE" = cpu ]; then
  # Nothing from the system's prefixes: what the pack lacks fails the configure.
  config_args+=("-DCMAKE_IGNORE_PREFIX_PATH=/usr;/usr/local" -DCMAKE_C_COMPILER="$(command -v gcc)"
    -DCMAKE_CXX_COMPILER="$(command -v g++)")
fi
# CMake 4 refuses packages' config files that ask for CMake < 3.5; the pack's are Debian 12's.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
jobs=${SMOKE_JOBS:-$(nproc)}
build_rc=0
say "configure and build ($jobs jobs): log $work/logs/build.log"
{
  "$cmake_bin" "${config_args[@]}" &&
    nice -n 5 "$cmake_bin" --build "$build" -j"$jobs" --target ordertune ordertune-prepare engine_tests
} > "$work/logs/build.log" 2>&1 || build_rc=$?
build_s=$((SECONDS - start))
[ "$build_rc" -eq 0 ] || tail -n 30 "$work/logs/build.log" >&2
say "build rc $build_rc in $build_s s"

# ---- checks -----------------------------------------------------------------------------------
# name: time limit in seconds, the least time worth starting it with
declare -A limit=([pack_ldd]=30 [parity]=120 [cuda_tests]=150 [run]=150 [sweep]=180 [bench]=240)
declare -A least=([pack_ldd]=5 [parity]=40 [cuda_tests]=40 [run]=40 [sweep]=60 [bench]=90)
checks=(pack_ldd parity cuda_tests run sweep bench)

export pack_dir SMOKE_MODE

for name in "${checks[@]}"; do
  left=$((deadline - (SECONDS - start)))
  if [ "$build_rc" -ne 0 ]; then
    echo '{"ok": false, "skipped": "the build failed"}' > "$work/checks/$name.meta.json"
    continue
  fi
  if [ "$SMOKE_MODE" = cpu ] && [ "$name" = bench ]; then
    echo '{"ok": true, "skipped": "no GPU"}' > "$work/checks/$name.meta.json"
    continue
  fi
  if [ "$SMOKE_MODE" = cpu ] && [ "$name" = parity ] &&
    ! env LD_LIBRARY_PATH="$SMOKE_SYSTEM_LD_LIBRARY_PATH" "$python" -c 'import transformers, h5py' 2> /dev/null; then
    echo '{"ok": true, "skipped": "no GPU, and no transformers for a CPU run"}' > "$work/checks/$name.meta.json"
    continue
  fi
  if [ "$left" -lt "${least[$name]}" ]; then
    echo "{\"ok\": false, \"skipped\": \"out of time: ${left} s left of SMOKE_DEADLINE_S=$deadline\"}" > "$work/checks/$name.meta.json"
    say "$name: skipped, ${left} s left"
    continue
  fi
  t=${limit[$name]}
  [ "$SMOKE_MODE" = cpu ] && t=$((t * 4))  # 2 shared cores
  [ "$t" -le "$left" ] || t=$left
  say "$name (limit $t s) ..."
  t0=$SECONDS
  rc=0
  # timeout makes its own process group and signals all of it: mpirun and its ranks too.
  timeout -k 10 "$t" bash "$self" --check "$name" > "$work/logs/$name.log" 2>&1 || rc=$?
  seconds=$((SECONDS - t0))
  timed_out=false
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || timed_out=true
  echo "{\"rc\": $rc, \"seconds\": $seconds, \"timed_out\": $timed_out}" > "$work/checks/$name.meta.json"
  say "$name: rc $rc in $seconds s"
  [ "$rc" -eq 0 ] || tail -n 12 "$work/logs/$name.log" | sed "s/^/smoke:   $name| /" >&2
done

# ---- the JSON ---------------------------------------------------------------------------------
result=$(py - "$work" "$pack_dir" "$device_name" "$torch_version" "$SMOKE_MODE" "$build_rc" "$build_s" \
  "$((SECONDS - start))" "${checks[@]}" << 'EOF'
import json, os, sys
work, pack_dir, device, torch_version, mode, build_rc, build_s, total_s, *names = sys.argv[1:]
checks = {}
for name in names:
    meta = json.load(open(f"{work}/checks/{name}.meta.json"))
    figures = {}
    path = f"{work}/checks/{name}.json"
    if os.path.exists(path) and os.path.getsize(path) > 0:
        try:
            figures = json.loads(open(path).read().strip().splitlines()[-1])
        except ValueError as e:
            figures = {"unreadable_figures": str(e)}
    c = {**figures, **meta}
    if "skipped" not in meta:
        c["ok"] = meta["rc"] == 0 and figures.get("ok", True) is not False
    if not c["ok"] and "skipped" not in meta:
        c["log"] = f"{work}/logs/{name}.log"
    checks[name] = c
pack = dict(line.strip().split("=", 1) for line in open(f"{pack_dir}/MANIFEST")
            if line.startswith("max_"))
pack["fallback_used"] = sorted(os.listdir(f"{pack_dir}/fallback-active"))
print(json.dumps({"device": device, "torch": torch_version, "mode": mode,
                  "build_rc": int(build_rc), "build_s": int(build_s), "total_s": int(total_s),
                  "pack": pack, "checks": checks}))
EOF
)
echo "$result" > "$work/smoke.json"
if [ -n "${OUT:-}" ]; then
  cp "$work/smoke.json" "$OUT/smoke.json"
  extra=()
  for f in "$work"/bench-*.json "$work"/cuda-tests.xml; do [ -e "$f" ] && extra+=("${f#"$work"/}"); done
  tar -C "$work" -czf "$OUT/smoke-logs.tar.gz" logs checks "${extra[@]}" || true
fi
echo "$result"
py -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["build_rc"] == 0 and all(c["ok"] for c in r["checks"].values()) else 1)' "$result"
