#!/usr/bin/env bash
# The way people mint short-lived R2 credentials by hand today, timed as the baseline of
# `npm run bench`: create a bucket-scoped child token with curl, derive the S3 secret with
# sha256sum, wait the commonly advised fixed 60 s (or poll S3 instead), use the credentials for one
# PUT, then delete the token. Same policy and resource key as the action's token mode
# (docs/how-it-works.md).
#
# Environment (required unless a default is given):
#   CLOUDFLARE_API_TOKEN  a token allowed to create account API tokens
#   ACCOUNT_ID            32 hex characters
#   BUCKET                the bucket the child token is scoped to
#   API                   e.g. https://api.cloudflare.com/client/v4
#   S3                    e.g. https://$ACCOUNT_ID.r2.cloudflarestorage.com
#   JURISDICTION          default (or eu, us, fedramp)
#   BASELINE_WAIT         sleep (default): sleep BASELINE_SLEEP_S, then PUT once;
#                         poll: PUT every BASELINE_POLL_S s until S3 accepts it (BASELINE_POLL_MAX tries)
#   BASELINE_SLEEP_S      default 60 ("wait a minute before using a new token")
#   BASELINE_POLL_S       default 1
#   BASELINE_POLL_MAX     default 120
#
# Prints one JSON line on stdout: {"wait", "created_at_ms", "ready_at_ms", "deleted_at_ms", "puts",
# "put_status", "put_client"} (times in Unix epoch milliseconds), and "baseline: waiting …" on
# stderr once the token exists. Exits 1 if S3 never accepted the PUT (after deleting the token), 3
# if curl, jq or sha256sum is missing (or neither curl --aws-sigv4 nor /usr/bin/aws is there).
set -euo pipefail

for tool in curl jq sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "baseline: $tool is not installed" >&2
    exit 3
  }
done
: "${CLOUDFLARE_API_TOKEN:?}" "${ACCOUNT_ID:?}" "${BUCKET:?}" "${API:?}" "${S3:?}"
JURISDICTION=${JURISDICTION:-default}
WAIT=${BASELINE_WAIT:-sleep}
SLEEP_S=${BASELINE_SLEEP_S:-60}
POLL_S=${BASELINE_POLL_S:-1}
POLL_MAX=${BASELINE_POLL_MAX:-120}
case $WAIT in sleep | poll) ;; *)
  echo "baseline: BASELINE_WAIT must be sleep or poll, not $WAIT" >&2
  exit 2
  ;;
esac

# Epoch milliseconds from bash's own clock (no fork).
now_ms() {
  local t=$EPOCHREALTIME
  local frac=${t#*.}000
  echo "${t%.*}${frac:0:3}"
}

# The S3 client: curl signs requests itself since 7.75 (--aws-sigv4); else the AWS CLI.
if [[ $(curl --help all 2>/dev/null || true) == *--aws-sigv4* ]]; then
  PUT_CLIENT=curl
elif [[ -x /usr/bin/aws ]]; then
  PUT_CLIENT=aws
else
  echo "baseline: this curl has no --aws-sigv4 and /usr/bin/aws is missing" >&2
  exit 3
fi

# 1. Create the child token: Workers R2 Storage Bucket Item Write on the one bucket, for one hour.
GROUP_ID=2efd5506f9c8494dacb1fa10a3e7d5b6
NAME="baseline by-hand $(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
EXPIRES=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
CHILD=$(curl -sS --fail-with-body -X POST "$API/accounts/$ACCOUNT_ID/tokens" \
  -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN" \
  -H "Content-Type: application/json" \
  --data @- <<JSON
{
  "name": "$NAME",
  "policies": [
    {
      "effect": "allow",
      "permission_groups": [{ "id": "$GROUP_ID" }],
      "resources": { "com.cloudflare.edge.r2.bucket.${ACCOUNT_ID}_${JURISDICTION}_${BUCKET}": "*" }
    }
  ],
  "expires_on": "$EXPIRES"
}
JSON
)
CREATED_AT=$(now_ms)
{
  read -r TOKEN_ID
  read -r TOKEN_VALUE
} < <(jq -er '.result.id, .result.value' <<<"$CHILD")

# 2. Derive the S3 key pair: Access Key ID = token id, Secret = SHA-256 (hex) of the token value.
ACCESS_KEY_ID=$TOKEN_ID
SECRET_ACCESS_KEY=$(printf %s "$TOKEN_VALUE" | sha256sum | cut -d' ' -f1)

# 3. Use it: one PUT of a small object; prints the HTTP status.
KEY="baseline/$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
put() {
  if [[ $PUT_CLIENT == curl ]]; then
    curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:auto:s3" \
      --user "$ACCESS_KEY_ID:$SECRET_ACCESS_KEY" -H "Content-Type: text/plain" \
      --data-binary "written by the baseline" "$S3/$BUCKET/$KEY" || echo 000
  elif printf 'written by the baseline' |
    AWS_ACCESS_KEY_ID=$ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY AWS_SESSION_TOKEN='' \
      AWS_REGION=auto AWS_DEFAULT_REGION=auto \
      /usr/bin/aws s3 cp - "s3://$BUCKET/$KEY" --endpoint-url "$S3" --only-show-errors >/dev/null 2>&1; then
    echo 200
  else
    echo 403
  fi
}

PUTS=0
STATUS=000
if [[ $WAIT == sleep ]]; then
  echo "baseline: waiting (sleep $SLEEP_S s)" >&2
  sleep "$SLEEP_S"
  PUTS=1
  STATUS=$(put)
else
  echo "baseline: waiting (PUT every $POLL_S s until accepted)" >&2
  while ((PUTS < POLL_MAX)); do
    PUTS=$((PUTS + 1))
    STATUS=$(put)
    [[ $STATUS == 200 ]] && break
    sleep "$POLL_S"
  done
fi
READY_AT=$(now_ms)

# 4. Delete the child token (also when S3 refused the PUT).
curl -sS --fail-with-body -o /dev/null -X DELETE "$API/accounts/$ACCOUNT_ID/tokens/$TOKEN_ID" \
  -H "Authorization: Bearer $CLOUDFLARE_API_TOKEN"
DELETED_AT=$(now_ms)

printf '{"wait":"%s","created_at_ms":%s,"ready_at_ms":%s,"deleted_at_ms":%s,"puts":%s,"put_status":%s,"put_client":"%s"}\n' \
  "$WAIT" "$CREATED_AT" "$READY_AT" "$DELETED_AT" "$PUTS" "$((10#$STATUS))" "$PUT_CLIENT"
if [[ $STATUS != 200 ]]; then
  echo "baseline: S3 refused the PUT with HTTP $STATUS after $PUTS tries" >&2
  exit 1
fi
