#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: installs what is missing, builds, and then
# either starts the window or runs the whole test suite.
#   packaging/dev.sh run            build and start the window (in-process destination)
#   packaging/dev.sh test [PRESET]  build and run the tests; PRESET = default | asan | tsan
#   packaging/dev.sh bench          build and run the throughput benchmarks (not tests)
#   packaging/dev.sh bench-two-hosts [RATE] [RAM] [DIRTY] [CONTENT]
#                                   a migration between two network namespaces (root)
#   packaging/dev.sh package        the Release .deb, checked with lintian and unpacked and run
#   packaging/dev.sh soak [--runs N] [--seed S]
#                                   the randomised fault campaign (storage faults need root)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
    build-essential cmake pkg-config
    qt6-base-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools libgl-dev
    libqcustomplot-dev libgnutls28-dev libsqlite3-dev libxxhash-dev gnutls-bin iproute2
    libmnl-dev nlohmann-json3-dev
    # the tests watch real QEMU migrations (TCG, no KVM needed)
    qemu-system-x86
    # QMP clients the tests steer a headless run with
    socat python3
    # a session bus for the test of the window's desktop notifications
    dbus-daemon
    # the window's SVG icon; the desktop file's and AppStream metadata's validators
    libqt6svg6 desktop-file-utils appstream
    # the manual page, generated from --help
    help2man
)

install_packages() {
    local missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    echo "Installing: ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
}

build() {
    local preset=$1
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$(nproc)"
}

command=${1:-}
case "$command" in
run)
    install_packages
    build default
    exec build/app/migrascope "${@:2}"
    ;;
test)
    preset=${2:-default}
    install_packages
    build "$preset"
    ctest --preset "$preset"
    ;;
bench)
    install_packages
    build default
    build/tests/benchmarks/bench_tls_loopback
    build/tests/benchmarks/bench_migration
    build/tests/benchmarks/bench_tls_protection
    build/tests/benchmarks/bench_postcopy
    build/tests/benchmarks/bench_downtime
    build/tests/benchmarks/bench_limit
    build/tests/benchmarks/bench_watch
    QT_QPA_PLATFORM=offscreen build/tests/benchmarks/bench_history
    QT_QPA_PLATFORM=offscreen build/tests/benchmarks/bench_dashboard
    ;;
bench-two-hosts)
    install_packages
    build default
    exec packaging/bench_two_hosts.sh "${@:2}"
    ;;
package)
    packages+=(lintian dpkg-dev)
    install_packages
    # Debian's own hardening flags (fortify, stack protector, relro, now), as a Debian build has.
    cmake --preset release \
        -DCMAKE_CXX_FLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
        -DCMAKE_EXE_LINKER_FLAGS="$(dpkg-buildflags --get LDFLAGS)" >/dev/null
    cmake --build --preset release -j "$(nproc)"
    rm -f build-release/migrascope_*.deb
    (cd build-release && cpack -G DEB >/dev/null)
    deb=$(ls build-release/migrascope_*.deb)
    echo "Built $deb"
    dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
    # Debian's checks; errors and warnings fail the package.
    lintian --fail-on error,warning --info "$deb"
    # What it installs runs from where it is unpacked, against this system's libraries.
    unpacked=$(mktemp -d)
    trap 'rm -rf "$unpacked"' EXIT
    dpkg-deb -x "$deb" "$unpacked"
    "$unpacked/usr/bin/migrascope" --version
    for file in usr/share/doc/migrascope/copyright usr/share/doc/migrascope/changelog.gz \
        usr/share/man/man1/migrascope.1.gz usr/share/applications/io.migrascope.Migrascope.desktop \
        usr/share/metainfo/io.migrascope.Migrascope.metainfo.xml \
        usr/libexec/migrascope/demo_tls_unprotected; do
        [[ -e "$unpacked/$file" ]] || { echo "missing from the package: /$file" >&2; exit 1; }
    done
    HOME="$unpacked" XDG_CONFIG_HOME="$unpacked/config" XDG_DATA_HOME="$unpacked/data" \
        "$unpacked/usr/bin/migrascope" --headless --ram-size 32M --no-tls --json >/dev/null
    echo "The package installs, and its migrascope migrates: $deb"
    ;;
soak)
    install_packages
    build default
    exec packaging/soak.py --binary build/app/migrascope "${@:2}"
    ;;
*)
    echo "usage: $0 run [migrascope options] | test [default|asan|tsan] | bench |" \
        "bench-two-hosts [RATE] [RAM] [DIRTY] [CONTENT] | package | soak [--runs N] [--seed S]" >&2
    exit 2
    ;;
esac
