#!/usr/bin/env bash
# pack.sh — gathers into <checkout>/.gpu-pack/ (git-ignored) everything a bare GPU machine lacks
# to build and run ordertune, from this machine's Debian 12 packages (setup/install-deps.sh
# installs them): Open MPI 4.1 (libraries, headers, the mpirun/orterun launcher, its plugins, help
# and config files), PMIx (Open MPI's runtime, with its plugins), parallel HDF5 (library, headers),
# sentencepiece (libraries, headers, .pc), pkg-config (pkgconf), and the CMake packages the build
# finds (fmt, tomlplusplus, nlohmann_json, CLI11, Catch2). tests/gpu/smoke.sh builds against it
# (tests/gpu/pack_env.sh sets the environment).
#
# Runs:      on this (Debian 12) machine, before a device run; the GPU machine has no Debian
#            packages and no network. Idempotent: the pack is rebuilt from the packages each time
#            into .gpu-pack.tmp/ and then replaces .gpu-pack/.
# Layout:    .gpu-pack/usr/... mirrors the packages' own paths under /usr (Debian's Open MPI is
#            configured with prefix /usr and every other folder relative to it, so OPAL_PREFIX =
#            .gpu-pack/usr relocates it; PMIx through its plugin and help folders), .gpu-pack/etc/openmpi
#            its config (sysconfdir is absolute: OPAL_SYSCONFDIR), .gpu-pack/fallback/ the other
#            shared libraries those need, by soname (libcurl, libevent's peers, libmunge, ...):
#            pack_env.sh links only those the GPU machine's own linker cache lacks, so the
#            machine's newer copies win for its toolchain and Python.
#            Plugins whose libraries are for networks a single node does not use (libfabric, UCX,
#            verbs, PSM), Java, Fortran and OpenSHMEM are left out (Open MPI loads what it finds).
# glibc:     the carried libraries were built on Debian 12 (glibc 2.36, GCC 12). The GPU image is
#            Ubuntu-like with Python 3.12 (most likely Ubuntu 24.04: glibc 2.39, GCC 14's
#            libstdc++); glibc and libstdc++ are backward compatible, so the carried libraries
#            must not need a GLIBC_ symbol version newer than the image's. This prints the highest
#            GLIBC_ and GLIBCXX_ versions they need (objdump -T) and fails above $GPU_GLIBC_MAX
#            (default 2.39). glibc, libstdc++ and libgcc_s are never carried: the GPU machine's
#            compiler builds ordertune against its own.
# Prints:    what it carried, the highest GLIBC_/GLIBCXX_ versions needed, the pack's size and
#            the size of what travels (tracked tree + pack); fails above $GPU_PACK_LIMIT_MIB
#            (default 60 MiB: the device tool carries 64 MiB in all).
# Resources: a few seconds, ~45 MB of disk. Needs: dpkg, ldd, objdump, readelf (binutils).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
pack=$root/.gpu-pack
tmp=$root/.gpu-pack.tmp
limit_mib=${GPU_PACK_LIMIT_MIB:-60}
glibc_max=${GPU_GLIBC_MAX:-2.39}
arch=x86_64-linux-gnu

die() {
  echo "pack.sh: $*" >&2
  exit 1
}
for tool in dpkg-query ldd objdump readelf; do
  command -v "$tool" > /dev/null || die "$tool not found (binutils, dpkg)"
done

# The packages whose files travel. Their own shared libraries always come from the pack (their
# ABI must match the headers the build compiles against).
packages=(
  libopenmpi3 libopenmpi-dev openmpi-bin openmpi-common libpmix2
  libevent-core-2.1-7 libevent-pthreads-2.1-7 libhwloc15
  libhdf5-openmpi-103-1 libhdf5-openmpi-dev
  libsentencepiece0 libsentencepiece-dev
  libfmt9 libfmt-dev libtomlplusplus3 libtomlplusplus-dev nlohmann-json3-dev libcli11-dev catch2
  pkgconf pkgconf-bin libpkgconf3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || die "not installed: ${missing[*]} (run setup/install-deps.sh)"

# Files left out: documentation, static libraries (but Catch2's), the HDF5 compiler wrappers (they hold
# absolute /usr paths; FindHDF5 finds the library and headers under HDF5_ROOT instead), Java,
# Fortran, OpenSHMEM, and tools the smoke test never runs.
exclude='^/usr/share/(doc|man|lintian|info|bug|aclocal)/|\.a$|\.mod$|/h5p?(cc|c\+\+|fc)(\.openmpi)?$'
exclude+='|fortran|mpif(77|90|ort)|mpifh|usempi|mpif-|java|\.jar$'
exclude+='|oshmem|/mca_(sshmem|spml|memheap|scoll|atomic)_|/(osh|shmem)(cc|CC|c\+\+|cxx|fort|run)$'
exclude+='|/(aggregate_profile|profile2mat|orte-server|ompi-server|orte-clean|ompi-clean|orte-info)$'
exclude+='|/openmpi-totalview\.tcl$|/mpi\.ompi$|ompi_monitoring_prof|libompitrace|mca_common_monitoring|_monitoring\.so$'

rm -rf "$tmp"
mkdir -p "$tmp/fallback"
declare -A carried=()  # real path on this machine -> 1
files=()
while IFS= read -r f; do
  # Catch2's imported targets name its one static library: kept.
  [[ "$f" =~ $exclude ]] && [[ "$f" != */libCatch2WithMain.a ]] && continue
  [ -L "$f" ] || [ -f "$f" ] || continue
  files+=("${f#/}")
  [ -f "$f" ] && carried[$(readlink -f "$f")]=1
done < <(dpkg-query -L "${packages[@]}" | sort -u)
# tar keeps links as links and makes the parent folders (cp -a --parents fails on coreutils 9.1).
printf '%s\n' "${files[@]}" | tar -C / --no-recursion -cf - -T - | tar -C "$tmp" -xf -
# Debian's sysconfdir (/etc/openmpi) is absolute; pack_env.sh points OPAL_SYSCONFDIR here.
[ -d "$tmp/etc/openmpi" ] || die "Open MPI's /etc/openmpi was not carried"

# Links that point outside the pack, absolute or dangling, are made relative or dropped.
while IFS= read -r link; do
  target=$(readlink "$link")
  if [[ "$target" == /* ]]; then
    if [ -e "$tmp$target" ]; then
      ln -sfr "$tmp$target" "$link"
    else
      rm "$link"
    fi
  elif [ ! -e "$link" ]; then
    rm "$link"  # points at something left out (a static library, a Fortran library)
  fi
done < <(find "$tmp" -type l)
# The launcher under the names scripts use (Debian makes these through update-alternatives).
ln -sf orterun "$tmp/usr/bin/mpirun"
ln -sf orterun "$tmp/usr/bin/mpiexec"
for w in mpicc mpicxx mpic++; do ln -sf "$w.openmpi" "$tmp/usr/bin/$w"; done

# pkg-config files name prefix=/usr: make them relative to where they lie (pkgconf's pcfiledir).
while IFS= read -r pc; do
  rel=$(realpath --relative-to="$(dirname "$pc")" "$tmp/usr")
  sed -i "s|^prefix=/usr\$|prefix=\${pcfiledir}/$rel|" "$pc"
done < <(find "$tmp" -name '*.pc')
grep -rlq '^prefix=/usr' "$tmp" --include='*.pc' && die "a .pc file still names prefix=/usr"

# ---- shared libraries: what the carried ELF files need --------------------------------------
# The ELF files under a folder, one per line (one process, not three per file).
elf_files() {
  find "$1" -type f -print0 | xargs -0 -r python3 -c '
import sys
for f in sys.argv[1:]:
    with open(f, "rb") as h:
        if h.read(4) == b"\x7fELF":
            print(f)'
}
# Provided by the GPU machine itself (never carried): glibc, libstdc++, libgcc_s.
system_libs='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|lib(c|m|dl|pthread|rt|resolv|util|anl|mvec)\.so\.[0-9]+|libstdc\+\+\.so\.6|libgcc_s\.so\.1)$'
# Network fabrics a single node does not use: plugins that need them are left out.
unused_libs='^lib(oshmem|fabric|ucp|ucs|uct|ucm|ibverbs|rdmacm|psm_infinipath|psm2|nl-3|nl-route-3|jvm|gfortran)\.'
dropped=()
declare -A fallback=()  # soname -> path on this machine
while IFS= read -r f; do
  orig=/${f#"$tmp"/}
  deps=$(ldd "$orig" 2> /dev/null | awk '$2 == "=>" {print $1, $3}') || true
  if grep -qE "^lib[^ ]* not$" <<< "$deps"; then die "$orig: a library it needs is not found here (ldd)"; fi
  if awk '{print $1}' <<< "$deps" | grep -qE "$unused_libs"; then
    case "$orig" in
      */openmpi3/mca_* | */libmca_common_* | */pmix/pmix_mca_*)
        dropped+=("$(basename "$orig")")
        rm "$f"
        continue
        ;;
      *) die "$orig needs $(awk '{print $1}' <<< "$deps" | grep -E "$unused_libs" | tr '\n' ' ')" ;;
    esac
  fi
  while read -r soname path; do
    [ -n "$soname" ] || continue
    [[ "$soname" =~ $system_libs ]] && continue
    [ -n "${carried[$(readlink -f "$path")]:-}" ] && continue
    fallback[$soname]=$path
  done <<< "$deps"
done < <(elf_files "$tmp/usr")
# Dev links of dropped plugins' common libraries would dangle.
find "$tmp" -xtype l -delete
for soname in "${!fallback[@]}"; do
  cp -L "${fallback[$soname]}" "$tmp/fallback/$soname"
done

# Closure check: every NEEDED of every carried ELF file is carried (by soname) or the system's.
declare -A have=()
while IFS= read -r f; do
  s=$(readelf -d "$f" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
  have[${s:-$(basename "$f")}]=1
done < <(elf_files "$tmp")
for f in "$tmp"/usr/lib/$arch/*; do [ -L "$f" ] && have[$(basename "$f")]=1; done
unresolved=()
while IFS= read -r f; do
  while read -r need; do
    [[ "$need" =~ $system_libs ]] || [ -n "${have[$need]:-}" ] || unresolved+=("${f#"$tmp"/} needs $need")
  done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done < <(elf_files "$tmp")
[ ${#unresolved[@]} -eq 0 ] || die "not carried: ${unresolved[*]}"

# ---- glibc / libstdc++ versions needed -------------------------------------------------------
elf_files "$tmp" | xargs -d '\n' objdump -T > "$tmp.symbols"
max_version() {  # highest $1_x.y[.z] version any carried ELF file asks for
  { grep -oE "\($1_[0-9]+(\.[0-9]+)+\)" "$tmp.symbols" || true; } | tr -d '()' | sed "s/^$1_//" | sort -uV | tail -1
}
glibc=$(max_version GLIBC)
glibcxx=$(max_version GLIBCXX)
rm "$tmp.symbols"
newest=$(printf '%s\n%s\n' "$glibc" "$glibc_max" | sort -V | tail -1)
[ "$newest" = "$glibc_max" ] || die "carried libraries need GLIBC_$glibc, newer than GPU_GLIBC_MAX=$glibc_max"

# ---- manifest, size ---------------------------------------------------------------------------
{
  echo "# .gpu-pack, made by tests/gpu/pack.sh on $(. /etc/os-release && echo "$PRETTY_NAME") ($(ldd --version | head -1))"
  echo "max_GLIBC=$glibc"
  echo "max_GLIBCXX=$glibcxx"
  echo "dropped_plugins=${dropped[*]}"
  echo "fallback=$(printf '%s\n' "${!fallback[@]}" | sort | tr '\n' ' ')"
  dpkg-query -W -f='package=${Package} ${Version}\n' "${packages[@]}"
} > "$tmp/MANIFEST"
rm -rf "$pack"
mv "$tmp" "$pack"

bytes=$(du -sb "$pack" | cut -f1)
tracked=$(git ls-files -z | xargs -0 du -cb 2> /dev/null | tail -1 | cut -f1)
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
echo "pack.sh: carried $(find "$pack/usr" -type f | wc -l) files of ${#packages[@]} packages, ${#fallback[@]} fallback libraries ($(ls "$pack/fallback" | tr '\n' ' '))"
echo "pack.sh: left out ${#dropped[@]} plugins for unused networks: ${dropped[*]}"
echo "pack.sh: carried libraries need at most GLIBC_$glibc and GLIBCXX_$glibcxx (limit GLIBC_$glibc_max)"
echo "pack.sh: .gpu-pack is $(mib "$bytes") MiB; with the tracked tree ($(mib "$tracked") MiB) $(mib $((bytes + tracked))) MiB travel"
[ "$bytes" -le $((limit_mib * 1048576)) ] || die ".gpu-pack is $(mib "$bytes") MiB, over the limit of $limit_mib MiB"
