#!/usr/bin/env bash
# ctest install.staging: vmseal installed into a staging directory, then used
# as an outsider would: a C and a C++ program built once with
# find_package(vmseal) and once with pkg-config, each sealing memory and
# checking `sl` in /proc/self/smaps; the installed `vmseal` run away from the
# build tree; libvmseal exporting only the documented API; the public headers
# compiling on their own. Exit 0 ok, 1 failure, 77 skipped (with why).
set -u
build=$1 src=$2 sanitized=${3:-OFF}
if [ "$sanitized" = ON ]; then
  echo "SKIP: a sanitized libvmseal needs the sanitizer runtime loaded first; the release and debug builds run this"
  exit 77
fi
stage=$(mktemp -d /tmp/vmseal-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$stage/prefix" >"$stage/install.log" 2>&1 || { cat "$stage/install.log"; fail "cmake --install"; }
P=$stage/prefix
libdir=$(dirname "$(find "$P" -name 'libvmseal.so.0' | head -1)")
[ -n "$libdir" ] || fail "no libvmseal.so.0 installed"
for f in bin/vmseal include/vmseal/vmseal.h include/vmseal/vmseal.hpp; do [ -e "$P/$f" ] || fail "$f not installed"; done
[ -e "$libdir/vmseal/libvmseal_preload.so" ] || fail "the preload is not in $libdir/vmseal"
[ -e "$libdir/cmake/vmseal/vmsealConfig.cmake" ] || fail "no vmsealConfig.cmake"
[ -e "$libdir/pkgconfig/vmseal.pc" ] || fail "no vmseal.pc"
for page in man1/vmseal.1 man1/vmseal-run.1 man1/vmseal-seal.1 man1/vmseal-inspect.1 man1/vmseal-check.1 man3/vmseal.3; do
  [ -s "$P/share/man/$page" ] || fail "man page $page not installed"
done
for f in share/bash-completion/completions/vmseal share/zsh/vendor-completions/_vmseal \
  share/fish/vendor_completions.d/vmseal.fish; do
  [ -s "$P/$f" ] || fail "completion $f not installed"
done
if command -v man >/dev/null; then
  MANPATH=$P/share/man man vmseal 2>/dev/null | grep -q "EXIT STATUS" || fail "man vmseal does not show the installed page"
  MANPATH=$P/share/man man 3 vmseal 2>/dev/null | grep -q "vmseal_seal" || fail "man 3 vmseal does not show the C API"
fi

run_pair() {  # $1: how they were built; runs seal_c and seal_cpp from $2
  for prog in seal_c seal_cpp; do
    LD_LIBRARY_PATH=$libdir "$2/$prog"; rc=$?
    [ $rc -eq 77 ] && { echo "SKIP: mseal is not available here"; exit 77; }
    [ $rc -eq 0 ] || fail "$prog built with $1 exited $rc"
  done
}

# find_package(vmseal)
cmake -S "$src/tests/install/external" -B "$stage/ext" -DCMAKE_PREFIX_PATH="$P" >"$stage/ext.log" 2>&1 &&
  cmake --build "$stage/ext" >>"$stage/ext.log" 2>&1 || { cat "$stage/ext.log"; fail "building with find_package(vmseal)"; }
run_pair "find_package(vmseal)" "$stage/ext"

# pkg-config
export PKG_CONFIG_PATH=$libdir/pkgconfig
mkdir -p "$stage/pc"
cc -std=c99 -o "$stage/pc/seal_c" "$src/tests/install/external/seal.c" $(pkg-config --cflags --libs vmseal) ||
  fail "building the C program with pkg-config"
c++ -std=c++17 -o "$stage/pc/seal_cpp" "$src/tests/install/external/seal.cpp" $(pkg-config --cflags --libs vmseal) ||
  fail "building the C++ program with pkg-config"
run_pair "pkg-config" "$stage/pc"

# The public headers on their own: C99 and C++ for vmseal.h, C++17 for vmseal.hpp.
echo '#include <vmseal/vmseal.h>' | cc -std=c99 -pedantic -Wall -Werror -fsyntax-only -I"$P/include" -x c - ||
  fail "vmseal.h is not C99 on its own"
echo '#include <vmseal/vmseal.h>' | c++ -std=c++17 -Wall -Werror -fsyntax-only -I"$P/include" -x c++ - ||
  fail "vmseal.h is not C++ on its own"
echo '#include <vmseal/vmseal.hpp>' | c++ -std=c++17 -pedantic -Wall -Werror -fsyntax-only -I"$P/include" -x c++ - ||
  fail "vmseal.hpp does not compile on its own in C++17"

# Only the documented API is exported.
extra=$(nm -D --defined-only "$libdir/libvmseal.so.0" | awk '{print $3}' | c++filt |
  grep -vE '^(vmseal_[a-z_]+|vmseal::(seal|freeze|is_sealed|seal_available|seal_loaded_images|detail::[a-z_]+)\(.*\))(@@VMSEAL_0)?$|^VMSEAL_0$')
[ -z "$extra" ] || fail "libvmseal exports more than its API: $extra"

# The installed command, away from the build tree.
cd "$stage" || exit 1
env -i PATH=/usr/bin:/bin "$P/bin/vmseal" run --report "$stage/r.json" -- /bin/true || fail "installed vmseal run -- /bin/true"
grep -q '"sealed_before_main": true' "$stage/r.json" || fail "installed vmseal run did not seal: $(cat "$stage/r.json")"
grep -q "$P" <(env -i "$P/bin/vmseal" run --print-env -- /bin/true) || fail "the installed vmseal does not use the installed preload"
"$P/bin/vmseal" inspect self >/dev/null || fail "installed vmseal inspect self"
"$P/bin/vmseal" check >/dev/null; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || fail "installed vmseal check exited $rc"
echo "install: staged under a fresh prefix; find_package and pkg-config builds sealed memory; headers stand alone; only the API is exported; the installed vmseal ran"
