#!/usr/bin/env bash
# Starts the local PostgreSQL and Redis the tests use, when they are not running already.
set -uo pipefail
say() { printf '[services] %s\n' "$*"; }

if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || say "could not start PostgreSQL"
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -q && say "PostgreSQL is up" || { say "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }

if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || say "could not start Redis"
  for _ in $(seq 1 10); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && say "Redis is up" || say "Redis is not reachable (tests that need it will fail)"
