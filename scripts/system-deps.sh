#!/usr/bin/env bash
# Installs and starts the real components the test suite uses (never mocks): OpenLDAP slapd,
# PostgreSQL 15, Chromium, and the git servers and directory behind which Gatekeeper runs
# (gitolite3 over a private sshd, Apache httpd with git-http-backend, a Samba AD DC); the suite starts
# its own throwaway instances of those on loopback, so their system services are stopped here. Debian packages; needs root (CI and the dev machines run as root).
set -euo pipefail

need=()
lean=()  # installed without Recommends (libnss-winbind & co. would touch nsswitch.conf)
command -v /usr/sbin/slapd >/dev/null 2>&1 || need+=(slapd)
command -v ldapsearch >/dev/null 2>&1 || need+=(ldap-utils)
command -v /usr/bin/chromium >/dev/null 2>&1 || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -x /usr/bin/gitolite ] || lean+=(gitolite3)
[ -x /usr/sbin/sshd ] || lean+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || lean+=(openssh-client)
[ -x /usr/sbin/apache2 ] || lean+=(apache2)
[ -f /usr/lib/apache2/modules/mod_authnz_ldap.so ] || lean+=(apache2-bin)
[ -x /usr/sbin/samba ] || lean+=(samba-ad-dc)
command -v samba-tool >/dev/null 2>&1 || lean+=(samba)
[ -d /usr/share/samba/setup ] || lean+=(samba-ad-provision)  # a Recommends; provisioning needs it
# Hooks run as the git server's user (gitolite's, www-data), which may not execute a Python that
# lives in root's home: Debian's /usr/bin/python3 is readable by everyone.
[ -x /usr/bin/python3 ] || lean+=(python3)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql-common)
command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the evidence pack's verify.py checks signatures with it

if [ $((${#need[@]} + ${#lean[@]})) -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "system-deps: missing ${need[*]} ${lean[*]}; run as root or install them: apt-get install ${need[*]} ${lean[*]}" >&2
    exit 1
  fi
  echo "system-deps: installing ${need[*]} ${lean[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Keep package scripts from starting sshd, apache2, samba, smbd, nmbd, winbind or slapd as system
  # daemons (they would take :22, :80, :389, :445): the tests run their own on loopback. An existing
  # policy-rc.d (containers have one) is left as it is.
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  [ ${#need[@]} -eq 0 ] || apt-get install -y -qq "${need[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

# Any of these daemons that runs anyway (installed before, or started at boot) is stopped and kept
# from starting at boot; the tests never use the system instances.
for svc in ssh apache2 samba-ad-dc smbd nmbd winbind; do
  if [ -f "/etc/init.d/$svc" ]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    else
      service "$svc" stop >/dev/null 2>&1 || true
    fi
  fi
done
# sshd refuses to start without its privilege-separation directory (normally made by the unit).
mkdir -p /run/sshd && chmod 755 /run/sshd

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
echo "system-deps: slapd, ldap-utils, chromium, PostgreSQL 15, gitolite3, sshd, apache2 and samba are ready" >&2
