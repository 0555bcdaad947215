// Bucket CORS rules as people write them (src/cors.ts): which origins a browser can send, and what
// the flags and a file turn into, before anything reaches Cloudflare.
import { describe, expect, it } from "vitest";
import { corsRuleFromFlags, corsRulesFromJson, originProblem } from "../../src/cors.js";
import { type ActionError, InputError } from "../../src/errors.js";

describe("originProblem", () => {
  it.each([
    "https://my-site.pages.dev",
    "http://localhost:5173",
    "http://127.0.0.1:8788",
    "http://[::1]:3000",
    "https://xn--bcher-kva.example",
    "*",
  ])("accepts %s, as a browser sends it", (origin) => {
    expect(originProblem(origin)).toBeUndefined();
  });

  it.each([
    ["https://my-site.pages.dev/", "has a path or a trailing slash"],
    ["https://my-site.pages.dev/app", "has a path or a trailing slash"],
    ["https://my-site.pages.dev?x=1", "has a query or fragment"],
    ["https://user@my-site.pages.dev", "has a user name or password"],
    ["my-site.pages.dev", "does not start with https:// or http://"],
    ["ftp://my-site.pages.dev", "does not start with https:// or http://"],
    ["https://My-Site.pages.dev", "is not written as a browser sends it (https://my-site.pages.dev)"],
    ["https://my-site.pages.dev:443", "is not written as a browser sends it (https://my-site.pages.dev)"],
    ["http://localhost:80", "is not written as a browser sends it (http://localhost)"],
    ["https://", "is not a URL"],
  ])("refuses %s: %s", (origin, why) => {
    expect(originProblem(origin)).toBe(why);
  });
});

describe("corsRuleFromFlags", () => {
  it("makes one rule: methods upper-cased, duplicates dropped, optional parts only when given", () => {
    expect(
      corsRuleFromFlags({
        origins: ["https://a.example", "https://a.example"],
        methods: ["put", "GET", "PUT"],
        headers: [],
        exposeHeaders: [],
        maxAge: undefined,
      }),
    ).toEqual({ allowed: { origins: ["https://a.example"], methods: ["PUT", "GET"] } });
    expect(
      corsRuleFromFlags({
        origins: ["*"],
        methods: ["GET"],
        headers: ["content-type", "x-amz-meta-*"],
        exposeHeaders: ["ETag"],
        maxAge: "2h",
      }),
    ).toEqual({
      allowed: { origins: ["*"], methods: ["GET"], headers: ["content-type", "x-amz-meta-*"] },
      exposeHeaders: ["ETag"],
      maxAgeSeconds: 7200,
    });
  });

  it("names every bad flag at once, in the CLI's words", () => {
    const error = (() => {
      try {
        corsRuleFromFlags({
          origins: [],
          methods: [],
          headers: ["bad header"],
          exposeHeaders: [],
          maxAge: "86401",
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).render("cli").split("\n")).toEqual([
      "Flag --origin is required: the origins of your front end, e.g. https://my-site.pages.dev or http://localhost:5173.",
      "Flag --method is required: the methods browsers may use, e.g. GET and PUT.",
      'Flag --header has "bad header", which is not a header name (e.g. content-type).',
      'Flag --max-age is "86401", which is not a time of at most 86400 s (1d). Use seconds or 10m, 1h; browsers cap it at about 2h anyway.',
    ]);
  });
});

describe("corsRulesFromJson", () => {
  it("takes the API's shape as get prints it", () => {
    const rules = [
      { id: "x", allowed: { origins: ["https://a.example"], methods: ["GET"] }, maxAgeSeconds: 60 },
    ];
    expect(corsRulesFromJson(JSON.stringify({ rules }), "f.json")).toEqual(rules);
    expect(corsRulesFromJson('{ "rules": [] }', "f.json")).toEqual([]);
  });

  it("refuses a bare list of API rules with the wrapper to add, and text that is not JSON", () => {
    const bare = [{ allowed: { origins: ["https://a.example"], methods: ["GET"] } }];
    const error = (() => {
      try {
        corsRulesFromJson(JSON.stringify(bare), "f.json");
      } catch (e) {
        return e as ActionError;
      }
    })();
    expect(error?.render("cli")).toContain(
      'is a bare list of rules; the API takes them inside a "rules" wrapper.',
    );
    expect(error?.hint).toBe(`Write it as:\n${JSON.stringify({ rules: bare }, null, 2)}`);
    expect(() => corsRulesFromJson("{ rules: [] }", "f.json")).toThrow(/is not JSON/);
  });
});
