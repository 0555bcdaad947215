// Checks of the token API: creates that must fail, deletes, lists, permission groups, S3 effects.
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { type Check, Findings, holds, refuted, Skip, skipped } from "../check.js";
import { GROUP } from "../context.js";
import {
  type ApiAnswer,
  acceptedByS3,
  answerIs,
  describeAnswer,
  describeS3,
  randomHex,
  tokenS3Credentials,
} from "../http.js";

const MAX_PAGES = 40;

/** Every item of the account's token list, page by page (per_page 50). */
async function allTokens(ctx: Parameters<Check["run"]>[0], query = ""): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const res = await ctx.api("GET", ctx.account(`/tokens?per_page=50&page=${page}${query}`));
    if (res.status !== 200 || !Array.isArray(res.result)) {
      throw new Error(`listing tokens (page ${page}): ${describeAnswer(res)}`);
    }
    if (res.result.length === 0) break;
    items.push(...res.result);
    const total = res.resultInfo?.total_count;
    if (typeof total === "number" && items.length >= total) break;
  }
  return items;
}

/** The token shape the project's own tokens have: what a strict parser of them would demand. */
const strictToken = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  issued_on: z.string(),
  policies: z.array(
    z.object({
      effect: z.enum(["allow", "deny"]),
      permission_groups: z.array(z.object({ id: z.string() })),
      resources: z.record(z.string(), z.union([z.string(), z.record(z.string(), z.string())])),
    }),
  ),
});

async function itemReadPolicy(ctx: Parameters<Check["run"]>[0]) {
  return ctx.policy(GROUP.itemRead, { [ctx.bucketKey(await ctx.bucket())]: "*" });
}

function refusal(res: ApiAnswer, status: number, code: number | undefined, what: string, f: Findings): void {
  f.expect(
    answerIs(res, status, code),
    `${what}: ${res.status === 200 ? "created a token" : describeAnswer(res)}`,
  );
}

export const tokenChecks: Check[] = [
  {
    id: "unknown-permission-group",
    assumption: "A token create naming a permission-group id Cloudflare does not know is 400/1001.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const { answer } = await ctx.createToken("unknown-group", {
        policies: [
          {
            effect: "allow",
            permission_groups: [{ id: randomHex(16) }],
            resources: { [ctx.bucketKey(bucket)]: "*" },
          },
        ],
      });
      const f = new Findings();
      refusal(answer, 400, 1001, "create", f);
      return f.verdict;
    },
  },
  {
    id: "token-empty-policies",
    assumption: "A token create without policies is refused with 400.",
    async run(ctx) {
      const { answer } = await ctx.createToken("no-policies", { policies: [] });
      const f = new Findings();
      refusal(answer, 400, undefined, "create", f);
      return f.verdict;
    },
  },
  {
    id: "token-past-expiry",
    assumption: "A token create with an expires_on in the past is refused with 400.",
    async run(ctx) {
      const { answer } = await ctx.createToken("past", {
        policies: [await itemReadPolicy(ctx)],
        expires_on: "2020-01-01T00:00:00Z",
      });
      const f = new Findings();
      refusal(answer, 400, undefined, "create", f);
      return f.verdict;
    },
  },
  {
    id: "token-unknown-id",
    assumption: "GET of a token id that does not exist is 404/7003.",
    async run(ctx) {
      const res = await ctx.api("GET", ctx.account(`/tokens/${randomHex(16)}`));
      return holds(answerIs(res, 404, 7003), describeAnswer(res));
    },
  },
  {
    id: "delete-gone-token",
    assumption: "A second DELETE of a token answers 404/7003, like an unknown id.",
    async run(ctx) {
      const token = await ctx.mustCreateToken("deleted-twice", [await itemReadPolicy(ctx)]);
      const first = await ctx.deleteToken(token.id);
      if (first.status !== 200) return refuted(`the first DELETE: ${describeAnswer(first)}`);
      const second = await ctx.api("DELETE", ctx.account(`/tokens/${token.id}`));
      return holds(answerIs(second, 404, 7003), `the second DELETE: ${describeAnswer(second)}`);
    },
  },
  {
    id: "token-list-result-info",
    assumption: "A token list page carries result_info with page, per_page, count and total_count.",
    async run(ctx) {
      const res = await ctx.api("GET", ctx.account("/tokens?per_page=5"));
      if (res.status !== 200) return refuted(describeAnswer(res));
      const info = (res.resultInfo ?? {}) as Record<string, unknown>;
      const missing = ["page", "per_page", "count", "total_count"].filter((k) => typeof info[k] !== "number");
      const f = new Findings();
      f.expect(missing.length === 0, `result_info ${JSON.stringify(info)} lacks ${missing.join(", ")}`);
      f.expect(
        info.per_page === undefined || info.per_page === 5,
        `per_page=5 answered per_page ${String(info.per_page)}`,
      );
      return f.verdict;
    },
  },
  {
    id: "token-list-per-page",
    assumption: "A token list with per_page outside 5–50 is refused with 400, not clamped.",
    async run(ctx) {
      const f = new Findings();
      for (const perPage of [1, 100]) {
        const res = await ctx.api("GET", ctx.account(`/tokens?per_page=${perPage}`));
        f.expect(
          res.status === 400,
          `per_page=${perPage}: ${res.status === 200 ? `HTTP 200 with per_page ${String(res.resultInfo?.per_page)}` : describeAnswer(res)}`,
        );
      }
      return f.verdict;
    },
  },
  {
    id: "token-list-odd-items",
    assumption: "Every token list item has an id and a name; other fields may be missing or of other shapes.",
    async run(ctx) {
      const items = await allTokens(ctx);
      const nameless = items.filter((t) => typeof t.id !== "string" || typeof t.name !== "string");
      const odd = items.filter((t) => !strictToken.safeParse(t).success);
      const f = new Findings();
      f.expect(nameless.length === 0, `${nameless.length} of ${items.length} items lack an id or a name`);
      return f.verdictWith(
        `${items.length} items, ${odd.length} of a shape the project's own tokens do not have`,
      );
    },
  },
  {
    id: "token-list-expired",
    assumption: "Expired tokens are listed only with include_expired=true.",
    async run(ctx) {
      const seconds = ctx.live ? 5 : 1;
      const expiresOn = new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000);
      const { answer, token } = await ctx.createToken("expiring", {
        policies: [await itemReadPolicy(ctx)],
        expires_on: expiresOn.toISOString().replace(/\.\d{3}Z$/, "Z"),
      });
      if (!token)
        return skipped(
          `Cloudflare would not create a token expiring in ${seconds} s: ${describeAnswer(answer)}`,
        );
      await sleep(Math.max(0, expiresOn.getTime() - Date.now()) + 1_000, undefined, { signal: ctx.signal });
      const f = new Findings();
      const without = (await allTokens(ctx)).some((t) => t.id === token.id);
      f.expect(!without, "listed without include_expired");
      const withExpired = (await allTokens(ctx, "&include_expired=true")).some((t) => t.id === token.id);
      f.expect(withExpired, "not listed with include_expired=true");
      return f.verdict;
    },
  },
  {
    id: "token-list-order",
    assumption: "Tokens are listed in creation order.",
    async run(ctx) {
      const first = await ctx.mustCreateToken("order-1", [await itemReadPolicy(ctx)]);
      const second = await ctx.mustCreateToken("order-2", [await itemReadPolicy(ctx)]);
      const ids = (await allTokens(ctx)).map((t) => t.id);
      const [a, b] = [ids.indexOf(first.id), ids.indexOf(second.id)];
      const f = new Findings();
      f.expect(a !== -1 && b !== -1, `the two new tokens are not both listed (positions ${a}, ${b})`);
      f.expect(a < b, `the later token is listed first (positions ${a}, ${b} of ${ids.length})`);
      return f.verdict;
    },
  },
  {
    id: "token-value-format",
    assumption: "Token values are cfat_ (or cfut_) + 40 alphanumerics + a checksum.",
    async run(ctx) {
      const token = await ctx.itemWriter();
      const f = new Findings();
      f.expect(
        /^cf[au]t_[A-Za-z0-9]{40}[A-Za-z0-9]+$/.test(token.value),
        `a value of ${token.value.length} characters starting ${JSON.stringify(token.value.slice(0, 5))}`,
      );
      return f.verdictWith("the checksum's algorithm is not checked");
    },
  },
  {
    id: "token-update-at-s3",
    assumption: "A policy change by PUT and a rolled value take effect at S3 at once.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const token = await ctx.mustCreateToken("updated", [await itemReadPolicy(ctx)]);
      await ctx.tokenReady(token);
      const f = new Findings();
      const put = await ctx.api("PUT", ctx.account(`/tokens/${token.id}`), {
        body: {
          name: token.name,
          policies: [await ctx.policy(GROUP.itemWrite, { [ctx.bucketKey(bucket)]: "*" })],
          expires_on: ctx.inAnHour(),
        },
      });
      if (put.status !== 200) return refuted(`PUT of the token: ${describeAnswer(put)}`);
      const write = await ctx.s3(`/${bucket}/conformance/updated.txt`, tokenS3Credentials(token), {
        method: "PUT",
        body: "updated",
      });
      f.expect(write.status === 200, `a write right after the PUT: ${describeS3(write)}`);
      const rolled = await ctx.api("PUT", ctx.account(`/tokens/${token.id}/value`), { body: {} });
      if (rolled.status !== 200 || typeof rolled.result !== "string") {
        return refuted(`roll: ${describeAnswer(rolled)}`);
      }
      const read = await ctx.s3(
        `/${bucket}/conformance/updated.txt`,
        tokenS3Credentials({ id: token.id, value: rolled.result }),
      );
      f.expect(acceptedByS3(read), `a read with the rolled value right away: ${describeS3(read)}`);
      return f.verdict;
    },
  },
  {
    id: "token-quota",
    assumption:
      "Deleted tokens free their quota slot at once; the quota error is 400 with code 1010 (invented).",
    async run() {
      return skipped("reaching the quota needs 500 account tokens; not probed");
    },
  },
  {
    id: "token-group-names",
    assumption:
      "Permission groups named Account API Tokens Write/Read (and API Tokens Write/Read for users) exist.",
    async run(ctx) {
      const f = new Findings();
      const groups = await ctx.groups();
      for (const name of ["Account API Tokens Write", "Account API Tokens Read"]) {
        f.expect(groups.has(name), `no account group named ${JSON.stringify(name)}`);
      }
      const user = await ctx.api("GET", "/user/tokens/permission_groups");
      if (user.status !== 200 || !Array.isArray(user.result)) {
        return f.verdictWith(`the user list was not readable with this token (${describeAnswer(user)})`);
      }
      const names = new Set((user.result as { name?: string }[]).map((g) => g.name));
      for (const name of ["API Tokens Write", "API Tokens Read"]) {
        f.expect(names.has(name), `no user group named ${JSON.stringify(name)}`);
      }
      return f.verdict;
    },
  },
  {
    id: "permission-group-categories",
    assumption:
      "Permission-group category is developer_platform for the R2 groups, account_and_billing for the account token groups.",
    async run(ctx) {
      const groups = await ctx.groups();
      const f = new Findings();
      const expected: [string, string][] = [
        ...Object.values(GROUP).map((name): [string, string] => [name, "developer_platform"]),
        ["Account API Tokens Write", "account_and_billing"],
        ["Account API Tokens Read", "account_and_billing"],
      ];
      for (const [name, category] of expected) {
        const g = groups.get(name);
        if (!g) continue;
        f.expect(g.category === category, `${name}: ${JSON.stringify(g.category ?? null)}`);
      }
      return f.verdict;
    },
  },
  {
    id: "permission-group-is-selectable",
    assumption: "Both owners' permission-group lists carry is_selectable.",
    async run(ctx) {
      const f = new Findings();
      const account = [...(await ctx.groups()).values()];
      const without = account.filter((g) => typeof g.is_selectable !== "boolean");
      f.expect(without.length === 0, `${without.length} of ${account.length} account groups lack it`);
      const user = await ctx.api("GET", "/user/tokens/permission_groups");
      if (user.status !== 200 || !Array.isArray(user.result)) {
        return f.verdictWith(`the user list was not readable with this token (${describeAnswer(user)})`);
      }
      const userWithout = (user.result as Record<string, unknown>[]).filter(
        (g) => typeof g.is_selectable !== "boolean",
      );
      f.expect(
        userWithout.length === 0,
        `${userWithout.length} of ${user.result.length} user groups lack it`,
      );
      return f.verdict;
    },
  },
  {
    id: "query-plus",
    assumption: "A + in a query value is a plus, not a space: name=Workers+R2+… names no group, %20 does.",
    async run(ctx) {
      const name = GROUP.itemWrite;
      const lookup = async (encoded: string) => {
        const res = await ctx.api("GET", ctx.account(`/tokens/permission_groups?name=${encoded}`));
        if (res.status !== 200 || !Array.isArray(res.result))
          throw new Error(`lookup: ${describeAnswer(res)}`);
        return (res.result as { name?: string }[]).filter((g) => g.name === name).length;
      };
      if (!(await ctx.groups()).has(name))
        throw new Skip(`no permission group named ${JSON.stringify(name)}`);
      const f = new Findings();
      const plus = await lookup(name.replaceAll(" ", "+"));
      f.expect(plus === 0, "a + was read as a space (the group was found)");
      const percent = await lookup(encodeURIComponent(name));
      f.expect(percent === 1, "%20 found no group");
      return f.verdict;
    },
  },
  {
    id: "storage-write-covers-items",
    assumption: "Workers R2 Storage Write covers the bucket item groups on every bucket of the account.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const token = await ctx.mustCreateToken("storage-writer", [
        await ctx.policy(GROUP.storageWrite, { [ctx.accountKey()]: "*" }),
      ]);
      await ctx.tokenReady(token);
      const put = await ctx.s3(`/${bucket}/conformance/storage-writer.txt`, tokenS3Credentials(token), {
        method: "PUT",
        body: "w",
      });
      return holds(put.status === 200, `an object write: ${describeS3(put)}`);
    },
  },
  {
    id: "tokens-write-covers-read",
    assumption:
      "Account API Tokens Write includes reading tokens: a token holding only it lists the account's tokens.",
    async run(ctx) {
      const writer = await ctx.apiReady(
        await ctx.mustCreateToken("tokens-writer", [
          await ctx.policy("Account API Tokens Write", { [ctx.accountKey()]: "*" }),
        ]),
      );
      const list = await ctx.api("GET", ctx.account("/tokens?per_page=5"), { token: writer.value });
      return holds(list.status === 200, `a list with it: ${describeAnswer(list)}`);
    },
  },
  {
    id: "grant-within-holdings",
    assumption:
      "A token may grant only what it holds: with Tokens Write and Bucket Item Read on a bucket it may create Item Read there, not Item Write.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const resource = { [ctx.bucketKey(bucket)]: "*" };
      const minter = await ctx.apiReady(
        await ctx.mustCreateToken("narrow-minter", [
          await ctx.policy("Account API Tokens Write", { [ctx.accountKey()]: "*" }),
          await ctx.policy(GROUP.itemRead, resource),
        ]),
      );
      const as = { token: minter.value };
      const within = await ctx.createToken(
        "within-holdings",
        { policies: [await ctx.policy(GROUP.itemRead, resource)] },
        as,
      );
      const beyond = await ctx.createToken(
        "beyond-holdings",
        { policies: [await ctx.policy(GROUP.itemWrite, resource)] },
        as,
      );
      const f = new Findings();
      f.expect(within.answer.status === 200, `granting what it holds: ${describeAnswer(within.answer)}`);
      f.expect(
        beyond.answer.status !== 200,
        `granting more: ${beyond.answer.status === 200 ? "created a token" : describeAnswer(beyond.answer)}`,
      );
      return f.verdict;
    },
  },
  {
    id: "group-resource-scope",
    assumption:
      "A group applies only to resources of its type: Bucket Item Read on an account key grants nothing.",
    async run(ctx) {
      const { answer, token } = await ctx.createToken("misscoped", {
        policies: [await ctx.policy(GROUP.itemRead, { [ctx.accountKey()]: "*" })],
      });
      if (!token) return refuted(`the create was refused: ${describeAnswer(answer)}`);
      await ctx.controlReady();
      const { bucket, key } = await ctx.probeObject();
      const read = await ctx.s3(`/${bucket}/${key}`, tokenS3Credentials(token));
      return holds(!acceptedByS3(read), `a read with it: ${describeS3(read)}`);
    },
  },
];
