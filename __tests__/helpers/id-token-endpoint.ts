/**
 * A loopback stand-in for the GitHub runner's ID-token endpoint, the one `@actions/core`'s
 * `getIDToken(audience)` calls: `GET ${ACTIONS_ID_TOKEN_REQUEST_URL}&audience=<aud>` with
 * `Authorization: Bearer ${ACTIONS_ID_TOKEN_REQUEST_TOKEN}`, answered with `{"value": "<jwt>"}`.
 *
 * Tokens are signed by the local OIDC issuer (oidc-issuer.ts) with GitHub's claims for the test job
 * (repository octo-org/octo-repo, run_id and run_attempt as the runner harness's jobContext, workflow
 * as its GITHUB_WORKFLOW) and `aud` = the requested audience (GitHub's default, the owner's URL, when
 * none is asked for). Every request is recorded, with the token it was given, so a test can check the
 * audience and scan the step's output for the JWTs (they are secrets too).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { jobContext } from "../../scripts/harness/runner.js";
import type { GitHubClaims, OidcIssuer, SignOptions } from "./oidc-issuer.js";

/** The claims GitHub puts in this harness job's ID tokens (see runner.ts jobContext). */
export function jobClaims(issuer: OidcIssuer, overrides: Partial<GitHubClaims> = {}): GitHubClaims {
  return issuer.claims({
    repository: jobContext.GITHUB_REPOSITORY,
    run_id: jobContext.GITHUB_RUN_ID,
    run_attempt: jobContext.GITHUB_RUN_ATTEMPT,
    workflow: jobContext.GITHUB_WORKFLOW,
    ...overrides,
  });
}

export interface IdTokenRequest {
  at: number;
  method: string;
  /** The path and query as requested. */
  url: string;
  /** The `audience` query parameter (undefined when the caller asked for none). */
  audience: string | undefined;
  /** The request carried `Authorization: Bearer <request token>`. */
  authorized: boolean;
  status: number;
  /** The JWT handed out (200 answers only). */
  token?: string;
}

export interface IdTokenEndpoint {
  /** ACTIONS_ID_TOKEN_REQUEST_URL: like the runner's, it already has a query (`?api-version=2.0`). */
  readonly url: string;
  /** ACTIONS_ID_TOKEN_REQUEST_TOKEN: the runner's per-job request token. */
  readonly requestToken: string;
  /** Both variables, ready for a step's env. */
  readonly env: { ACTIONS_ID_TOKEN_REQUEST_URL: string; ACTIONS_ID_TOKEN_REQUEST_TOKEN: string };
  readonly requests: IdTokenRequest[];
  /** Every JWT handed out so far. */
  tokens(): string[];
  /** Overrides of the job's claims for the next tokens (e.g. another repository); {} resets. */
  setClaims(overrides: Partial<GitHubClaims>): void;
  /** Sign options for the next tokens (e.g. expiresIn); {} resets. */
  setSignOptions(options: SignOptions): void;
  /**
   * Answer with this HTTP status instead of a token (undefined: back to tokens), once `afterTokens`
   * more tokens have been handed out (default 0: from the next request on).
   */
  refuseWith(status: number | undefined, afterTokens?: number): void;
  reset(): void;
  close(): Promise<void>;
}

const PATH = "/_apis/distributedtask/hubs/Actions/plans/test-plan/jobs/test-job/idtoken";

export async function startIdTokenEndpoint(issuer: OidcIssuer): Promise<IdTokenEndpoint> {
  const requestToken = `runner-request-${randomBytes(24).toString("hex")}`;
  const requests: IdTokenRequest[] = [];
  let claimOverrides: Partial<GitHubClaims> = {};
  let signOptions: SignOptions = {};
  let refusal: number | undefined;
  let refuseAfter = 0;

  const server: Server = createServer((req, res) => {
    const parsed = new URL(req.url ?? "/", "http://127.0.0.1");
    const record: IdTokenRequest = {
      at: Date.now(),
      method: req.method ?? "",
      url: req.url ?? "",
      audience: parsed.searchParams.get("audience") ?? undefined,
      authorized: req.headers.authorization === `Bearer ${requestToken}`,
      status: 0,
    };
    requests.push(record);
    const reply = (status: number, body: unknown) => {
      record.status = status;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (
      req.method !== "GET" ||
      parsed.pathname !== PATH ||
      parsed.searchParams.get("api-version") !== "2.0"
    ) {
      reply(404, { message: "not found" });
      return;
    }
    if (!record.authorized) {
      reply(401, { message: "bad request token" });
      return;
    }
    const handedOut = requests.filter((request) => request.token !== undefined).length;
    if (refusal !== undefined && handedOut >= refuseAfter) {
      reply(refusal, { message: `refused with ${refusal} by the test` });
      return;
    }
    // GitHub's default audience is the URL of the repository owner.
    const audience = record.audience ?? `https://github.com/${jobContext.GITHUB_REPOSITORY.split("/")[0]}`;
    issuer
      // A fresh jti, as GitHub's: two tokens asked for in the same second still differ.
      .sign({ ...jobClaims(issuer, claimOverrides), jti: randomUUID() }, { ...signOptions, audience })
      .then((token) => {
        record.token = token;
        reply(200, { count: 1, value: token });
      })
      .catch((error: unknown) => reply(500, { message: String(error) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${PATH}?api-version=2.0`;

  return {
    url,
    requestToken,
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken },
    requests,
    tokens: () => requests.flatMap((request) => (request.token ? [request.token] : [])),
    setClaims(overrides) {
      claimOverrides = overrides;
    },
    setSignOptions(options) {
      signOptions = options;
    },
    refuseWith(status, afterTokens = 0) {
      refusal = status;
      refuseAfter = requests.filter((request) => request.token !== undefined).length + afterTokens;
    },
    reset() {
      requests.length = 0;
      claimOverrides = {};
      signOptions = {};
      refusal = undefined;
      refuseAfter = 0;
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
