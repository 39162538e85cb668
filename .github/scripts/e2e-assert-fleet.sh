#!/usr/bin/env bash
# Usage: e2e-assert-fleet.sh EXPECTED_VERSION PINNED_NAME PINNED_VERSION
#
# Asserts, after a `pulumi up` of $STACK, that the stack outputs list exactly the instances of
# instances/, and that each one answers through the proxy on its own port: /api/health is 200 and
# /api/version reports EXPECTED_VERSION, except PINNED_NAME, which must report PINNED_VERSION.
# Prints every mismatch, then fails.
set -euo pipefail

expected="$1" pinned="$2" pinned_version="$3"
: "${STACK:?STACK is not set}"

want_names="$(node .github/scripts/fleet-instances.mjs)"
outputs="$(pulumi stack output instances --json --stack "$STACK")"
got_names="$(jq -r 'keys[]' <<<"$outputs" | sort)"
if [ "$want_names" != "$got_names" ]; then
  echo "::error::stack output 'instances' lists [$(echo $got_names)], the instance files [$(echo $want_names)]"
  exit 1
fi
grep -qx "$pinned" <<<"$want_names" || { echo "::error::the pinned instance $pinned is not deployed"; exit 1; }

failures=0
for name in $want_names; do
  want="$expected"
  [ "$name" = "$pinned" ] && want="$pinned_version"
  url="$(jq -r --arg n "$name" '.[$n].url' <<<"$outputs")"
  # The proxy reloads its routes right after the update; give it a few seconds.
  if ! curl --fail --silent --show-error --retry 15 --retry-delay 2 --retry-all-errors \
      --max-time 5 -o /dev/null "$url/api/health"; then
    echo "::error::$name: $url/api/health did not answer 200"
    failures=$((failures + 1))
    continue
  fi
  got="$(curl --fail --silent --show-error --max-time 5 "$url/api/version" | jq -r .version)"
  output_version="$(jq -r --arg n "$name" '.[$n].version' <<<"$outputs")"
  if [ "$got" != "$want" ] || [ "$output_version" != "$want" ]; then
    echo "::error::$name: $url/api/version reports $got, stack output version $output_version, expected $want"
    failures=$((failures + 1))
  else
    echo "ok: $name at $url reports $got"
  fi
done
[ "$failures" -eq 0 ] || { echo "::error::$failures instance(s) failed"; exit 1; }
