#!/bin/sh
# Gateway mode with two local installations: one plays Tencent Cloud (the upstream, with the company's key), the
# other is the company's gateway, where a team calls with a key of its own. Run from the project directory.
set -e
start() {
  out=$(mktemp)
  npx sanyao serve --ephemeral > "$out" &
  until grep -q '"sanyao":"ready"' "$out"; do
    kill -0 $! 2>/dev/null || { echo "sanyao did not start" >&2; exit 1; }
    sleep 0.1
  done
  head -n 1 "$out"
  rm -f "$out"
}
field() { echo "$1" | node -e 'let s="";process.stdin.on("data",(c)=>s+=c).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$2"; }
upstream=$(start)
gateway=$(start)
pids="$(field "$upstream" pid) $(field "$gateway" pid)"
trap 'kill $pids; for p in $pids; do while kill -0 $p 2>/dev/null; do sleep 0.1; done; done' EXIT
up_data=$(field "$upstream" dataDir)
gw_data=$(field "$gateway" dataDir)

# The company's key is the upstream's demo key, piped in (`--secret-key -`) to keep it out of the process list;
# the gateway encrypts fields to the upstream's public keys.
keys=$(npx sanyao encryption public-keys --json --data "$up_data")
field "$upstream" secretKey | npx sanyao upstream set --data "$gw_data" --url "$(field "$upstream" endpoint)" \
  --secret-id "$(field "$upstream" secretId)" --secret-key - \
  --rsa-public-key "$(field "$keys" rsa)" --sm2-public-key "$(field "$keys" sm2)"

# A team: an account of the gateway, with its own key and a monthly budget of 100 CNY.
team=$(npx sanyao accounts create --data "$gw_data" --name team-a --json)
team_id=$(field "$team" accountId)
npx sanyao accounts set "$team_id" --data "$gw_data" --monthly-budget 100 > /dev/null
key=$(npx sanyao keys create --data "$gw_data" --account "$team_id" --json)
sleep 1 # a running gateway sees the new upstream within a second

npx sanyao verify --endpoint "$(field "$gateway" endpoint)" --secret-id "$(field "$key" secretId)" \
  --secret-key "$(field "$key" secretKey)" --phone 13800001234 --name 张三 --idcard 110105199003072143

# What the upstream saw: the company's key, the fields encrypted; and the team's cost at the gateway.
npx sanyao requests --endpoint "$(field "$upstream" endpoint)" --token "$(field "$upstream" adminToken)"
npx sanyao usage --data "$gw_data" --account "$team_id"
