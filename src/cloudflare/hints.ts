/**
 * Hints for the Cloudflare failures users meet most, keyed by error code first and HTTP status second.
 * Data, not branching: add a row when a new cause becomes common.
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
): string | undefined {
  for (const code of codes) {
    const hint = BY_CODE[code];
    if (hint) return hint;
  }
  if (messages.some((m) => QUOTA.test(m))) {
    return "The token quota is reached (50 user tokens, 500 account tokens). Delete stale child tokens, e.g. with `r2-ephemeral-credentials sweep`.";
  }
  return status === undefined ? undefined : BY_STATUS[status];
}
