#!/usr/bin/env bash
# Start PostgreSQL and Redis on 127.0.0.1 when they are not already running.
set -euo pipefail

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "Starting PostgreSQL..."
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
  else
    if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    fi
    bindir=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n1)")
    datadir=/var/lib/postgresql/portal-ci
    if [ ! -s "$datadir/PG_VERSION" ]; then
      mkdir -p "$datadir" && chown postgres:postgres "$datadir"
      runuser -u postgres -- "$bindir/initdb" -D "$datadir" -A trust -U postgres >/dev/null
    fi
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
    runuser -u postgres -- "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" \
      -o "-c listen_addresses=127.0.0.1 -p 5432" -w start
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "Starting Redis..."
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.5; done
fi
echo "Redis is up on 127.0.0.1:6379"
