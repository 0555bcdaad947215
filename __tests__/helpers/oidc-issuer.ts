/**
 * A local stand-in for GitHub's OIDC issuer: an RS256 key pair made with jose, its JWKS served on a
 * loopback node:http server at `<issuer>/.well-known/jwks` (the path GitHub uses), and tokens signed
 * with GitHub Actions' claims. A second key pair signs forged tokens.
 *
 * Only claims GitHub documents for its ID tokens are emitted, as strings like GitHub's (ids included).
 * A repository's and an owner's ids are derived from their names (the same name, the same id), unless
 * a test gives others, e.g. a repository re-registered under an old name.
 */
import { createHash, randomInt } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export const TEST_AUDIENCE = "https://vending.test";

/** The claims of a GitHub Actions ID token (a realistic subset), all overridable. */
export interface GitHubClaims extends JWTPayload {
  sub: string;
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  ref: string;
  ref_type?: string;
  /** Only in jobs that run in a deployment environment. */
  environment?: string;
  run_id: string;
  run_attempt: string;
  job_workflow_ref: string;
  workflow: string;
  event_name: string;
  actor: string;
}

export interface SignOptions {
  /** Sign with the attacker's key instead of the issuer's. */
  forged?: boolean;
  /** The key id in the header (default: the issuer key's kid, also when forged). */
  kid?: string;
  /** Seconds from now; negative for an expired token (default 300). */
  expiresIn?: number;
  /** Seconds from now for nbf (default: 5 s before iat). */
  notBefore?: number;
  /** Override iss / aud (default: this issuer, TEST_AUDIENCE). */
  issuer?: string;
  audience?: string | string[];
  /** HS256: signed with a shared secret instead of the issuer's RSA key (the algorithm-confusion attack). */
  alg?: "RS256" | "HS256";
}

export interface OidcIssuer {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  readonly issuer: string;
  readonly jwksUrl: string;
  /** How many times the JWKS was fetched. */
  jwksRequests: number;
  /** GitHub's claims for a run of `repository` (a fresh run id unless given). */
  claims(overrides?: Partial<GitHubClaims>): GitHubClaims;
  sign(claims: Partial<GitHubClaims>, options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

const KID = "test-issuer-key-1";

export function newRunId(): string {
  return String(randomInt(1_000_000_000, 9_000_000_000));
}

/** A stable stand-in for GitHub's numeric id of a repository or account: digits, derived from the name. */
export function githubIdOf(name: string): string {
  return String(Number.parseInt(createHash("sha256").update(name).digest("hex").slice(0, 8), 16) + 1);
}

export async function startOidcIssuer(): Promise<OidcIssuer> {
  const real = await generateKeyPair("RS256", { extractable: true });
  const attacker = await generateKeyPair("RS256", { extractable: true });
  const publicJwk = { ...(await exportJWK(real.publicKey)), kid: KID, alg: "RS256", use: "sig" };

  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/.well-known/jwks") {
      issuer.jwksRequests += 1;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end("{}");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  const issuer: OidcIssuer = {
    issuer: base,
    jwksUrl: `${base}/.well-known/jwks`,
    jwksRequests: 0,
    claims(overrides = {}) {
      const repository = overrides.repository ?? "octo-org/octo-repo";
      const owner = overrides.repository_owner ?? repository.split("/")[0] ?? "";
      const ref = overrides.ref ?? "refs/heads/main";
      const refType = /^refs\/heads\//.test(ref) ? "branch" : /^refs\/tags\//.test(ref) ? "tag" : undefined;
      // GitHub's subject names the environment when the job has one, else the ref.
      const sub = overrides.environment
        ? `repo:${repository}:environment:${overrides.environment}`
        : `repo:${repository}:ref:${ref}`;
      return {
        sub,
        repository,
        repository_id: githubIdOf(repository),
        repository_owner: owner,
        repository_owner_id: githubIdOf(owner),
        ref,
        ...(refType ? { ref_type: refType } : {}),
        run_id: newRunId(),
        run_attempt: "1",
        job_workflow_ref: `${repository}/.github/workflows/ci.yml@${ref}`,
        workflow: "CI",
        event_name: "push",
        actor: "octocat",
        ...overrides,
      };
    },
    async sign(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const expiresIn = options.expiresIn ?? 300;
      // An expired token was issued (and valid from) before it expired, as GitHub's are.
      const issuedAt = now + Math.min(0, expiresIn - 300);
      const notBefore = options.notBefore === undefined ? issuedAt - 5 : now + options.notBefore;
      const { iss: _iss, aud: _aud, exp: _exp, nbf: _nbf, iat: _iat, ...rest } = claims;
      return new SignJWT(rest)
        .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? KID, typ: "JWT" })
        .setIssuer(options.issuer ?? base)
        .setAudience(options.audience ?? TEST_AUDIENCE)
        .setIssuedAt(issuedAt)
        .setNotBefore(notBefore)
        .setExpirationTime(now + expiresIn)
        .sign(
          options.alg === "HS256"
            ? new TextEncoder().encode(JSON.stringify(publicJwk))
            : options.forged
              ? attacker.privateKey
              : real.privateKey,
        );
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return issuer;
}
