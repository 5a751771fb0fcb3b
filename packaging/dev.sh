#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: installs what is missing, builds, and then
# either starts the window or runs the whole test suite.
#   packaging/dev.sh run            build and start the window (in-process destination)
#   packaging/dev.sh test [PRESET]  build and run the tests; PRESET = default | asan | tsan
#   packaging/dev.sh bench          build and run the throughput benchmarks (not tests)
#   packaging/dev.sh bench-two-hosts [RATE] [RAM] [DIRTY] [CONTENT]
#                                   a migration between two network namespaces (root)
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
soak)
    install_packages
    build default
    exec packaging/soak.py --binary build/app/migrascope "${@:2}"
    ;;
*)
    echo "usage: $0 run [migrascope options] | test [default|asan|tsan] | bench |" \
        "bench-two-hosts [RATE] [RAM] [DIRTY] [CONTENT] | soak [--runs N] [--seed S]" >&2
    exit 2
    ;;
esac
