#!/usr/bin/env bash
# The original D-TA's clients, as a user of the original drives a node: curl and jq against a
# multi node started with `npx milagro init` / `npx milagro daemon`, for each plugin, through
# identity create/get/list, order → secret → list → get — with the original's field names, its
# misspelled sort key (dateCreatedDsc), "" for "no beneficiary", and the order document as the
# original answered it (a JSON string whose OrderPart4.Secret is the secret the redemption gave).
# Run by test/e2e/compat/original-clients.test.ts; needs bash, curl, jq and the project's Node 24
# first on PATH (npm test puts it there). Prints one line per check; exits non-zero on the first
# failure, with the answer that failed.
set -euo pipefail

root=$(mktemp -d)
pids=()
cleanup () {
  # the daemons themselves (npx runs each as its child, so killing npx alone would orphan them)
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  wait 2>/dev/null || true
  rm -rf "$root"
}
trap cleanup EXIT

fail () { echo "FAIL: $*" >&2; exit 1; }
check () { # check "what" jq-filter json
  if [ "$(jq -r "$2" <<<"$3")" != "true" ]; then fail "$1: $2 on $3"; fi
  echo "ok   $1"
}
post () { curl -sS --fail-with-body -X POST "$1" -H 'content-type: application/json' -d "$2"; }
get () { curl -sS --fail-with-body "$1"; }

start_node () { # start_node plugin → sets url to the node's API URL
  local home="$root/$1"
  export MILAGRO_HOME="$home" MILAGRO_HTTP_LISTENADDR=127.0.0.1:0 MILAGRO_HTTP_METRICSLISTENADDR= MILAGRO_IPFS_LISTENADDR=/ip4/127.0.0.1/tcp/0
  npx milagro init --nodename "orig-$1" --service "$1" >/dev/null
  npx milagro daemon >"$home.out" 2>"$home.log" &
  pids+=($!)
  url=''
  for _ in $(seq 1 600); do
    local line
    line=$(grep -F '"milagro node listening"' "$home.log" 2>/dev/null | head -n 1 || true)
    if [ -n "$line" ]; then
      url=$(jq -r .address <<<"$line")
      pids+=("$(jq -r .pid <<<"$line")")
      return 0
    fi
    sleep 0.1
  done
  fail "the $1 node did not start: $(tail -n 5 "$home.log")"
}

for plugin in milagro safeguardsecret bitcoinwallet; do
  echo "── $plugin"
  start_node "$plugin"

  status=$(get "$url/v1/status")
  check "status fields" '.application != "" and .apiVersion == "v1" and (.nodeCID | startswith("Qm")) and .plugin == "'"$plugin"'" and .nodeType == "multi" and (.timeStamp | type) == "string"' "$status"

  ident=$(post "$url/v1/identity" '{"name":"alice"}')
  check "identity create answers idDocumentCID" '.idDocumentCID | startswith("Qm")' "$ident"
  cid=$(jq -r .idDocumentCID <<<"$ident")
  shown=$(get "$url/v1/identity/$cid")
  check "identity get fields" '.idDocumentCID == "'"$cid"'" and .authenticationReference == "alice" and (.beneficiaryECPublicKey | test("^0[23][0-9a-f]{64}$")) and (.blsPublicKey | length) == 96 and (.timestamp | type) == "number"' "$shown"
  ids=$(get "$url/v1/identity?page=0&perPage=10&sortBy=dateCreatedDsc")
  check "identity list, newest first with dateCreatedDsc" '.idDocumentList[0].idDocumentCID == "'"$cid"'"' "$ids"

  case "$plugin" in
    milagro) order_ext='{}' ; secret_ext='{}' ;;
    safeguardsecret) order_ext='{"plainText":"The Qu1ck Br0wn F0x"}' ;;
    bitcoinwallet) order_ext='{"coin":"0"}' ; secret_ext='{}' ;;
  esac
  placed=$(post "$url/v1/order" '{"beneficiaryIDDocumentCID":"","extension":'"$order_ext"'}')
  check "order answers reference, commitment, createdAt (Unix seconds)" '(.orderReference | length) > 0 and (.commitment | test("^0[23][0-9a-f]{64}$")) and (.createdAt | . > 1500000000 and . < 5000000000)' "$placed"
  ref=$(jq -r .orderReference <<<"$placed")
  if [ "$plugin" = safeguardsecret ]; then
    check "safeguardsecret answers cypherText, v, t" '.extension | (.cypherText | length) > 0 and (.v | length) == 130 and (.t | length) == 24' "$placed"
    secret_ext=$(jq -c .extension <<<"$placed")
  fi
  if [ "$plugin" = bitcoinwallet ]; then check "bitcoinwallet answers a mainnet address" '.extension.address | startswith("1")' "$placed"; fi

  redeemed=$(post "$url/v1/order/secret" '{"orderReference":"'"$ref"'","beneficiaryIDDocumentCID":"","extension":'"$secret_ext"'}')
  check "secret answers secret, commitment, orderReference" '(.secret | test("^[0-9a-f]{64}$")) and .orderReference == "'"$ref"'" and (.commitment | test("^0[23][0-9a-f]{64}$"))' "$redeemed"
  secret=$(jq -r .secret <<<"$redeemed")
  if [ "$plugin" = safeguardsecret ]; then check "safeguardsecret gives the text back" '.extension.plainText == "The Qu1ck Br0wn F0x"' "$redeemed"; fi

  second=$(post "$url/v1/order" '{"extension":'"$order_ext"'}')
  ref2=$(jq -r .orderReference <<<"$second")
  listed=$(get "$url/v1/order?page=0&perPage=2&sortBy=dateCreatedDsc")
  check "order list with the original's dateCreatedDsc: newest first" '.orderReference == ["'"$ref2"'", "'"$ref"'"]' "$listed"
  asc=$(get "$url/v1/order?page=0&perPage=2&sortBy=dateCreatedAsc")
  check "order list with dateCreatedAsc: oldest first" '.orderReference == ["'"$ref"'", "'"$ref2"'"]' "$asc"

  got=$(get "$url/v1/order/$ref")
  check "order get answers orderCID and order (a JSON string)" '(.orderCID | startswith("Qm")) and (.order | type) == "string"' "$got"
  doc=$(jq -r .order <<<"$got")
  check "order document in the original's keys" '.Reference == "'"$ref"'" and .Type == "Safeguard_Secret" and (.PrincipalCID | startswith("Qm")) and .BeneficiaryCID == "" and (.Timestamp | . > 1500000000 and . < 5000000000) and (.Coin | type) == "number"' "$doc"
  check "OrderPart2: commitment key, previous CID, Timestamp" '(.OrderPart2.CommitmentPublicKey | test("^0[23][0-9a-f]{64}$")) and (.OrderPart2.PreviousOrderCID | startswith("Qm")) and (.OrderPart2.Timestamp | . > 1500000000 and . < 5000000000)' "$doc"
  check "OrderPart3: previous CID is part 2, Redemption, BeneficiaryEncryptedData" '.OrderPart3.PreviousOrderCID == .chain.orderPart2CID and (.OrderPart3.Redemption | type) == "string" and (.OrderPart3.BeneficiaryEncryptedData | type) == "string"' "$doc"
  check "OrderPart4.Secret is the secret the redemption gave" '.OrderPart4.Secret == "'"$secret"'" and .OrderPart4.PreviousOrderCID == .chain.orderPart3CID' "$doc"
  unredeemed=$(get "$url/v1/order/$ref2" | jq -r .order)
  check "an unredeemed order has no OrderPart4" '.OrderPart4 == null and .OrderPart3 == null' "$unredeemed"
done
echo "all original-client flows passed"
