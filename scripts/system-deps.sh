#!/usr/bin/env bash
# Installs and starts the real components the test suite uses (never mocks): OpenLDAP slapd,
# PostgreSQL 15 and Chromium. Debian packages; needs root (CI and the dev machines run as root).
set -euo pipefail

need=()
command -v /usr/sbin/slapd >/dev/null 2>&1 || need+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need+=(ldap-utils)
command -v /usr/bin/chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql-common)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the evidence pack's verify.py checks signatures with it

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${need[*]}; run as root or install them: apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "system-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

# slapd's package starts a system daemon on :389; the tests start their own on free ports.
if pgrep -x slapd >/dev/null 2>&1 && [ -f /etc/init.d/slapd ]; then
  service slapd stop >/dev/null 2>&1 || true
fi

# PostgreSQL: the system cluster 15/main, started when it is not running.
if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 *main'; then
  pg_createcluster 15 main >/dev/null
fi
if ! pg_lsclusters -h | awk '$1=="15" && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster 15 main start
fi
echo "system-deps: slapd, ldap-utils, chromium and PostgreSQL 15 are ready" >&2
