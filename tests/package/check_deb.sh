#!/usr/bin/env bash
# The Debian package, as a user gets it (scripts/test.sh runs this after
# `cpack` in the "package" build): its contents (dpkg-deb -c), its Depends
# (from dpkg-shlibdeps), then, where installing is allowed (CI, or
# VMSEAL_TEST_INSTALL_DEB=1, as root), `apt-get install ./vmseal_*.deb` and the
# installed vmseal run from /usr: run -- /bin/true, inspect self, check, man
# vmseal, its own audit without a warning, and the metrics service's units and
# command; the package is removed again afterwards.
# Exit 0 ok, 1 failure.
set -u
deb=${1:?usage: check_deb.sh PACKAGE.deb}
fail() { echo "FAIL: $*"; exit 1; }
contents=$(dpkg-deb -c "$deb" | awk '{print $6}') || fail "dpkg-deb -c $deb"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for path in ./usr/bin/vmseal "./usr/lib/$multiarch/vmseal/libvmseal_preload.so" "./usr/lib/$multiarch/libvmseal.so.0" \
  ./usr/include/vmseal/vmseal.h ./usr/include/vmseal/vmseal.hpp "./usr/lib/$multiarch/pkgconfig/vmseal.pc" \
  "./usr/lib/$multiarch/cmake/vmseal/vmsealConfig.cmake" ./usr/share/man/man1/vmseal.1 ./usr/share/man/man1/vmseal-run.1 \
  ./usr/share/man/man3/vmseal.3 ./usr/share/doc/vmseal/systemd.md ./usr/share/doc/vmseal/examples/systemd/vmseal.conf \
  ./usr/share/bash-completion/completions/vmseal ./usr/share/zsh/vendor-completions/_vmseal \
  ./usr/share/fish/vendor_completions.d/vmseal.fish ./usr/lib/systemd/system/vmseal-metrics.service \
  ./usr/lib/systemd/system/vmseal-metrics.timer; do
  grep -qxF "$path" <<<"$contents" || fail "$path is not in the package"
done
grep -q '/build/\|/work/' <<<"$contents" && fail "the package holds a build path"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libelf1 libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
echo "package: contents and Depends ($depends) as expected"

if [ "${CI:-}" != true ] && [ "${VMSEAL_TEST_INSTALL_DEB:-}" != 1 ]; then
  echo "SKIP: not installing the package (set VMSEAL_TEST_INSTALL_DEB=1, as root, to install and try it)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "SKIP: installing the package needs root"; exit 0; }
if dpkg-query -W -f='${Status}' vmseal 2>/dev/null | grep -q "install ok installed"; then
  echo "SKIP: a vmseal package is installed already; not replacing it"
  exit 0
fi
trap 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq vmseal >/dev/null 2>&1' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$(readlink -f "$deb")" >/dev/null || fail "apt-get install $deb"
cd / || exit 1
/usr/bin/vmseal run --report /tmp/vmseal-deb-report.json -- /bin/true || fail "vmseal run -- /bin/true"
grep -q '"sealed_before_main": true' /tmp/vmseal-deb-report.json || fail "the installed vmseal run did not seal"
rm -f /tmp/vmseal-deb-report.json
/usr/bin/vmseal run --print-env -- /bin/true | grep -q "^LD_PRELOAD=/usr/lib/$multiarch/vmseal/libvmseal_preload.so$" ||
  fail "the installed vmseal does not use the installed preload"
/usr/bin/vmseal inspect self >/dev/null || fail "vmseal inspect self"
/usr/bin/vmseal check >/dev/null; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || fail "vmseal check exited $rc"
if command -v man >/dev/null; then
  man vmseal 2>/dev/null | grep -q "EXIT STATUS" || fail "man vmseal"
  man 3 vmseal 2>/dev/null | grep -q "vmseal_seal" || fail "man 3 vmseal"
fi
# vmseal passes its own audit, installed.
/usr/bin/vmseal audit --fail-on-warning /usr/bin/vmseal "/usr/lib/$multiarch/libvmseal.so.0" \
  "/usr/lib/$multiarch/vmseal/libvmseal_preload.so" >/dev/null || fail "vmseal audit warns about vmseal's own files"
# The fleet view's units as installed, and the service's command.
grep -qx 'ExecStart=/usr/bin/vmseal inspect --all --format openmetrics --output /var/lib/prometheus/node-exporter/vmseal.prom' \
  /usr/lib/systemd/system/vmseal-metrics.service || fail "the installed service does not run /usr/bin/vmseal"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/system/vmseal-metrics.service /usr/lib/systemd/system/vmseal-metrics.timer ||
    fail "systemd-analyze verify of the installed units"
fi
/usr/bin/vmseal inspect --all --format openmetrics --output /tmp/vmseal-deb.prom; rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || fail "vmseal inspect --all --format openmetrics exited $rc"
tail -n 1 /tmp/vmseal-deb.prom | grep -qx '# EOF' || fail "the installed vmseal wrote no metrics"
rm -f /tmp/vmseal-deb.prom
echo "package: installed with apt-get; vmseal run, inspect (also as metrics), check, audit, the units and man vmseal work from /usr"
