#!/bin/sh
# How a test suite in any language starts sanyao: a throw-away server over a temporary data directory, ready
# once its first stdout line is out; stopping it (SIGTERM to the pid in that line) removes the directory.
# Run from the project directory.
set -e
out=$(mktemp)
npx sanyao serve --ephemeral > "$out" &
until grep -q '"sanyao":"ready"' "$out"; do
  kill -0 $! 2>/dev/null || { echo "sanyao did not start" >&2; exit 1; }
  sleep 0.1
done
field() { head -n 1 "$out" | node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
endpoint=$(field endpoint)
secret_id=$(field secretId)
secret_key=$(field secretKey)
pid=$(field pid)
trap 'kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; rm -f "$out"' EXIT

# the suite runs here, against $endpoint with the demo key and records; for example:
npx sanyao verify --endpoint "$endpoint" --secret-id "$secret_id" --secret-key "$secret_key" \
  --phone 13800001234 --name 张三 --idcard 110105199003072143
