// The emulator's Cloudflare API for tokens, over HTTP: the token lifecycle, user tokens, auth and
// routing errors, what a caller may grant, permission groups and quotas.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { startEmulator } from "../../emulator/index.js";
import { useEmulator } from "../helpers/use-emulator.js";
import {
  accountPolicy,
  bucketPolicy,
  client,
  ID,
  ITEM_READ,
  ITEM_WRITE,
  inAnHour,
  STORAGE_READ,
  STORAGE_WRITE,
} from "./support.js";

const emu = useEmulator({ buckets: ["my-bucket"], leftovers: "keep" });
const api = client(() => emu.emulator);

describe("Cloudflare API: tokens", () => {
  it("creates, lists, gets, updates, rolls and deletes an account token", async () => {
    const base = `/accounts/${emu.emulator.accountId}/tokens`;
    const created = await api("POST", base, emu.minter.value, {
      name: "child",
      policies: [bucketPolicy(emu.emulator, ITEM_WRITE, "my-bucket")],
      expires_on: inAnHour(),
    });
    expect(created.status).toBe(200);
    const t = created.body.result;
    expect(t.id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.value).toMatch(/^cfat_[A-Za-z0-9]{40}[0-9a-f]{8}$/);
    expect(t.status).toBe("active");
    expect(t.policies[0].id).toMatch(/^[0-9a-f]{32}$/);
    expect(t.policies[0].permission_groups[0]).toEqual({
      id: ITEM_WRITE,
      name: "Workers R2 Storage Bucket Item Write",
    });
    expect(emu.emulator.liveChildTokens().map((x) => x.id)).toEqual([t.id]);

    const list = await api("GET", `${base}?per_page=5`, emu.minter.value);
    expect(list.body.result.map((x: { id: string }) => x.id)).toContain(t.id);
    expect(list.body.result_info).toMatchObject({ page: 1, per_page: 5, count: 2, total_count: 2 });
    expect(JSON.stringify(list.body)).not.toContain(t.value);

    const got = await api("GET", `${base}/${t.id}`, emu.minter.value);
    expect(got.body.result.value).toBeUndefined();
    expect(got.body.result.name).toBe("child");

    const updated = await api("PUT", `${base}/${t.id}`, emu.minter.value, {
      name: "renamed",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
    });
    expect(updated.status).toBe(200);
    expect(updated.body.result.name).toBe("renamed");
    expect(updated.body.result.expires_on).toBeUndefined();

    const rolled = await api("PUT", `${base}/${t.id}/value`, emu.minter.value, {});
    expect(rolled.body.result).toMatch(/^cfat_/);
    expect((await api("GET", `${base}/verify`, t.value)).status).toBe(401);
    expect((await api("GET", `${base}/verify`, rolled.body.result)).body.result.id).toBe(t.id);

    const deleted = await api("DELETE", `${base}/${t.id}`, emu.minter.value);
    expect(deleted.body).toEqual({ success: true, errors: [], messages: [], result: { id: t.id } });
    expect(emu.emulator.liveChildTokens()).toEqual([]);
    expect((await api("DELETE", `${base}/${t.id}`, emu.minter.value)).status).toBe(404);
    expect((await api("GET", `${base}/verify`, rolled.body.result)).body.errors[0]?.code).toBe(1000);
    // Calls record the caller's id, never a value.
    expect(emu.emulator.calls.every((c) => !JSON.stringify(c).includes(emu.minter.value))).toBe(true);
    expect(emu.emulator.calls.at(-1)?.route).toBe("tokens.verify");
  });

  it("handles user tokens, and verify is per token type", async () => {
    const userMinter = emu.emulator.seedToken({ scope: "user", preset: "user-minter" });
    expect(userMinter.value).toMatch(/^cfut_/);
    const created = await api("POST", "/user/tokens", userMinter.value, {
      name: "user child",
      policies: [bucketPolicy(emu.emulator, ITEM_WRITE, "my-bucket")],
    });
    expect(created.status).toBe(200);
    expect(created.body.result.value).toMatch(/^cfut_/);
    const v = await api("GET", "/user/tokens/verify", created.body.result.value);
    expect(v.body.result).toEqual({ id: created.body.result.id, status: "active" });
    expect(v.body.messages).toEqual([
      { code: 10000, message: "This API Token is valid and active", type: null },
    ]);
    // docs/cloudflare-api.md §6, pitfall 4.
    const wrongVerify = await api("GET", "/user/tokens/verify", emu.minter.value);
    expect(wrongVerify.status).toBe(401);
    expect(wrongVerify.body.errors[0]?.code).toBe(1000);
    expect(
      (await api("GET", `/accounts/${emu.emulator.accountId}/tokens/verify`, userMinter.value)).body.errors[0]
        ?.code,
    ).toBe(1000);
    // The account minter cannot manage user tokens, and vice versa.
    expect(
      (await api("POST", "/user/tokens", emu.minter.value, { name: "x", policies: [] })).body.errors[0]?.code,
    ).toBe(9109);
    const userList = await api("GET", "/user/tokens", userMinter.value);
    expect(userList.body.result.map((x: { id: string }) => x.id)).toContain(created.body.result.id);
    expect((await api("GET", `/user/tokens/${created.body.result.id}`, userMinter.value)).status).toBe(200);
    expect((await api("DELETE", `/user/tokens/${created.body.result.id}`, userMinter.value)).status).toBe(
      200,
    );
  });

  it("answers auth and routing errors with Cloudflare codes", async () => {
    const base = `/accounts/${emu.emulator.accountId}/tokens`;
    const missing = await api("GET", `${base}/verify`, undefined);
    expect([missing.status, missing.body.errors[0]?.code]).toEqual([400, 1001]);
    const malformed = await api("GET", `${base}/verify`, undefined, undefined, {
      authorization: "Token abc",
    });
    expect([malformed.status, malformed.body.errors[0]?.code]).toEqual([400, 6003]);
    expect((malformed.body.errors[0] as { error_chain?: unknown[] }).error_chain).toHaveLength(1);
    const unknown = await api("GET", `${base}/verify`, "cfat_nope");
    expect([unknown.status, unknown.body.errors[0]?.code, unknown.body.result]).toEqual([401, 1000, null]);
    const noRoute = await api("GET", "/accounts/x/nothing", emu.minter.value);
    expect([noRoute.status, noRoute.body.errors[0]?.code]).toEqual([404, 7003]);
    const badMethod = await api("PATCH", base, emu.minter.value, {});
    expect([badMethod.status, badMethod.body.errors[0]?.code]).toEqual([405, 7000]);
    const otherAccount = await api(
      "GET",
      "/accounts/ffffffffffffffffffffffffffffffff/tokens",
      emu.minter.value,
    );
    expect([otherAccount.status, otherAccount.body.errors[0]?.code]).toEqual([403, 9109]);
    const badJson = await fetch(`${emu.emulator.apiUrl}${base}`, {
      method: "POST",
      headers: { authorization: `Bearer ${emu.minter.value}` },
      body: "{not json",
    });
    expect(badJson.status).toBe(400);
  });

  it("refuses what the caller may not do", async () => {
    const base = `/accounts/${emu.emulator.accountId}/tokens`;
    const r2Admin = emu.emulator.seedToken({ scope: "account", preset: "r2-admin" });
    const noToken = await api("POST", base, r2Admin.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
    });
    expect([noToken.status, noToken.body.errors[0]?.code]).toEqual([403, 9109]);
    expect((await api("GET", base, r2Admin.value)).body.errors[0]?.code).toBe(9109);

    // Token-write without R2 permissions cannot grant R2 groups.
    const tokensOnly = emu.emulator.seedToken({
      scope: "account",
      policies: [
        accountPolicy(emu.emulator, ID["Account API Tokens Write"] ?? ""),
        {
          effect: "allow",
          permission_groups: [{ id: ITEM_READ }],
          resources: { [`com.cloudflare.edge.r2.bucket.${emu.emulator.accountId}_default_my-bucket`]: "*" },
        },
      ],
    });
    const more = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, ITEM_WRITE, "my-bucket")],
    });
    expect([more.status, more.body.errors[0]?.code]).toEqual([403, 9109]);
    const storageRead = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [accountPolicy(emu.emulator, STORAGE_READ)],
    });
    expect([storageRead.status, storageRead.body.errors[0]?.code]).toEqual([403, 9109]);
    const same = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
    });
    expect(same.status).toBe(200);
    const deny = await api("POST", base, tokensOnly.value, {
      name: "x",
      policies: [{ ...bucketPolicy(emu.emulator, STORAGE_WRITE, "my-bucket"), effect: "deny" }],
    });
    expect(deny.status).toBe(200);

    const unknownGroup = await api("POST", base, emu.minter.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, "0123456789abcdef0123456789abcdef", "my-bucket")],
    });
    expect([unknownGroup.status, unknownGroup.body.errors[0]?.code]).toEqual([400, 1001]);
    const past = await api("POST", base, emu.minter.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
      expires_on: "2020-01-01T00:00:00Z",
    });
    expect(past.status).toBe(400);
    const longName = await api("POST", base, emu.minter.value, {
      name: "n".repeat(121),
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
    });
    expect(longName.status).toBe(400);
    const noName = await api("POST", base, emu.minter.value, {
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
    });
    expect(noName.status).toBe(400);
    const badDate = await api("POST", base, emu.minter.value, {
      name: "x",
      policies: [bucketPolicy(emu.emulator, ITEM_READ, "my-bucket")],
      expires_on: "tomorrow",
    });
    expect(badDate.status).toBe(400);
  });

  it("lists permission groups with name and scope filters, without special permissions", async () => {
    const none = emu.emulator.seedToken({ scope: "account", preset: "no-permissions" });
    const name = encodeURIComponent("Workers R2 Storage Bucket Item Write");
    const one = await api(
      "GET",
      `/accounts/${emu.emulator.accountId}/tokens/permission_groups?name=${name}`,
      none.value,
    );
    expect(one.body.result).toEqual([
      expect.objectContaining({
        id: ITEM_WRITE,
        name: "Workers R2 Storage Bucket Item Write",
        scopes: ["com.cloudflare.edge.r2.bucket"],
      }),
    ]);
    const scoped = await api(
      "GET",
      "/user/tokens/permission_groups?scope=com.cloudflare.edge.r2.bucket",
      none.value,
    );
    expect(scoped.body.result.map((g: { id: string }) => g.id).sort()).toEqual(
      [ITEM_WRITE, ITEM_READ].sort(),
    );
  });

  it("enforces quotas", async () => {
    const small = await startEmulator({ quotas: { user: 1, account: 2 } });
    try {
      const m = small.seedToken({ scope: "account", preset: "minter" });
      const a = client(small);
      const body = { name: "q", policies: [bucketPolicy(small, ITEM_READ, "b-1")] };
      expect((await a("POST", `/accounts/${small.accountId}/tokens`, m.value, body)).status).toBe(200);
      const over = await a("POST", `/accounts/${small.accountId}/tokens`, m.value, body);
      expect(over.status).toBe(400);
      expect(over.body.errors[0]?.message).toMatch(/quota/i);
    } finally {
      await small.close();
    }
  });

  it("gives permission groups category slugs and is_selectable on both owners' lists", async () => {
    for (const path of [
      `/accounts/${emu.emulator.accountId}/tokens/permission_groups`,
      "/user/tokens/permission_groups",
    ]) {
      const groups = (await api("GET", path, emu.minter.value)).body.result as {
        name: string;
        category: string;
        is_selectable: boolean;
      }[];
      expect(groups.every((g) => g.is_selectable === true)).toBe(true);
      expect(groups.filter((g) => g.name.startsWith("Workers R2")).map((g) => g.category)).toEqual(
        Array(4).fill("developer_platform"),
      );
      expect(groups.every((g) => /^[a-z_]+$/.test(g.category))).toBe(true);
    }
  });

  it("lists odd-shaped tokens as they are, and reads and deletes them like any other", async () => {
    const odd = emu.emulator.seedOddTokens(3);
    const base = `/accounts/${emu.emulator.accountId}/tokens`;
    const all: Record<string, unknown>[] = [];
    for (let page = 1; ; page++) {
      const res = await api("GET", `${base}?per_page=50&page=${page}`, emu.minter.value);
      if (res.body.result.length === 0) break;
      all.push(...res.body.result);
    }
    const listed = odd.map(({ id }) => all.find((t) => t.id === id));
    expect(listed.map((t) => t?.name)).toEqual(odd.map((t) => t.name));
    const [oauth, newer, sparse] = listed as Record<string, unknown>[];
    expect(oauth).toMatchObject({ provisioner_type: "oauth", expires_on: null });
    expect(oauth).not.toHaveProperty("issued_on");
    expect(oauth).not.toHaveProperty("status");
    expect(newer).toMatchObject({ policies: null, last_used_on: null });
    expect(sparse).not.toHaveProperty("modified_on");
    // Each fails a parser that requires what the project's own tokens carry.
    const strict = z.object({
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
    for (const t of listed) expect(strict.safeParse(t).success, JSON.stringify(t)).toBe(false);
    const ordinary = all.filter((t) => !odd.some((o) => o.id === t.id));
    for (const t of ordinary) expect(strict.safeParse(t).success).toBe(true);
    const got = await api("GET", `${base}/${odd[0]?.id}`, emu.minter.value);
    expect(got.body.result).toEqual(oauth);
    expect((await api("DELETE", `${base}/${odd[1]?.id}`, emu.minter.value)).status).toBe(200);
    expect(emu.emulator.liveTokens().map((t) => t.id)).not.toContain(odd[1]?.id);
    expect(emu.emulator.liveChildTokens().map((t) => t.id)).not.toContain(odd[0]?.id);

    const seeded = await fetch(`${emu.emulator.inspectUrl}/seed-odd`, {
      method: "POST",
      body: JSON.stringify({ count: 2 }),
    });
    expect(((await seeded.json()) as unknown[]).length).toBe(2);
    expect((await fetch(`${emu.emulator.inspectUrl}/seed-odd`, { method: "POST", body: "{}" })).status).toBe(
      400,
    );
  });
});
