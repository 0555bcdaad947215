const CORS = `Usage: r2-ephemeral-credentials cors get|set|clear --bucket NAME [flags]

Reads or changes a bucket's CORS policy, which decides what web pages on other origins may do
with the bucket in a browser (a front end uploading with a presigned URL needs one). Cloudflare
keeps it per bucket; set replaces the whole policy.

  cors get     print the policy as JSON in the API's shape (empty rules when there is none)
  cors set     replace it: shows the old policy on stderr, then prints the new one
  cors clear   remove it: shows the old policy on stderr

Flags (every sub-command):
  --bucket NAME          the bucket
  --jurisdiction J       default, eu, us, fedramp
  --account-id ID        default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL          default: https://api.cloudflare.com/client/v4

Flags of set, one rule:
  --origin O             an origin that may call the bucket: scheme://host[:port], no path
                         or trailing slash, e.g. https://my-site.pages.dev; repeatable; * for any
  --method M             GET, PUT, POST, DELETE or HEAD; repeatable; at least one
  --header H             a request header pages may send, e.g. content-type; repeatable
  --expose-header H      a response header pages may read, e.g. ETag; repeatable
  --max-age D            how long browsers may cache the preflight (at most 1d; browsers
                         cap it at about 2h)
or several rules:
  --file rules.json      the API's shape: { "rules": [{ "allowed": { "origins": […],
                         "methods": […], "headers": […] }, "exposeHeaders": […],
                         "maxAgeSeconds": 3600, "id": "…" }] } (not the dashboard's
                         [{ "AllowedOrigins": … }] shape)

The token needs Workers R2 Storage Read on the account for get, Workers R2 Storage Write for
set and clear. Browsers may take up to 30 s to see a change.

Examples:
  r2-ephemeral-credentials cors set --bucket uploads --origin https://my-site.pages.dev \\
    --origin http://localhost:5173 --method PUT --method GET --header content-type --expose-header ETag
  r2-ephemeral-credentials cors get --bucket uploads > cors.json
  r2-ephemeral-credentials cors set --bucket uploads --file cors.json`;

/** Help texts: what each command does, its flags, and examples a reader can paste. */
export const HELP: Record<string, string> = {
  main: `r2-ephemeral-credentials — short-lived, bucket-scoped Cloudflare R2 credentials

Usage: r2-ephemeral-credentials <command> [flags]

Commands:
  mint               mint credentials for one or more buckets and print them
  exec               run a command with credentials that are revoked when it ends
  configure-profile  write an AWS profile that fetches and refreshes credentials by itself
  presign            print presigned URLs for objects (for browsers and curl), backed by a new token
  cors               get, set or clear a bucket's CORS policy (what browsers may do with it)
  revoke             delete a child token (and every temporary credential minted from it)
  sweep              delete this tool's child tokens that are expired or older than a limit
  rescope            add a bucket to an API token's policy, or remove one
  doctor             say what the token can do, and which permission it lacks for the rest

Environment:
  CLOUDFLARE_API_TOKEN   the API token that mints (never pass it as a flag)
  CLOUDFLARE_ACCOUNT_ID  the account id (or --account-id)
  HTTPS_PROXY, NO_PROXY  honoured for every request

Examples:
  export CLOUDFLARE_API_TOKEN=… CLOUDFLARE_ACCOUNT_ID=…
  r2-ephemeral-credentials mint --bucket my-bucket --permission object-read-write
  eval "$(r2-ephemeral-credentials mint --bucket my-bucket --permission object-read-write --format env)"
  r2-ephemeral-credentials exec --bucket my-bucket --permission object-read-write -- python3 load.py

Run 'r2-ephemeral-credentials <command> --help' for the flags of a command.
Exit codes: 0 success, 1 Cloudflare or network failure, 2 bad usage (exec: CMD's own status;
doctor: 1 when a capability is impossible, 3 when one could not be decided).`,

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
  --token-file PATH           read the API token from this file (yours alone: chmod 600)
                              instead of CLOUDFLARE_API_TOKEN
  --format F                  json (default), env (export lines for eval), dotenv,
                              credential-process (the JSON an AWS profile's credential_process
                              prints; cached, see configure-profile)
  --refresh-window D          credential-process: reuse cached credentials while more than D
                              remains (default 15m)
  --no-cache                  credential-process: mint on every call
  --quiet                     no progress on stderr

Examples:
  eval "$(r2-ephemeral-credentials mint --bucket build-artifacts --permission object-read-write --format env)"
  aws s3 cp dist.tar.gz s3://build-artifacts/   # AWS CLI 2.13+ reads AWS_ENDPOINT_URL_S3

  r2-ephemeral-credentials mint --bucket data --prefixes pipelines/nightly/ --ttl 2h --format dotenv > .env
  python3 sync.py   # boto3 reads the AWS_* variables from the environment

Revoke afterwards with 'r2-ephemeral-credentials revoke --token-id <token-id from the output>'.`,

  presign: `Usage: r2-ephemeral-credentials presign --bucket NAME --key KEY [--key KEY …] [flags]

Prints one presigned URL per key, one a line: a browser, curl or any HTTP client can GET,
HEAD, PUT or DELETE that object with it, without credentials, until it expires. A presigned
URL IS a credential: anyone who has it can use it. Keep it out of logs.

By default it mints a child token for the bucket (object-read-only for GET and HEAD,
object-read-write for PUT and DELETE) that lives exactly as long as the URLs, waits until
the S3 endpoint accepts it, and does not revoke it: revoking the token kills its URLs. The
token id is on stderr (and in --format json).

Flags:
  --bucket NAME           the bucket
  --key KEY               an object key; repeat for several
  --method M              GET (default), HEAD, PUT or DELETE
  --expires D             how long the URLs work: 60 s to 7 d, e.g. 15m, 1h (default), 2d
  --from-env              sign with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and
                          AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_S3) instead of minting
  --format F              text (default: one URL a line) or json (key, method, url,
                          expires-at, token-id per key)
  --jurisdiction J        default, eu, us, fedramp
  --token-scope S         account (default) or user
  --token-name NAME       the child token's name (a unique mint id is appended)
  --wait-timeout S        seconds to wait for the S3 endpoint (default 60, 0 = no wait)
  --account-id ID         default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL           default: https://api.cloudflare.com/client/v4
  --s3-endpoint URL       default: derived from the account and jurisdiction; presigned URLs
                          work only on <account>.r2.cloudflarestorage.com, not custom domains
  --quiet                 nothing on stderr

A browser needs the bucket's CORS policy to allow the page's origin: see 'cors --help'.
'sweep --older-than' deletes the backing token once it is older than that, and its URLs with it.

Examples:
  r2-ephemeral-credentials presign --bucket reports --key 2026/q3.pdf --expires 2d
  url=$(r2-ephemeral-credentials presign --bucket uploads --key in/photo.jpg --method PUT --expires 15m)
  curl --upload-file photo.jpg "$url"`,

  cors: CORS,
  "cors get": CORS,
  "cors set": CORS,
  "cors clear": CORS,

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

  rescope: `Usage: r2-ephemeral-credentials rescope --token-id ID|self (--add-bucket NAME | --remove-bucket NAME) [flags]

Adds a bucket to an existing API token's policy, or removes one (GET the token, PUT it back
whole), so an existing S3 key pair reaches a bucket you just created, or stops reaching one,
without asking the account owner to edit the token in the dashboard. The change can take up
to a minute to reach the S3 endpoint.

--remove-bucket drops the bucket's resource from every allow policy (a policy left empty
goes; deny policies keep it). A bucket the token does not grant is exit 1, and so is removing
its last bucket: delete such a token instead. A token that still reaches the bucket through an
account-wide grant is named in a warning.

Flags:
  --token-id ID|self  the token to change (its S3 Access Key ID), or self: the token in
                      CLOUDFLARE_API_TOKEN (found through the verify endpoint of --token-scope)
  --add-bucket NAME   the bucket to add
  --remove-bucket NAME
                      the bucket to remove
  --permission P      with --add-bucket: object-read-only (default) or object-read-write
  --jurisdiction J    the bucket's: default, eu, us, fedramp
  --dry-run           print the change and the policies it would PUT, change nothing
  --token-scope S     account (default) or user
  --account-id ID     default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL       default: https://api.cloudflare.com/client/v4

Examples:
  r2-ephemeral-credentials rescope --token-id 3f2a…c9 --add-bucket new-bucket --permission object-read-write
  r2-ephemeral-credentials rescope --token-id self --remove-bucket old-bucket --dry-run`,

  exec: `Usage: r2-ephemeral-credentials exec --bucket NAME [mint flags] -- CMD [ARGS…]

Mints credentials (every mint flag, same defaults), waits until the S3 endpoint accepts them,
runs CMD with them in its environment and revokes them when CMD ends, however it ends.

CMD's environment gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (only
when there is one), AWS_ENDPOINT_URL_S3, AWS_REGION=auto, AWS_DEFAULT_REGION=auto,
AWS_CREDENTIAL_EXPIRATION, AWS_REQUEST_CHECKSUM_CALCULATION and
AWS_RESPONSE_CHECKSUM_VALIDATION (when_required, unless already set) and
R2_EPHEMERAL_CREDENTIALS=1. It loses AWS_PROFILE, AWS_DEFAULT_PROFILE, a stale
AWS_SESSION_TOKEN or AWS_SECURITY_TOKEN, and CLOUDFLARE_API_TOKEN.

Ctrl-C goes to CMD; SIGTERM and SIGHUP are forwarded to it. exec refuses to run inside
another exec. Progress goes to stderr (--quiet silences it); no secret is ever printed.

Exit status: CMD's own; 128+n when CMD died of signal n; 127 when CMD was not found, 126 when
it cannot be run; 2 for every failure before CMD starts (bad flags, mint refused).

Flags: those of 'r2-ephemeral-credentials mint --help' (without --format).

Examples:
  r2-ephemeral-credentials exec --bucket datasets --permission object-read-write --ttl 2h -- python3 load.py
  r2-ephemeral-credentials exec --bucket logs --prefixes 2026/ -- aws s3 sync s3://logs/2026/ ./logs`,

  "configure-profile": `Usage: r2-ephemeral-credentials configure-profile --profile NAME --bucket NAME [mint flags]

Writes (or replaces) [profile NAME] in the AWS config file ($AWS_CONFIG_FILE, default
~/.aws/config) with a credential_process that runs 'mint --format credential-process' with
these flags, and endpoint_url, region = auto and both checksum settings. The AWS CLI and the
SDKs then fetch credentials by themselves, and again before they expire; credentials are
cached (0600) under $XDG_CACHE_HOME/r2-ephemeral-credentials/ until the refresh window.
Every other line of the file stays as it was. The profile holds no secret: credential_process
reads CLOUDFLARE_API_TOKEN from the environment of the program that runs it.

Flags:
  --profile NAME        the profile; 'default' writes [default]
  --print               print the section instead of writing it
  --force               replace a section of that name this tool did not write
  --refresh-window D    passed to credential-process (default 15m)
  --no-cache            passed to credential-process: mint on every call
  and the flags of 'r2-ephemeral-credentials mint --help' (without --format)

Examples:
  r2-ephemeral-credentials configure-profile --profile r2 --bucket datasets --permission object-read-write
  AWS_PROFILE=r2 python3 load.py       # boto3 runs credential_process itself
  aws --profile r2 s3 ls s3://datasets/`,

  doctor: `Usage: r2-ephemeral-credentials doctor [--bucket NAME…] [--check C…] [flags]

Says what the token in CLOUDFLARE_API_TOKEN can do, for each capability (token, hybrid,
temporary, create-bucket, rescope, sweep) and each bucket named, and for what it cannot,
exactly which permission group on which resource is missing. It verifies the token (on the
endpoint of --token-scope, or on both), reads its own policies when it may (the verdicts are
then known) and otherwise infers from what Cloudflare refuses, saying from what. Verdicts that
rest on an undocumented rule name the conformance check that settles it. It only reads:
nothing is created, changed or deleted.

Flags:
  --bucket NAME       a bucket to check (repeat, or separate with commas)
  --check C           only these capabilities (repeat, or separate with commas)
  --permission P      the permission to check minting for (default object-read-only)
  --jurisdiction J    the buckets' jurisdiction (default default)
  --format F          text (default) or json
  --token-scope S     account or user (default: try both)
  --account-id ID     default: CLOUDFLARE_ACCOUNT_ID
  --api-url URL       default: https://api.cloudflare.com/client/v4

Exit codes: 0 every checked capability is possible, 1 one is impossible, 3 none is impossible
but one could not be decided, 2 the check itself failed (flags, network).

Examples:
  r2-ephemeral-credentials doctor --bucket datasets --permission object-read-write
  r2-ephemeral-credentials doctor --check temporary --check create-bucket --format json`,
};
