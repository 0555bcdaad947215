/**
 * The policy and buckets the Worker tests share: one repository with a ref-pinned rule and an
 * environment-pinned rule, a data pipeline narrowed to a prefix, and a second repository.
 */
export const REPO = "octo-org/octo-repo";
export const PIPELINES = "octo-org/pipelines";
export const OTHER_REPO = "octo-org/other-repo";

export const BUCKETS = ["artifacts", "logs-nightly", "secrets", "data", "unlisted"] as const;

export const POLICY = {
  rules: [
    {
      repository: REPO,
      ref: "refs/heads/main",
      buckets: ["artifacts", "logs-*"],
      permissions: ["object-read-write", "object-read-only"],
      max_ttl: "2h",
    },
    {
      repository: REPO,
      environment: "prod",
      buckets: ["secrets"],
      permissions: ["object-read-only"],
      max_ttl: "15m",
    },
    {
      repository: PIPELINES,
      buckets: ["data"],
      permissions: ["object-read-write"],
      prefixes: ["pipelines/"],
      max_ttl: "1h",
    },
    {
      repository: OTHER_REPO,
      buckets: ["artifacts"],
      permissions: ["object-read-write"],
      max_ttl: "1h",
    },
  ],
};

/** A child token's name for a run: `r2-ephemeral <repository> run <run_id>.<attempt> <workflow> <mint id>`. */
export function childNamePattern(repository: string, runId: string, attempt = "1", workflow = "CI"): RegExp {
  const quoteRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(
    `^r2-ephemeral ${quoteRe(repository)} run ${runId}\\.${attempt} ${quoteRe(workflow)} [0-9a-f]{8}$`,
  );
}
