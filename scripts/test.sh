#!/usr/bin/env bash
# Builds and runs every test in the solution, PostgreSQL included.
#
# Unless INCIDENTBOT_TEST_POSTGRES already names a server, this starts a throwaway PostgreSQL on
# loopback (installing Debian's `postgresql` package first when it is missing and we are root),
# points the tests at it and removes it afterwards. Debian's `chromium` is installed the same way for
# the dashboard's browser tests, Node.js (with npm) for the Adaptive Card parser and the Agents Playground
# tests, and PgBouncer for the fault tests that run three instances through it. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test.sh] %s\n' "$*" >&2; }

pg_bin_dir() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_postgres() {
  local bin
  bin=$(pg_bin_dir)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing PostgreSQL from apt"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq postgresql >/dev/null
      bin=$(pg_bin_dir)
    else
      log "PostgreSQL server binaries not found: run 'sudo apt-get install postgresql' or set INCIDENTBOT_TEST_POSTGRES"
      exit 1
    fi
  fi

  PG_DIR=$(mktemp -d /tmp/incidentbot-pg.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root; the package creates the postgres user.
    chown postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi

  local port=${INCIDENTBOT_TEST_PG_PORT:-54329}
  while ! port_free "$port"; do port=$((port + 1)); done

  "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null
  PG_STOP=("${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop)
  export INCIDENTBOT_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

cleanup() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}
trap cleanup EXIT

# The dashboard's browser tests drive Debian's Chromium (Playwright's own browser download is not used).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ]; then
    log "installing Chromium from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
  else
    log "chromium not found: run 'sudo apt-get install chromium' (the browser tests need /usr/bin/chromium)"
    exit 1
  fi
}

# Microsoft's adaptivecards parser and the Agents Playground are npm packages the Teams tests install and run.
ensure_node() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return
  if [ "$(id -u)" = 0 ]; then
    log "installing Node.js from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq nodejs npm >/dev/null
  else
    log "node/npm not found: run 'sudo apt-get install nodejs npm' (the Teams card and Playground tests need them)"
    exit 1
  fi
}

# The fault tests start their own PostgreSQL (max_connections=100) and PgBouncer (transaction pooling) in front of it.
ensure_pgbouncer() {
  [ -x /usr/sbin/pgbouncer ] && return
  if [ "$(id -u)" = 0 ]; then
    log "installing PgBouncer from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq pgbouncer >/dev/null
    # Only the binary is used; the packaged service is not needed.
    systemctl disable --now pgbouncer >/dev/null 2>&1 || true
  else
    log "pgbouncer not found: run 'sudo apt-get install pgbouncer' (the three-instance fault test runs through it)"
    exit 1
  fi
}

ensure_chromium
ensure_node
ensure_pgbouncer
if [ -z "${INCIDENTBOT_TEST_POSTGRES:-}" ]; then
  start_postgres
fi

results=$(mktemp)
set +e
dotnet build IncidentBot.sln --nologo -v q 2>&1 | tee "$results"
status=${PIPESTATUS[0]}
set -e

# Every test project, three at a time: the longest first (as measured on this machine), and whichever finishes takes
# the next, so the slots end close together whatever each project costs on the day. The fault tests hold their
# recovery times to targets on the wall clock while they mostly wait on real processes: they run at normal priority
# and everything else at a lower one (nice), so the others use the CPU the fault tests leave idle without stretching
# their recoveries. Projects not in the list run after those in it. Each project's output is shown when it ends. A
# test that hangs fails the run after 5 minutes instead of stalling it.
longest_first=(FaultTests Scheduling.Tests Teams.Tests Tests Slack.Tests Storage.Tests Paging.Tests Core.Tests Teams.PlaygroundTests)
slots=3
wall_clock_bound=(tests/IncidentBot.FaultTests)

show_finished() {
  local status_file project
  for status_file in "$runs"/*.status; do
    [ -e "$status_file" ] || continue
    project=${status_file%.status}
    tee -a "$results" <"$project.log"
    [ "$(cat "$status_file")" -eq 0 ] || status=1
    rm -f "$status_file"
  done
}

if [ "$status" -eq 0 ]; then
  projects=()
  for name in "${longest_first[@]}"; do
    [ -d "tests/IncidentBot.$name" ] && projects+=("tests/IncidentBot.$name")
  done
  for project in tests/*/; do
    project=${project%/}
    [ -n "$(ls "$project"/*.csproj 2>/dev/null)" ] || continue
    case " ${projects[*]} " in *" $project "*) continue ;; esac
    case "$project" in tests/IncidentBot.TestKit | tests/IncidentBot.Benchmarks) continue ;; esac
    projects+=("$project")
  done

  runs=$(mktemp -d)
  running=0
  for project in "${projects[@]}"; do
    if [ "$running" -ge "$slots" ]; then
      wait -n || true
      running=$((running - 1))
      show_finished
    fi
    name=$(basename "$project")
    priority=(nice -n 10)
    case " ${wall_clock_bound[*]} " in *" $project "*) priority=() ;; esac
    (
      set +e
      "${priority[@]}" dotnet test "$project" --no-build --nologo --blame-hang-timeout 5m --blame-hang-dump-type none "$@" >"$runs/$name.log" 2>&1
      echo $? >"$runs/$name.status.part"
      mv "$runs/$name.status.part" "$runs/$name.status"
    ) &
    running=$((running + 1))
  done
  wait || true
  show_finished
  rm -rf "$runs"
fi

# One closing line for the whole run, summed over the test assemblies.
awk '
  /(Passed|Failed)! +- +Failed:/ {
    gsub(/,/, "");
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:") f += $(i + 1);
      if ($i == "Passed:") p += $(i + 1);
      if ($i == "Skipped:") s += $(i + 1);
    }
  }
  END {
    # A build error runs no tests but must not read as a clean run.
    if (status != 0 && f == 0) f = 1;
    printf "tests: %d passed, %d failed, %d skipped\n", p, f, s
  }
' status="$status" "$results"
rm -f "$results"
if [ "$status" -ne 0 ]; then
  echo "dotnet test exited with status $status (a build error or a failed or crashed test run)" >&2
fi
exit "$status"
