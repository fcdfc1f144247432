#!/usr/bin/env bash
# After a ../shared/bench run against IncidentBot on PostgreSQL: is every acknowledged request in the bot's database?
# Compares the 2xx answers the load generator counted (acked_total, incl. warm-up and preflight) with the war-room
# messages and notes stored. Start from a fresh bot database, or the rows of earlier runs count too.
#   scripts/bench-count-check.sh RESULTS_DIR [CHANNEL]
# Connection: $BOT_DATABASE_URL (default postgres://bot:bot@127.0.0.1:5432/incidentbot), read with psql.
set -euo pipefail

results=${1:?usage: $0 RESULTS_DIR [CHANNEL]}
channel=${2:-C0BENCH01}
url=${BOT_DATABASE_URL:-postgres://bot:bot@127.0.0.1:5432/incidentbot}
[[ $channel =~ ^[A-Z0-9]+$ ]] || { echo "unexpected channel id: $channel" >&2; exit 2; }

acked() {
  local file="$results/incidentbot__$1.json"
  [[ -f $file ]] || { echo 0; return; }
  node -e 'console.log(require(process.argv[1]).acked_total ?? 0)' "$(realpath "$file")"
}

stored() { psql "$url" -Atqc "$1"; }

status=0
check() {
  local what=$1 acked=$2 stored=$3
  if (( stored >= acked )); then verdict=ok; else verdict="LOST ACKNOWLEDGED WRITES"; status=1; fi
  printf '%-9s %8d acknowledged, %8d stored (%s)\n' "$what" "$acked" "$stored" "$verdict"
}

check events "$(acked events)" "$(stored "SELECT count(*) FROM timeline_entries WHERE kind = 'message' AND source_channel = '$channel'")"
check commands "$(acked commands)" "$(stored "SELECT count(*) FROM timeline_entries t JOIN war_rooms w ON w.incident_id = t.incident_id
  WHERE t.kind = 'note' AND w.channel = '$channel' AND t.text LIKE 'bench note %'")"
exit $status
