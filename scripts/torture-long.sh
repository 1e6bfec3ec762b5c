#!/usr/bin/env bash
# Long torture: loop `raftledger torture` over seeds for HOURS (default 4), stopping at
# the first failing seed unless KEEP_GOING=1. Every run's output goes to LOGDIR/seed-N.log;
# failures are listed in LOGDIR/failures.txt with the command that replays them.
#
#   scripts/torture-long.sh [HOURS] [FIRST_SEED]
#   env: DURATION (s per run, default 60), FAULTS (default all), DURABILITY (fsync),
#        REPLICAS (3), LOGDIR (./torture-logs), KEEP_GOING (0)
set -u
HOURS=${1:-4}
SEED=${2:-$RANDOM$RANDOM}
DURATION=${DURATION:-60}
FAULTS=${FAULTS:-all}
DURABILITY=${DURABILITY:-fsync}
REPLICAS=${REPLICAS:-3}
LOGDIR=${LOGDIR:-./torture-logs}
KEEP_GOING=${KEEP_GOING:-0}
cd "$(dirname "$0")/.." || exit 2
mkdir -p "$LOGDIR"
npm run build:ts >/dev/null || exit 2
END=$(( $(date +%s) + $(printf '%.0f' "$(echo "$HOURS * 3600" | bc)") ))
runs=0; fails=0
while [ "$(date +%s)" -lt "$END" ]; do
  log="$LOGDIR/seed-$SEED.log"
  cmd="node dist/cli/main.js torture --seed $SEED --duration $DURATION --faults $FAULTS --durability $DURABILITY --replicas $REPLICAS"
  # Bound each run: the duration plus generous time to start, heal, converge and check.
  timeout --kill-after=30 $(( DURATION + 300 )) $cmd >"$log" 2>&1
  rc=$?
  runs=$((runs + 1))
  summary=$(grep -E '^  operations' "$log" | head -1)
  if [ $rc -ne 0 ]; then
    fails=$((fails + 1))
    echo "seed $SEED: FAIL (exit $rc) $summary -- replay: $cmd" | tee -a "$LOGDIR/failures.txt"
    [ "$KEEP_GOING" = 1 ] || break
  else
    echo "seed $SEED: ok $summary"
    rm -f "$log"
  fi
  SEED=$((SEED + 1))
done
echo "runs $runs, failures $fails (logs in $LOGDIR)"
[ $fails -eq 0 ]
