#!/usr/bin/env bash
# DESIGN.md decision 1: ordertune never links sentencepiece, ordertune-prepare never links
# LibTorch (Debian's libsentencepiece and LibTorch's libprotobuf crash together at load time).
set -euo pipefail
B=${ORDERTUNE_BUILD:?}
fail() { echo "FAIL: $*"; exit 1; }
ldd "$B/ordertune" > sweep.ldd.$$ && ldd "$B/ordertune-prepare" > prepare.ldd.$$
trap 'rm -f sweep.ldd.$$ prepare.ldd.$$' EXIT
grep -q 'libtorch' sweep.ldd.$$ || fail "ordertune does not link LibTorch (is this the right binary?)"
grep -q 'sentencepiece' sweep.ldd.$$ && fail "ordertune links sentencepiece"
grep -q 'sentencepiece' prepare.ldd.$$ || fail "ordertune-prepare does not link sentencepiece"
grep -Eq 'libtorch|libc10' prepare.ldd.$$ && fail "ordertune-prepare links LibTorch"
grep -q 'hdf5' prepare.ldd.$$ || fail "ordertune-prepare does not link HDF5"
# libstdc++ is found before LibTorch: a torch wheel's libtorch.so exports std::filesystem code of
# its own (pytorch/pytorch#133437), which must not take our calls (CMakeLists.txt, "libstdc++").
needed=$(readelf -d "$B/ordertune" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
first_torch=$(echo "$needed" | grep -n -m1 -E '^lib(torch|c10)' | cut -d: -f1)
stdcxx=$(echo "$needed" | grep -n -m1 '^libstdc++' | cut -d: -f1)
[ -n "$stdcxx" ] && [ "$stdcxx" -lt "$first_torch" ] ||
  fail "ordertune needs libstdc++ after LibTorch: $(echo $needed)"
# Both start and answer --help.
"$B/ordertune" --help > /dev/null
"$B/ordertune-prepare" --help > /dev/null
grep -q -- '--config' <<< "$("$B/ordertune" prepare --help)" || fail "ordertune prepare does not reach ordertune-prepare"
echo "link_separation: ok"
