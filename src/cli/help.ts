/** Help texts: what each command does, its flags, and examples a reader can paste. */
export const HELP: Record<string, string> = {
  main: `r2-ephemeral-credentials — short-lived, bucket-scoped Cloudflare R2 credentials

Usage: r2-ephemeral-credentials <command> [flags]

Commands:
  mint      mint credentials for one or more buckets and print them
  revoke    delete a child token (and every temporary credential minted from it)
  sweep     delete this tool's child tokens that are expired or older than a limit
  rescope   add a bucket to an existing API token's policy

Environment:
  CLOUDFLARE_API_TOKEN   the API token that mints (never pass it as a flag)
  CLOUDFLARE_ACCOUNT_ID  the account id (or --account-id)
  HTTPS_PROXY, NO_PROXY  honoured for every request

Examples:
  export CLOUDFLARE_API_TOKEN=… CLOUDFLARE_ACCOUNT_ID=…
  r2-ephemeral-credentials mint --bucket my-bucket --permission object-read-write
  eval "$(r2-ephemeral-credentials mint --bucket my-bucket --permission object-read-write --format env)"

Run 'r2-ephemeral-credentials <command> --help' for the flags of a command.
Exit codes: 0 success, 1 Cloudflare or network failure, 2 bad usage.`,

  mint: `Usage: r2-ephemeral-credentials mint --bucket NAME [flags]

Mints credentials exactly as the GitHub Action does, waits until the S3 endpoint accepts
them, and prints them on stdout. Progress goes to stderr.

Flags (same names and defaults as the action's inputs):
  --bucket NAME               bucket(s); repeat the flag or separate with commas
  --permission P              object-read-only (default), object-read-write,
                              admin-read-only, admin-read-write
  --mode M                    token (default) or temporary
  --prefixes P                narrow to key prefixes (comma-separated or repeated)
  --objects K                 narrow to exact object keys
  --ttl D                     lifetime: seconds or 15m, 1h (default), 2d; 60 s to 7 d
  --jurisdiction J            default, eu, us, fedramp
  --parent-access-key-id ID   temporary mode: the parent token id (default: your token's own)
  --token-scope S             account (default) or user
  --create-bucket             create missing buckets first
  --location-hint H           apac, eeur, enam, weur, wnam, oc (with --create-bucket)
  --wait-timeout S            seconds to wait for the S3 endpoint (default 60, 0 = no wait)
  --token-name NAME           child token name (a unique mint id is appended)
  --account-id ID             default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL               default: https://api.cloudflare.com/client/v4
  --s3-endpoint URL           default: derived from the account and jurisdiction
  --format F                  json (default), env (export lines for eval), dotenv
  --quiet                     no progress on stderr

Examples:
  eval "$(r2-ephemeral-credentials mint --bucket build-artifacts --permission object-read-write --format env)"
  aws s3 cp dist.tar.gz s3://build-artifacts/   # AWS CLI 2.13+ reads AWS_ENDPOINT_URL_S3

  r2-ephemeral-credentials mint --bucket data --prefixes pipelines/nightly/ --ttl 2h --format dotenv > .env
  python3 sync.py   # boto3 reads the AWS_* variables from the environment

Revoke afterwards with 'r2-ephemeral-credentials revoke --token-id <token-id from the output>'.`,

  revoke: `Usage: r2-ephemeral-credentials revoke --token-id ID [flags]

Deletes a child token; every temporary credential minted from it stops working.
An already deleted token is not an error.

Flags:
  --token-id ID       the token to delete (the token-id output of mint)
  --token-scope S     account (default) or user
  --account-id ID     default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL       default: https://api.cloudflare.com/client/v4

Example:
  r2-ephemeral-credentials revoke --token-id 3f2a…c9`,

  sweep: `Usage: r2-ephemeral-credentials sweep [--older-than D] [--prefix P] [--dry-run]

Finds child tokens this tool created — named "r2-ephemeral …" and ending with a mint id —
that are expired or, with --older-than, issued longer ago than D, and deletes them.
The cleanup for runners that died before their post step. Prints a table on stdout.

Flags:
  --older-than D      also sweep live tokens older than D (e.g. 2h, 1d); default: expired only
  --prefix P          name prefix of custom token-names (default "r2-ephemeral ")
  --dry-run           list what would be deleted, delete nothing
  --format F          table (default) or json
  --token-scope S     account (default) or user
  --account-id ID     default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL       default: https://api.cloudflare.com/client/v4

Examples:
  r2-ephemeral-credentials sweep --dry-run
  r2-ephemeral-credentials sweep --older-than 2h`,

  rescope: `Usage: r2-ephemeral-credentials rescope --token-id ID --add-bucket NAME [flags]

Adds a bucket to an existing API token's policy (GET the token, PUT it back whole with the
bucket's resource), so an existing S3 key pair works on a bucket you just created —
without asking the account owner to edit the token in the dashboard. The change can take
up to a minute to reach the S3 endpoint.

Flags:
  --token-id ID       the token to extend (its S3 Access Key ID)
  --add-bucket NAME   the bucket to add
  --permission P      object-read-only (default) or object-read-write
  --jurisdiction J    default, eu, us, fedramp
  --token-scope S     account (default) or user
  --account-id ID     default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL       default: https://api.cloudflare.com/client/v4

Example:
  r2-ephemeral-credentials rescope --token-id 3f2a…c9 --add-bucket new-bucket --permission object-read-write`,
};
