// Checks of the v4 API's answers to requests that go wrong: authentication, routing, bodies.
import { setTimeout as sleep } from "node:timers/promises";
import { type Check, Findings, holds } from "../check.js";
import { answerIs, describeAnswer, randomHex } from "../http.js";

export const apiChecks: Check[] = [
  {
    id: "auth-header-errors",
    assumption:
      "A missing Authorization header is 400/1001; one that is not `Bearer …` is 400/6003 with chain 6111.",
    async run(ctx) {
      const f = new Findings();
      const verify = ctx.account("/tokens/verify");
      const missing = await ctx.api("GET", verify, { token: null });
      f.expect(answerIs(missing, 400, 1001), `no header: ${describeAnswer(missing)}`);
      const malformed = await ctx.api("GET", verify, {
        token: null,
        headers: { authorization: "Token abc" },
      });
      const chain = malformed.errors[0]?.error_chain?.map((e) => e.code) ?? [];
      f.expect(
        answerIs(malformed, 400, 6003) && chain.includes(6111),
        `"Token abc": ${describeAnswer(malformed)}, chain ${chain.join(",") || "none"}`,
      );
      return f.verdict;
    },
  },
  {
    id: "invalid-token",
    assumption: "An unknown or deleted token is answered 401/1000.",
    async run(ctx) {
      const f = new Findings();
      const verify = ctx.account("/tokens/verify");
      const made = `cfat_${randomHex(20)}${randomHex(4)}`;
      const unknown = await ctx.api("GET", verify, { token: made });
      f.expect(answerIs(unknown, 401, 1000), `an unknown token: ${describeAnswer(unknown)}`);
      const bucket = await ctx.bucket();
      const token = await ctx.mustCreateToken("deleted", [
        await ctx.policy("Workers R2 Storage Bucket Item Read", { [ctx.bucketKey(bucket)]: "*" }),
      ]);
      const deleted = await ctx.deleteToken(token.id);
      f.expect(deleted.status === 200, `DELETE of the token: ${describeAnswer(deleted)}`);
      // The API may take a moment to forget a deleted token; a refusal within the wait counts.
      const start = Date.now();
      let after = await ctx.api("GET", verify, { token: token.value });
      while (after.status === 200 && Date.now() - start < Math.min(ctx.readyTimeoutMs, 30_000)) {
        await sleep(ctx.pollIntervalMs, undefined, { signal: ctx.signal });
        after = await ctx.api("GET", verify, { token: token.value });
      }
      f.expect(answerIs(after, 401, 1000), `a deleted token: ${describeAnswer(after)}`);
      const waited = Date.now() - start;
      return waited > 1_000 ? f.verdictWith(`the API refused it ${waited} ms after the DELETE`) : f.verdict;
    },
  },
  {
    id: "malformed-json",
    assumption: "A request body that is not JSON is answered 400/6007.",
    async run(ctx) {
      const res = await ctx.api("POST", ctx.account("/tokens"), { rawBody: "{not json" });
      return holds(answerIs(res, 400, 6007), describeAnswer(res));
    },
  },
  {
    id: "validation-code",
    assumption: "A request that fails validation (a token with an empty name) is answered 400/1001.",
    async run(ctx) {
      const bucket = await ctx.bucket();
      const res = await ctx.api("POST", ctx.account("/tokens"), {
        body: {
          name: "",
          policies: [
            await ctx.policy("Workers R2 Storage Bucket Item Read", { [ctx.bucketKey(bucket)]: "*" }),
          ],
          expires_on: ctx.inAnHour(),
        },
      });
      // A token made anyway has no name to sweep by: track it by id.
      if (typeof res.result?.id === "string") ctx.resources.token(res.result.id, "(empty name)");
      return holds(answerIs(res, 400, 1001), describeAnswer(res));
    },
  },
  {
    id: "unknown-route",
    assumption: "An unknown path is 404/7003; a known path with another method is 405/7000.",
    async run(ctx) {
      const f = new Findings();
      const none = await ctx.api("GET", ctx.account("/r2/no-such-route"));
      f.expect(answerIs(none, 404, 7003), `unknown path: ${describeAnswer(none)}`);
      const method = await ctx.api("PATCH", ctx.account("/tokens"), { body: {} });
      f.expect(answerIs(method, 405, 7000), `PATCH …/tokens: ${describeAnswer(method)}`);
      return f.verdict;
    },
  },
  {
    id: "foreign-account",
    assumption: "A malformed account id is 404/7003; a well-formed id of another account is 403/9109.",
    async run(ctx) {
      const f = new Findings();
      const other = await ctx.api("GET", `/accounts/${randomHex(16)}/tokens`);
      f.expect(answerIs(other, 403, 9109), `another account: ${describeAnswer(other)}`);
      const malformed = await ctx.api("GET", "/accounts/not-an-account/tokens");
      f.expect(answerIs(malformed, 404, 7003), `a malformed id: ${describeAnswer(malformed)}`);
      return f.verdict;
    },
  },
  {
    id: "verify-cross-owner",
    assumption: "Each owner's verify answers 401/1000 for the other owner's tokens.",
    async run(ctx) {
      const self = await ctx.self();
      const other = self.owner === "account" ? "/user/tokens/verify" : ctx.account("/tokens/verify");
      const res = await ctx.api("GET", other);
      const f = new Findings();
      f.expect(answerIs(res, 401, 1000), `${self.owner} token on ${other}: ${describeAnswer(res)}`);
      return f.verdictWith(`probed with the run's ${self.owner}-owned token only`);
    },
  },
  {
    id: "rate-limit-accounting",
    assumption: "Only authenticated calls count toward the rate limit, and refused (429) calls do not.",
    async run() {
      return {
        verdict: "skipped",
        why: "probing it would spend the token's 1200 calls per 5 minutes and block it for 5 minutes",
      };
    },
  },
];
