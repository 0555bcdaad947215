// The undocumented rules the emulator can be switched between: their defaults (what the evidence
// points to, docs/cloudflare-api.md §8) and, for each switch, the other values and the check of
// `npm run conformance` that settles it on a real account (emulator/README.md, "Assumptions").
import type { Assumptions, EmulatorOptions, TempAccessKeyId, TempCredentialCallers } from "./types.js";

export const DEFAULT_ASSUMPTIONS: Readonly<Assumptions> = Object.freeze({
  bucketScopedRestCallers: "refused",
  tempCredentialJurisdiction: "header",
  bucketCreateConflictStatus: 409,
  unknownPermissionGroup: "400/1001",
  queryPlus: "literal",
  checksumTrailer: "refused",
  deleteGoneToken: "404/7003",
});

export const DEFAULT_TEMP_CREDENTIAL_CALLERS: TempCredentialCallers = "storage-write";
export const DEFAULT_TEMP_ACCESS_KEY_ID: TempAccessKeyId = "own";

/** The values each assumption may take, the default first. */
export const ASSUMPTION_VALUES: { readonly [K in keyof Assumptions]: readonly Assumptions[K][] } = {
  bucketScopedRestCallers: ["refused", "allowed"],
  tempCredentialJurisdiction: ["header", "any"],
  bucketCreateConflictStatus: [409, 400],
  unknownPermissionGroup: ["400/1001", "403/9109", "404/7003"],
  queryPlus: ["literal", "space"],
  checksumTrailer: ["refused", "accepted"],
  deleteGoneToken: ["404/7003", "403/9109"],
};

/** One switch: the option that holds it, its values (default first) and the check that settles it. */
export interface AssumptionSwitch {
  /** `assumptions.<name>` or a top-level option. */
  option: string;
  values: readonly (string | number)[];
  check: string;
  /** The emulator options that set this switch to `value`. */
  options(value: string | number): EmulatorOptions;
}

const inAssumptions = <K extends keyof Assumptions>(name: K, check: string): AssumptionSwitch => ({
  option: `assumptions.${name}`,
  values: ASSUMPTION_VALUES[name],
  check,
  options: (value) => ({ assumptions: { [name]: value } as Partial<Assumptions> }),
});

export const ASSUMPTION_SWITCHES: readonly AssumptionSwitch[] = [
  inAssumptions("bucketScopedRestCallers", "bucket-scoped-rest-callers"),
  inAssumptions("tempCredentialJurisdiction", "temp-creds-jurisdiction"),
  inAssumptions("bucketCreateConflictStatus", "bucket-create-conflict"),
  inAssumptions("unknownPermissionGroup", "unknown-permission-group"),
  inAssumptions("queryPlus", "query-plus"),
  inAssumptions("checksumTrailer", "checksum-trailer"),
  inAssumptions("deleteGoneToken", "delete-gone-token"),
  {
    option: "tempCredentialCallers",
    values: [DEFAULT_TEMP_CREDENTIAL_CALLERS, "parent-or-storage-write", "parent"],
    check: "temp-creds-callers",
    options: (value) => ({ tempCredentialCallers: value as TempCredentialCallers }),
  },
  {
    option: "tempAccessKeyId",
    values: [DEFAULT_TEMP_ACCESS_KEY_ID, "parent"],
    check: "temp-creds-access-key-id",
    options: (value) => ({ tempAccessKeyId: value as TempAccessKeyId }),
  },
];

/** Defaults merged with `partial`; throws on a name or value the emulator does not know. */
export function resolveAssumptions(
  partial: Partial<Assumptions> = {},
  base: Readonly<Assumptions> = DEFAULT_ASSUMPTIONS,
): Assumptions {
  const out: Assumptions = { ...base };
  for (const [name, value] of Object.entries(partial)) {
    if (value === undefined) continue;
    const allowed = (ASSUMPTION_VALUES as Record<string, readonly unknown[]>)[name];
    if (!allowed) throw new Error(`assumptions: unknown assumption ${JSON.stringify(name)}`);
    if (!allowed.includes(value)) {
      throw new Error(
        `assumptions.${name}: ${JSON.stringify(value)} is not one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`,
      );
    }
    (out as unknown as Record<string, unknown>)[name] = value;
  }
  return out;
}

/**
 * `name=value` (`queryPlus=space`, `tempCredentialCallers=parent`, …) as the options that set it;
 * throws a message naming the choices otherwise. For command lines (`--assume`).
 */
export function parseAssumptionSetting(raw: string): EmulatorOptions {
  const eq = raw.indexOf("=");
  const name = eq === -1 ? raw : raw.slice(0, eq);
  const value = eq === -1 ? "" : raw.slice(eq + 1);
  const sw = ASSUMPTION_SWITCHES.find((s) => s.option === name || s.option === `assumptions.${name}`);
  if (!sw) {
    const names = ASSUMPTION_SWITCHES.map((s) => s.option.replace(/^assumptions\./, "")).join(", ");
    throw new Error(`--assume ${JSON.stringify(name)}: no such assumption; one of ${names}`);
  }
  const typed = sw.values.find((v) => String(v) === value);
  if (typed === undefined) {
    throw new Error(`--assume ${name}: ${JSON.stringify(value)} is not one of ${sw.values.join(", ")}`);
  }
  return sw.options(typed);
}

/** Options merged, assumptions included. */
export function mergeOptions(a: EmulatorOptions, b: EmulatorOptions): EmulatorOptions {
  return { ...a, ...b, assumptions: { ...a.assumptions, ...b.assumptions } };
}
