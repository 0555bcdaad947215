// Checks of the R2 REST API: buckets, bucket CORS, temporary credentials.
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { type Check, Findings, holds, refuted, skipped, type Verdict } from "../check.js";
import { answerIs, describeAnswer, describeS3, randomHex, type S3Answer } from "../http.js";

const ORIGIN = "https://example.com";

/** CORS rules in the REST API's camelCase shape (docs/cloudflare-api.md §5). */
const RULES = [
  {
    id: "conformance",
    allowed: { origins: [ORIGIN], methods: ["GET", "PUT"], headers: ["content-type"] },
    exposeHeaders: ["ETag"],
    maxAgeSeconds: 600,
  },
];

type Ctx = Parameters<Check["run"]>[0];

/** Whether a comma-separated header value names `item` (case-insensitively). */
function listed(value: string | null, item: string): boolean {
  return (value ?? "")
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .includes(item.toLowerCase());
}

/** An S3 answer with its Access-Control-* headers, the way refuted lines quote it. */
function describeCors(a: S3Answer): string {
  const cors = [...a.headers].filter(([name]) => name.startsWith("access-control-"));
  return `${describeS3(a)}${cors.length > 0 ? ` with ${cors.map(([n, v]) => `${n}: ${v}`).join(", ")}` : ", no CORS headers"}`;
}

/**
 * Asks until `applied` holds or 30 s pass: "CORS rule propagation can, in rare cases, take up to 30
 * seconds" (Cloudflare's CORS docs). Returns the last answer either way.
 */
async function untilCorsApplies(
  ctx: Ctx,
  ask: () => Promise<S3Answer>,
  applied: (a: S3Answer) => boolean,
): Promise<S3Answer> {
  let answer = await ask();
  const start = Date.now();
  while (!applied(answer) && Date.now() - start < Math.min(ctx.readyTimeoutMs, 30_000)) {
    await sleep(ctx.pollIntervalMs, undefined, { signal: ctx.signal });
    answer = await ask();
  }
  return answer;
}
const cors = async (ctx: Ctx) => ctx.account(`/r2/buckets/${await ctx.bucket()}/cors`);

/** Sets RULES as the run's bucket's CORS policy for `observe`, and deletes the policy whatever happens. */
async function withRules(ctx: Ctx, path: string, observe: () => Promise<Verdict>): Promise<Verdict> {
  const put = await ctx.api("PUT", path, { body: { rules: RULES } });
  if (put.status !== 200) return refuted(`PUT: ${describeAnswer(put)}`);
  try {
    return await observe();
  } finally {
    await ctx.api("DELETE", path);
  }
}

interface TempCreds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
}

function tempCredsOf(result: unknown): TempCreds {
  const r = result as Partial<TempCreds> | undefined;
  if (!r?.accessKeyId || !r.secretAccessKey || !r.sessionToken)
    throw new Error("the answer lacks credentials");
  return { accessKeyId: r.accessKeyId, secretAccessKey: r.secretAccessKey, sessionToken: r.sessionToken };
}

export const r2Checks: Check[] = [
  {
    id: "bucket-scoped-rest-callers",
    assumption:
      "A token with only bucket item groups gets 403/10000 on R2 REST endpoints (temp-access-credentials, bucket GET).",
    async run(ctx) {
      const [bucket, writer] = await Promise.all([ctx.bucket(), ctx.itemWriter()]);
      const f = new Findings();
      const temp = await ctx.api("POST", ctx.account("/r2/temp-access-credentials"), {
        token: writer.value,
        body: { bucket, parentAccessKeyId: writer.id, permission: "object-read-only", ttlSeconds: 900 },
      });
      f.expect(answerIs(temp, 403, 10000), `temp-access-credentials for itself: ${describeAnswer(temp)}`);
      const get = await ctx.api("GET", ctx.account(`/r2/buckets/${bucket}`), { token: writer.value });
      f.expect(answerIs(get, 403, 10000), `GET of its own bucket: ${describeAnswer(get)}`);
      return f.verdict;
    },
  },
  {
    id: "bucket-create-conflict",
    assumption: "The REST create of an existing bucket name answers 409 with code 10004.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const res = await ctx.api("POST", ctx.account("/r2/buckets"), { body: { name: bucket } });
      return holds(answerIs(res, 409, 10004), describeAnswer(res));
    },
  },
  {
    id: "location-hint-case",
    assumption: "A bucket create takes locationHint in any case (WNAM) and stores it in lower case.",
    async run(ctx) {
      const { answer } = await ctx.createBucket("hint", "default", { locationHint: "WNAM" });
      if (answer.status !== 200) return refuted(describeAnswer(answer));
      const location = answer.result?.location;
      return holds(location === undefined || location === "wnam", `location ${JSON.stringify(location)}`);
    },
  },
  {
    id: "bucket-name-per-jurisdiction",
    assumption: "Bucket names are unique per jurisdiction: the same name may exist in default and in eu.",
    async run(ctx) {
      const label = `twin-${randomHex(2)}`;
      const inDefault = await ctx.createBucket(label, "default");
      if (inDefault.answer.status !== 200)
        throw new Error(`creating ${inDefault.name}: ${describeAnswer(inDefault.answer)}`);
      const inEu = await ctx.createBucket(label, "eu");
      return holds(inEu.answer.status === 200, `the same name in eu: ${describeAnswer(inEu.answer)}`);
    },
  },
  {
    id: "jurisdiction-header-unknown",
    assumption: "An unknown cf-r2-jurisdiction value is answered 400/1001.",
    async run(ctx) {
      const res = await ctx.api("GET", ctx.account("/r2/buckets"), {
        headers: { "cf-r2-jurisdiction": "mars" },
      });
      return holds(answerIs(res, 400, 1001), describeAnswer(res));
    },
  },
  {
    id: "fedramp-high",
    assumption: "Not modelled: the emulator refuses cf-r2-jurisdiction fedramp-high.",
    async run(ctx) {
      if (!ctx.live)
        return skipped("the emulator does not model fedramp-high; only a live run can say what it does");
      const res = await ctx.api("GET", ctx.account("/r2/buckets"), {
        headers: { "cf-r2-jurisdiction": "fedramp-high" },
      });
      return skipped(
        `not modelled by the emulator; Cloudflare answered a bucket list with it: ${describeAnswer(res)}`,
      );
    },
  },
  {
    id: "cors-unset",
    assumption: "GET of a bucket's CORS policy when none is set is 404/10059; DELETE of none succeeds.",
    async run(ctx) {
      const path = await cors(ctx);
      const f = new Findings();
      const get = await ctx.api("GET", path);
      f.expect(answerIs(get, 404, 10059), `GET: ${describeAnswer(get)}`);
      const del = await ctx.api("DELETE", path);
      f.expect(del.status === 200, `DELETE: ${describeAnswer(del)}`);
      return f.verdict;
    },
  },
  {
    id: "cors-invalid-body",
    assumption: "A CORS PUT in the S3 shape (PascalCase, no rules wrapper) is answered 400/10040.",
    async run(ctx) {
      const res = await ctx.api("PUT", await cors(ctx), {
        body: [{ AllowedOrigins: ["https://example.com"], AllowedMethods: ["GET"] }],
      });
      return holds(answerIs(res, 400, 10040), describeAnswer(res));
    },
  },
  {
    id: "cors-roundtrip",
    assumption: "GET of a bucket's CORS policy answers { rules } exactly as PUT sent them.",
    async run(ctx) {
      const path = await cors(ctx);
      return withRules(ctx, path, async () => {
        const get = await ctx.api("GET", path);
        return holds(
          get.status === 200 && isDeepStrictEqual(get.result, { rules: RULES }),
          `GET: ${get.status === 200 ? JSON.stringify(get.result) : describeAnswer(get)}`,
        );
      });
    },
  },
  {
    id: "cors-permissions",
    assumption: "Workers R2 Storage Read may read a bucket's CORS policy but not change it (403/10000).",
    async run(ctx) {
      const [path, reader] = await Promise.all([cors(ctx), ctx.storageReader()]);
      const f = new Findings();
      const get = await ctx.api("GET", path, { token: reader.value });
      f.expect(get.status === 200 || answerIs(get, 404, 10059), `GET: ${describeAnswer(get)}`);
      const put = await ctx.api("PUT", path, { token: reader.value, body: { rules: RULES } });
      f.expect(answerIs(put, 403, 10000), `PUT: ${describeAnswer(put)}`);
      if (put.status === 200) await ctx.api("DELETE", path);
      return f.verdict;
    },
  },
  {
    id: "cors-s3-view",
    assumption: "S3's GetBucketCors shows the rules set through the REST API.",
    async run(ctx) {
      const [path, bucket, creds] = await Promise.all([cors(ctx), ctx.bucketAtS3(), ctx.selfS3()]);
      return withRules(ctx, path, async () => {
        const shows = (a: S3Answer) =>
          a.status === 200 && a.text.includes(`<AllowedOrigin>${ORIGIN}</AllowedOrigin>`);
        const got = await untilCorsApplies(ctx, () => ctx.s3(`/${bucket}?cors`, creds), shows);
        return holds(shows(got), `GetBucketCors: ${describeS3(got)}`);
      });
    },
  },
  {
    id: "cors-preflight",
    assumption:
      "A browser preflight (OPTIONS with Origin) is refused with 403 and no CORS headers until a rule allows it, then answered 200 with the origin, the rule's methods, the requested headers and its max age.",
    async run(ctx) {
      const [path, bucket] = await Promise.all([cors(ctx), ctx.bucketAtS3()]);
      const preflight = () =>
        ctx.s3(`/${bucket}/conformance/cors.txt`, undefined, {
          method: "OPTIONS",
          headers: {
            origin: ORIGIN,
            "access-control-request-method": "PUT",
            "access-control-request-headers": "content-type",
          },
        });
      const f = new Findings();
      const before = await preflight();
      f.expect(
        before.status === 403 && !before.headers.has("access-control-allow-origin"),
        `before any rule: ${describeCors(before)}`,
      );
      return withRules(ctx, path, async () => {
        const after = await untilCorsApplies(ctx, preflight, (a) => a.status === 200);
        const h = after.headers;
        f.expect(
          after.status === 200 &&
            h.get("access-control-allow-origin") === ORIGIN &&
            listed(h.get("access-control-allow-methods"), "PUT") &&
            listed(h.get("access-control-allow-headers"), "content-type") &&
            h.get("access-control-max-age") === "600",
          `after the rule: ${describeCors(after)}`,
        );
        return f.verdict;
      });
    },
  },
  {
    id: "cors-response-headers",
    assumption:
      "A signed request with an Origin a rule allows gets Access-Control-Allow-Origin and the rule's Access-Control-Expose-Headers; another Origin gets neither.",
    async run(ctx) {
      const [path, probe, creds] = await Promise.all([cors(ctx), ctx.probeObject(), ctx.selfS3()]);
      const get = (origin: string) => ctx.s3(`/${probe.bucket}/${probe.key}`, creds, { headers: { origin } });
      return withRules(ctx, path, async () => {
        const f = new Findings();
        const allowed = await untilCorsApplies(
          ctx,
          () => get(ORIGIN),
          (a) => a.headers.has("access-control-allow-origin"),
        );
        f.expect(
          allowed.status === 200 &&
            allowed.headers.get("access-control-allow-origin") === ORIGIN &&
            listed(allowed.headers.get("access-control-expose-headers"), "etag"),
          `an allowed Origin: ${describeCors(allowed)}`,
        );
        const other = await get("https://other.example.net");
        f.expect(
          other.status === 200 && !other.headers.has("access-control-allow-origin"),
          `another Origin: ${describeCors(other)}`,
        );
        return f.verdict;
      });
    },
  },
  // --- temporary credentials ---------------------------------------------------------------------
  {
    id: "temp-creds-callers",
    assumption:
      "Only an account-level R2 Storage Write token may call temp-access-credentials, for another parent too (Storage Read may not, even for itself).",
    async run(ctx) {
      const f = new Findings();
      const forOther = await ctx.tempCredentials({});
      f.expect(
        forOther.status === 200,
        `Storage Write for a bucket-scoped parent: ${describeAnswer(forOther)}`,
      );
      const [bucket, reader] = await Promise.all([ctx.bucket(), ctx.storageReader()]);
      const self = await ctx.api("POST", ctx.account("/r2/temp-access-credentials"), {
        token: reader.value,
        body: { bucket, parentAccessKeyId: reader.id, permission: "object-read-only", ttlSeconds: 900 },
      });
      f.expect(answerIs(self, 403, 10000), `Storage Read for itself: ${describeAnswer(self)}`);
      return f.verdict;
    },
  },
  {
    id: "temp-creds-unknown-fields",
    assumption: "temp-access-credentials ignores body fields it does not know.",
    async run(ctx) {
      const res = await ctx.tempCredentials({ parentSecretAccessKey: "ignored", actions: ["GetObject"] });
      return holds(res.status === 200, describeAnswer(res));
    },
  },
  {
    id: "temp-creds-unknown-parent",
    assumption:
      "An unknown parentAccessKeyId is 400/1001, and one that is not 32 hex characters is answered the same.",
    async run(ctx) {
      const f = new Findings();
      const unknown = await ctx.tempCredentials({ parentAccessKeyId: randomHex(16) });
      f.expect(answerIs(unknown, 400, 1001), `an unknown id: ${describeAnswer(unknown)}`);
      const notHex = await ctx.tempCredentials({ parentAccessKeyId: "example-access-key-id" });
      f.expect(
        notHex.status === unknown.status && notHex.codes.join() === unknown.codes.join(),
        `an id that is not hex: ${describeAnswer(notHex)}`,
      );
      return f.verdict;
    },
  },
  {
    id: "temp-creds-ttl-bounds",
    assumption: "ttlSeconds must be a whole number of at least 1: 0 and 1.5 are refused with 400.",
    async run(ctx) {
      const f = new Findings();
      for (const ttlSeconds of [0, 1.5]) {
        const res = await ctx.tempCredentials({ ttlSeconds });
        f.expect(res.status === 400, `ttlSeconds ${ttlSeconds}: ${describeAnswer(res)}`);
      }
      return f.verdict;
    },
  },
  {
    id: "temp-creds-beyond-parent",
    assumption:
      "Asking for more than the parent holds (admin-read-write from an Item Write parent) is 403/9109.",
    async run(ctx) {
      const res = await ctx.tempCredentials({ permission: "admin-read-write" });
      return holds(answerIs(res, 403, 9109), describeAnswer(res));
    },
  },
  {
    id: "temp-creds-jurisdiction",
    assumption:
      "temp-access-credentials finds an eu bucket only with cf-r2-jurisdiction: eu (404/10006 without it).",
    async run(ctx) {
      const [bucket, parent] = await Promise.all([ctx.euBucket(), ctx.euItemWriter()]);
      const body = { bucket, parentAccessKeyId: parent.id, permission: "object-read-only", ttlSeconds: 900 };
      const f = new Findings();
      const without = await ctx.api("POST", ctx.account("/r2/temp-access-credentials"), { body });
      f.expect(answerIs(without, 404, 10006), `without the header: ${describeAnswer(without)}`);
      const withHeader = await ctx.api("POST", ctx.account("/r2/temp-access-credentials"), {
        body,
        headers: { "cf-r2-jurisdiction": "eu" },
      });
      f.expect(withHeader.status === 200, `with cf-r2-jurisdiction: eu: ${describeAnswer(withHeader)}`);
      return f.verdict;
    },
  },
  {
    id: "temp-creds-access-key-id",
    assumption: "Temporary credentials carry an access key id of their own, not their parent's.",
    async run(ctx) {
      const [res, parent] = await Promise.all([ctx.tempCredentials({}), ctx.itemWriter()]);
      if (res.status !== 200) return refuted(describeAnswer(res));
      const creds = tempCredsOf(res.result);
      const f = new Findings();
      f.expect(creds.accessKeyId !== parent.id, "the parent's access key id");
      return f.verdictWith(`a ${creds.accessKeyId.length}-character id`);
    },
  },
  {
    id: "temp-creds-empty-scopes",
    assumption: "Empty prefixes and objects arrays are the same as none: the credentials read any key.",
    async run(ctx) {
      const { bucket, key } = await ctx.probeObject();
      const empty = await ctx.tempCredentials({ prefixes: [], objects: [] });
      if (empty.status !== 200) return refuted(`mint: ${describeAnswer(empty)}`);
      const unscoped = await ctx.tempCredentials({});
      if (unscoped.status !== 200) throw new Error(`a control mint: ${describeAnswer(unscoped)}`);
      const control = tempCredsOf(unscoped.result);
      // Minted after the subject: once it is accepted, a refusal of the subject is real.
      const ready = await ctx.waitAccepted("control temporary credentials", () =>
        ctx.s3(`/${bucket}/${key}`, control),
      );
      if (!ready) throw new Error("the control temporary credentials were never accepted");
      const read = await ctx.s3(`/${bucket}/${key}`, tempCredsOf(empty.result));
      return holds(read.status === 200, `a read of ${key}: ${describeS3(read)}`);
    },
  },
  {
    id: "temp-creds-prefix-listing",
    assumption: "Prefix-scoped temporary credentials list only with a prefix inside a granted one.",
    async run(ctx) {
      const { bucket, key } = await ctx.probeObject();
      const res = await ctx.tempCredentials({ prefixes: ["conformance/"] });
      if (res.status !== 200) return refuted(`mint: ${describeAnswer(res)}`);
      const creds = tempCredsOf(res.result);
      const ready = await ctx.waitAccepted("prefix-scoped temporary credentials", () =>
        ctx.s3(`/${bucket}/${key}`, creds),
      );
      if (!ready) throw new Error("the temporary credentials were never accepted");
      const f = new Findings();
      const all = await ctx.s3(`/${bucket}?list-type=2`, creds);
      f.expect(all.status === 403, `a list without prefix: ${describeS3(all)}`);
      const inside = await ctx.s3(`/${bucket}?list-type=2&prefix=conformance%2F`, creds);
      f.expect(inside.status === 200, `a list with prefix=conformance/: ${describeS3(inside)}`);
      return f.verdict;
    },
  },
];
