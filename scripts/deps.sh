#!/usr/bin/env bash
# Installs every Debian package Coffer needs to build, test and benchmark.
# Idempotent and quiet when everything is already there (`make deps` calls it).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libsodium-dev libzstd-dev libssl-dev libcurl4-openssl-dev
  libcpp-httplib-dev nlohmann-json3-dev libpugixml-dev
  libsqlite3-dev libpq-dev libpqxx-dev
  libcli11-dev libspdlog-dev libtomlplusplus-dev
  libiscsi-dev libnbd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # Peers and comparison tools used by tests and benchmarks.
  restic borgbackup b3sum python3
  postgresql  # the server the metadata-store tests start and stop (initdb, postgres)
  tgt nbdkit  # iSCSI and NBD peers of the volume backends' and the agent's tests
  faketime  # hosts whose clocks disagree (tests/cli_world_test.cc)
  wrk  # the API's latency under load (bench/api_latency.py)
  clang-19 libclang-rt-19-dev  # libFuzzer for the fuzz targets (clang 14 lacks std::expected)
  curl  # make demo drives the manager's REST API with it
  ca-certificates  # S3 over https (the https test makes its certificate with openssl)
  zstd openssl  # bench/compare measures the primitives with their CLIs
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "make deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
