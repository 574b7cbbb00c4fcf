# shellcheck shell=bash disable=SC2034  # sourced: its variables are for the caller
# pack_env.sh — sourced, not run: the environment that builds and runs ordertune against the
# libraries of .gpu-pack/ (tests/gpu/pack.sh makes it) instead of the system's.
#
#   source tests/gpu/pack_env.sh [missing|all]
#
# Sets PATH (mpirun, mpicc, pkg-config of the pack), LD_LIBRARY_PATH, the relocation variables of
# Open MPI (OPAL_PREFIX, OPAL_SYSCONFDIR) and PMIx (its plugin and help folders), PKG_CONFIG_LIBDIR (the pack's
# .pc files only), CMAKE_PREFIX_PATH, mpirun-as-root, and the array pack_cmake_args (-D options
# for the compiler wrappers, HDF5 and pkg-config). The fallback libraries (pack.sh: libcurl,
# libcrypto, ... that the packed ones need) are put on LD_LIBRARY_PATH through
# .gpu-pack/fallback-active/: with `missing` (the default) only those that this machine's linker
# cache (ldconfig -p) lacks, so that its own, newer copies serve its compiler, linker and Python;
# with `all` every one (a machine with the same Debian: proves the pack's closure).
# Cost: well under a second.

pack_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.gpu-pack"
if [ ! -f "$pack_dir/MANIFEST" ]; then
  echo "pack_env.sh: $pack_dir/MANIFEST not found: run bash tests/gpu/pack.sh first" >&2
  return 1
fi
pack_usr=$pack_dir/usr
pack_lib=$pack_usr/lib/x86_64-linux-gnu

rm -rf "$pack_dir/fallback-active"
mkdir -p "$pack_dir/fallback-active"
# ldconfig may be outside PATH (/sbin); without it every fallback library is used.
# shellcheck disable=SC2015  # the second ldconfig may run after the first failed: wanted
pack_system_sonames=$({ command -v ldconfig > /dev/null && ldconfig -p || /sbin/ldconfig -p; } 2> /dev/null |
  awk 'NR > 1 {print $1}' | sort -u)
pack_fallback_used=()
for f in "$pack_dir"/fallback/*; do
  soname=$(basename "$f")
  if [ "${1:-missing}" = all ] || ! grep -qxF "$soname" <<< "$pack_system_sonames"; then
    ln -s "../fallback/$soname" "$pack_dir/fallback-active/$soname"
    pack_fallback_used+=("$soname")
  fi
done

# Open MPI: every install folder but sysconfdir is relative to the prefix (pack.sh).
export OPAL_PREFIX=$pack_usr
export OPAL_SYSCONFDIR=$pack_dir/etc/openmpi
# PMIx (its prefix /usr/lib/x86_64-linux-gnu/pmix2 is compiled in, and PMIX_PREFIX does not move
# it): its plugins through the MCA component path, its help files through PMIX_PKGDATADIR. Without
# the plugins a run prints "PMIx was unable to find a usable compression library".
export PMIX_MCA_mca_base_component_path=$pack_lib/pmix2/lib/pmix
export PMIX_PKGDATADIR=$pack_lib/pmix2/share/pmix
# hwloc's plugins (PCI, OpenCL, ...) are not carried; the core topology is in libhwloc itself.
export HWLOC_PLUGINS_PATH=$pack_dir/no-hwloc-plugins
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PATH=$pack_usr/bin:$PATH
export LD_LIBRARY_PATH=$pack_lib:$pack_lib/pmix2/lib:$pack_dir/fallback-active${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_LIBDIR=$pack_lib/pkgconfig:$pack_usr/share/pkgconfig
unset PKG_CONFIG_PATH
export CMAKE_PREFIX_PATH=$pack_usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
pack_cmake_args=(
  "-DMPI_C_COMPILER=$pack_usr/bin/mpicc"
  "-DMPI_CXX_COMPILER=$pack_usr/bin/mpicxx"
  "-DMPIEXEC_EXECUTABLE=$pack_usr/bin/mpiexec"
  "-DHDF5_ROOT=$pack_lib/hdf5/openmpi"
  "-DPKG_CONFIG_EXECUTABLE=$pack_usr/bin/pkgconf"
)
