/**
 * Hints for the Cloudflare failures users meet most, keyed by the call and its answer first, then by
 * error code, then by HTTP status. Data, not branching: add a row when a new cause becomes common.
 */
const BY_CODE: Record<number, string> = {
  9109: "The {name:api-token} lacks a permission this call needs. Creating, listing and deleting child tokens needs Account API Tokens Write ({set:token-scope=account}) or API Tokens Write ({set:token-scope=user}); granting R2 access needs the R2 permission it delegates (e.g. Workers R2 Storage Write); a bucket in another jurisdiction is refused the same way.",
  1000: "Cloudflare does not accept the {name:api-token}: check that it holds a current, active token, and that {name:token-scope} matches how it was created (account-owned or user-owned).",
  10000:
    "Authentication error: the {name:api-token} lacks the permission for this call, or is a bucket-scoped token calling an account-level endpoint.",
  10006:
    "The bucket does not exist in this account and jurisdiction. Check the bucket name and {name:jurisdiction} (a bucket created in eu needs {set:jurisdiction=eu}).",
  10042: "R2 is not enabled on this account. Enable R2 in the Cloudflare dashboard first.",
  971: "Cloudflare's API rate limit was reached (1200 requests per 5 minutes per token). Wait, or spread jobs that mint credentials.",
};

/** A refusal that means one thing on one endpoint: what the token needs for that call. */
interface CallHint {
  methods: readonly string[];
  path: RegExp;
  /** Matches when the answer carries one of these codes, or has one of these statuses. */
  codes: readonly number[];
  statuses: readonly number[];
  hint: string;
}

const REFUSED = { codes: [10000, 9109], statuses: [403] } as const;
const BUCKET_CORS = /\/r2\/buckets\/[^/]+\/cors$/;

const BY_CALL: readonly CallHint[] = [
  {
    methods: ["GET"],
    path: BUCKET_CORS,
    ...REFUSED,
    hint: "Reading a bucket's CORS policy needs Workers R2 Storage Read (or Write) on the account; a token with only Bucket Item permissions cannot, and a bucket in another jurisdiction needs {name:jurisdiction}.",
  },
  {
    methods: ["PUT", "DELETE"],
    path: BUCKET_CORS,
    ...REFUSED,
    hint: "Changing a bucket's CORS policy needs Workers R2 Storage Write on the account; Storage Read or Bucket Item permissions are not enough, and a bucket in another jurisdiction needs {name:jurisdiction}.",
  },
  {
    methods: ["PUT"],
    path: BUCKET_CORS,
    codes: [10040],
    statuses: [],
    hint: 'The API takes CORS rules in camelCase inside a "rules" wrapper ({ "rules": [{ "allowed": { "origins": […], "methods": […] } }] }), not the dashboard\'s S3 shape ([{ "AllowedOrigins": … }]).',
  },
];

/** What the request was, for hints that depend on the endpoint. */
export interface HintedCall {
  method: string;
  path: string;
}

const BY_STATUS: Record<number, string> = {
  401: BY_CODE[1000] as string,
  403: BY_CODE[9109] as string,
  429: BY_CODE[971] as string,
};

const QUOTA = /quota|limit of \d+ tokens|too many tokens/i;

export function hintFor(
  status: number | undefined,
  codes: number[],
  messages: string[] = [],
  call?: HintedCall,
): string | undefined {
  const path = call?.path ?? "";
  const byCall = BY_CALL.find(
    (row) =>
      call !== undefined &&
      row.methods.includes(call.method) &&
      row.path.test(path) &&
      (codes.some((c) => row.codes.includes(c)) || (status !== undefined && row.statuses.includes(status))),
  );
  if (byCall) return byCall.hint;
  for (const code of codes) {
    const hint = BY_CODE[code];
    if (hint) return hint;
  }
  if (messages.some((m) => QUOTA.test(m))) {
    return "The token quota is reached (50 user tokens, 500 account tokens). Delete stale child tokens, e.g. with `r2-ephemeral-credentials sweep`.";
  }
  return status === undefined ? undefined : BY_STATUS[status];
}
