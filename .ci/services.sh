#!/usr/bin/env bash
# What the test suite needs beyond Python, installed where this machine allows: Prometheus,
# promtool and Alertmanager (tests/monitoring), chromium (tests/browser), and Ceph's RADOS
# gateway (a real S3 endpoint that tests/fixtures/s3.py starts per session with
# .ci/ceph-s3-up.sh), from Debian packages, when running as root with apt-get. Elsewhere it
# says what is missing and why: off CI those tests then skip with that reason; under CI=true
# this step fails, because CI promises every service.
set -euo pipefail

# Prometheus, promtool and Alertmanager (tests/monitoring start them on loopback).
PROM_PACKAGES=(prometheus prometheus-alertmanager)
PROM_COMMANDS=(prometheus promtool prometheus-alertmanager)
prom_gap() {
  local name gap=()
  for name in "${PROM_COMMANDS[@]}"; do command -v "$name" >/dev/null || gap+=("$name"); done
  echo "${gap[*]:-}"
}
pgap=$(prom_gap)
if [[ -n $pgap && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "services: installing ${PROM_PACKAGES[*]} with apt-get (missing: $pgap)"
  pinstall=(apt-get install -y -q --no-install-recommends "${PROM_PACKAGES[@]}")
  DEBIAN_FRONTEND=noninteractive "${pinstall[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "${pinstall[@]}" >/dev/null; } || true
  pgap=$(prom_gap)
fi
if [[ -z $pgap ]]; then
  echo "services: Prometheus and Alertmanager installed"
else
  pmessage="services: Prometheus/Alertmanager is not available: $pgap missing"
  case "${CI:-}" in
    1 | [Tt]rue | TRUE | [Yy]es)
      echo "$pmessage. CI=true requires it." >&2
      exit 1
      ;;
  esac
  echo "$pmessage. The tests that need them will skip." >&2
fi
# Debian's chromium for the browser tests (tests/browser drive it through Playwright; never
# `playwright install`, which downloads a browser).
if ! command -v chromium >/dev/null && [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "services: installing chromium with apt-get"
  cinstall=(apt-get install -y -q --no-install-recommends chromium)
  DEBIAN_FRONTEND=noninteractive "${cinstall[@]}" >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "${cinstall[@]}" >/dev/null; } || true
fi
if command -v chromium >/dev/null; then
  echo "services: chromium installed"
else
  cmessage="services: chromium is not available (apt-get install chromium needs root and apt-get)"
  case "${CI:-}" in
    1 | [Tt]rue | TRUE | [Yy]es)
      echo "$cmessage. CI=true requires it." >&2
      exit 1
      ;;
  esac
  echo "$cmessage. The browser tests will skip." >&2
fi
PACKAGES=(radosgw ceph-mon ceph-osd curl)
COMMANDS=(radosgw ceph-mon ceph-osd monmaptool ceph-authtool ceph radosgw-admin curl)

missing() {
  local name gap=()
  for name in "${COMMANDS[@]}"; do command -v "$name" >/dev/null || gap+=("$name"); done
  echo "${gap[*]:-}"
}

gap=$(missing)
if [[ -z $gap ]]; then
  echo "services: Ceph RGW (S3) installed"
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "services: installing ${PACKAGES[*]} with apt-get (missing: $gap)"
  export DEBIAN_FRONTEND=noninteractive
  install=(apt-get install -y -q --no-install-recommends "${PACKAGES[@]}")
  "${install[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; } || true
  gap=$(missing)
  if [[ -z $gap ]]; then
    echo "services: Ceph RGW (S3) installed"
    exit 0
  fi
  why="apt-get install ${PACKAGES[*]} did not provide them"
elif [[ $(id -u) -ne 0 ]]; then
  why="installing ${PACKAGES[*]} needs root"
else
  why="no apt-get to install ${PACKAGES[*]} with"
fi
message="services: Ceph RGW (S3) is not available: $gap missing; $why"
case "${CI:-}" in
  1 | [Tt]rue | TRUE | [Yy]es)
    echo "$message. CI=true requires it." >&2
    exit 1
    ;;
esac
echo "$message. The tests that need a real S3 endpoint will skip." >&2
