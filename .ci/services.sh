#!/usr/bin/env bash
# Make sure the services the gateway and its tests need are installed and running.
#   services.sh redis-binary  redis-server installed (gateway up starts it itself)
#   services.sh redis         Redis answering on 127.0.0.1:6379
#   services.sh browser       Debian's chromium installed (the page tests drive it headless)
#   services.sh all           dovecot, chromium and pango (PDF) installed, Redis and PostgreSQL
#                             running; prints an admin URL for the tests
# Everything but that URL goes to stderr. Installs with apt-get (run as root on Debian).
set -euo pipefail
log() { echo "services: $*" >&2; }
apt_install() {
  log "installing $*"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >&2; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

redis_binary() { command -v redis-server >/dev/null || apt_install redis-server; }

# The IMAP tests start their own dovecot in a temp dir: only the binary is needed.
dovecot_binary() { [ -x /usr/sbin/dovecot ] || apt_install dovecot-imapd; }

# Fonts too: a bare Debian renders pages (and their screenshots) as boxes without them.
browser_binary() { [ -x /usr/bin/chromium ] || apt_install chromium fonts-dejavu-core; }

# `gateway dossier` prints with WeasyPrint, which lays out text with pango (and its fonts).
pdf_libs() {
  dpkg -s libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null 2>&1 ||
    apt_install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
}

redis_up() {
  redis_binary
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return; fi
  log "starting redis-server"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli ping 2>/dev/null | grep -q PONG && return; sleep 0.1; done
  log "redis-server did not start"; exit 1
}

postgres_up() {
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    log "starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
    pg_isready -q -h 127.0.0.1 -p 5432 || { log "PostgreSQL did not start"; exit 1; }
  fi
  # This machine's image trusts local TCP; a stock Debian asks for a password: then use
  # a role of our own with one (created through the postgres OS account).
  if psql "postgresql://postgres@127.0.0.1:5432/postgres" -qtAc 'select 1' >/dev/null 2>&1; then
    echo "postgresql://postgres@127.0.0.1:5432/postgres"; return
  fi
  su postgres -c "psql -qtAc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='gateway_test')
    THEN CREATE ROLE gateway_test LOGIN CREATEDB PASSWORD 'gateway_test'; END IF; END \\\$\\\$\"" >&2
  echo "postgresql://gateway_test:gateway_test@127.0.0.1:5432/postgres"
}

case "${1:-all}" in
  redis-binary) redis_binary ;;
  redis) redis_up ;;
  browser) browser_binary ;;
  all) dovecot_binary; browser_binary; pdf_libs; redis_up; postgres_up ;;
  *) echo "usage: $0 redis-binary|redis|browser|all" >&2; exit 2 ;;
esac
