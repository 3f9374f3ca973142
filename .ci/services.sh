# shellcheck shell=bash
# Test services for vidforge: a throw-away PostgreSQL and a moto S3 server.
#
# Source this file, then:
#   start_services   # starts both, exports VIDFORGE_TEST_PG_URL / VIDFORGE_TEST_S3_ENDPOINT
#   stop_services    # stops both and deletes their temp directory (idempotent)
#
# Ports are chosen at run time, servers listen on 127.0.0.1 only. As root the
# PostgreSQL cluster runs as the `postgres` user; as anyone else it runs as you.
# Override the binaries with VIDFORGE_PG_BIN (a postgres bin dir) and
# VIDFORGE_MOTO_SERVER (a moto_server executable).

VF_CI_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_vf_log() { echo "[services] $*" >&2; }

_vf_python() {
  if [[ -x "$VF_CI_ROOT/.venv/bin/python" ]]; then
    echo "$VF_CI_ROOT/.venv/bin/python"
  else
    command -v python3
  fi
}

# Print a TCP port that is free on 127.0.0.1 right now.
vf_free_port() {
  "$(_vf_python)" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

_vf_pg_bin() {
  if [[ -n "${VIDFORGE_PG_BIN:-}" ]]; then echo "$VIDFORGE_PG_BIN"; return; fi
  if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then echo /usr/lib/postgresql/15/bin; return; fi
  local found
  found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [[ -z "$found" ]]; then
    found="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
  fi
  echo "$found"
}

# Run a command as the cluster owner (postgres when we are root, else ourselves).
_vf_as_pg() {
  if [[ "$(id -u)" -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  local bin port i
  bin="$(_vf_pg_bin)"
  if [[ ! -x "$bin/pg_ctl" ]]; then
    _vf_log "no PostgreSQL binaries found (set VIDFORGE_PG_BIN)"; return 1
  fi
  VF_PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/vidforge-pg.XXXXXX")"
  if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || { _vf_log "user postgres does not exist"; return 1; }
    chown postgres: "$VF_PG_DIR"
  fi
  VF_PG_BIN="$bin"
  port="$(vf_free_port)"
  _vf_as_pg "$bin/initdb" -D "$VF_PG_DIR/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C >"$VF_PG_DIR/initdb.log" 2>&1 \
    || { cat "$VF_PG_DIR/initdb.log" >&2; return 1; }
  _vf_as_pg "$bin/pg_ctl" -D "$VF_PG_DIR/data" -l "$VF_PG_DIR/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $VF_PG_DIR -c fsync=off" start >/dev/null \
    || { cat "$VF_PG_DIR/server.log" >&2; return 1; }
  for ((i = 0; i < 60; i++)); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || { _vf_log "PostgreSQL did not become ready"; return 1; }
  "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres vidforge_test
  VF_PG_PORT="$port"
  export VIDFORGE_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/vidforge_test"
  _vf_log "PostgreSQL up: $VIDFORGE_TEST_PG_URL (data in $VF_PG_DIR)"
}

start_moto() {
  local exe port i
  exe="${VIDFORGE_MOTO_SERVER:-$VF_CI_ROOT/.venv/bin/moto_server}"
  if [[ ! -x "$exe" ]]; then
    _vf_log "moto_server not found at $exe (run 'make venv' first)"; return 1
  fi
  port="$(vf_free_port)"
  VF_MOTO_LOG="$(mktemp "${TMPDIR:-/tmp}/vidforge-moto.XXXXXX.log")"
  "$exe" -H 127.0.0.1 -p "$port" >"$VF_MOTO_LOG" 2>&1 &
  VF_MOTO_PID=$!
  for ((i = 0; i < 120; i++)); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then break; fi
    kill -0 "$VF_MOTO_PID" 2>/dev/null || { cat "$VF_MOTO_LOG" >&2; return 1; }
    sleep 0.25
  done
  curl -s -o /dev/null "http://127.0.0.1:$port/" || { _vf_log "moto did not become ready"; return 1; }
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
  export VIDFORGE_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  _vf_log "moto S3 up: $VIDFORGE_TEST_S3_ENDPOINT (pid $VF_MOTO_PID)"
}

stop_postgres() {
  if [[ -n "${VF_PG_DIR:-}" && -d "$VF_PG_DIR" ]]; then
    if [[ -f "$VF_PG_DIR/data/postmaster.pid" ]]; then
      _vf_as_pg "$VF_PG_BIN/pg_ctl" -D "$VF_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$VF_PG_DIR"
    _vf_log "PostgreSQL stopped"
  fi
  VF_PG_DIR=""
  unset VIDFORGE_TEST_PG_URL
}

stop_moto() {
  if [[ -n "${VF_MOTO_PID:-}" ]]; then
    kill "$VF_MOTO_PID" 2>/dev/null || true
    wait "$VF_MOTO_PID" 2>/dev/null || true
    _vf_log "moto stopped"
  fi
  [[ -n "${VF_MOTO_LOG:-}" ]] && rm -f "$VF_MOTO_LOG"
  VF_MOTO_PID=""
  VF_MOTO_LOG=""
  unset VIDFORGE_TEST_S3_ENDPOINT
}

# Start PostgreSQL and moto; on failure stop whatever started and return 1.
start_services() {
  start_postgres && start_moto || { stop_services; return 1; }
}

stop_services() {
  stop_moto
  stop_postgres
}
