/**
 * doctor: "is this token what I need?" for the token in CLOUDFLARE_API_TOKEN. Reads only. Exit 0 when
 * every checked capability is possible, 1 when one is not, 3 when none is impossible but one could
 * not be decided, 2 for a failure of our own (flags, network, Cloudflare itself).
 */
import {
  CAPABILITIES,
  type Capability,
  type DoctorReport,
  doctor,
  doctorExitCode,
  type Verdict,
} from "../../doctor.js";
import { describeError } from "../../errors.js";
import { JURISDICTIONS, type Jurisdiction, PERMISSIONS, type Permission } from "../../terms.js";
import * as cli from "../common.js";

function checks(values: cli.Values): Capability[] {
  const asked = cli.splitListFlag(values, "check");
  for (const check of asked) {
    if (!(CAPABILITIES as readonly string[]).includes(check)) {
      throw cli.usage(
        `Flag --check is ${JSON.stringify(check)}, which is not a capability. Use one of: ${CAPABILITIES.join(", ")}.`,
      );
    }
  }
  return asked.length === 0 ? [...CAPABILITIES] : CAPABILITIES.filter((c) => asked.includes(c));
}

function line(v: Verdict): string {
  const subject = v.bucket ? `${v.capability} (${v.bucket})` : v.capability;
  const lines = [`${v.status.padEnd(10)}  ${subject}: ${v.basis} — ${v.because}`];
  if (v.only) lines.push(`            only for: ${v.only.join(", ")}`);
  for (const m of v.missing) {
    lines.push(
      `            missing: ${m.group} on ${m.resource}${m.or ? ` (or ${m.or.group} on ${m.or.resource})` : ""}`,
    );
  }
  if (v.checks.length > 0) lines.push(`            rests on: ${v.checks.join(", ")} (npm run conformance)`);
  return lines.join("\n");
}

function text(report: DoctorReport): string {
  const t = report.token;
  const head = t.id
    ? `Token ${t.id} (${t.owner}-owned, ${t.status ?? "active"}${t.expiresOn ? `, expires ${t.expiresOn}` : ""}): its own policies were ${t.policies === "read" ? "read, so the verdicts are known" : "not readable, so the verdicts are inferred"}.`
    : "The token is not valid.";
  const scope = `Checked for ${report.permission}${report.buckets.length ? ` on ${report.buckets.join(", ")} (jurisdiction ${report.jurisdiction})` : " on any bucket"}.`;
  return [
    head,
    scope,
    "",
    ...report.verdicts.map(line),
    ...(report.notes.length ? ["", ...report.notes] : []),
    "",
  ].join("\n");
}

async function run(values: cli.Values, deps: cli.CliDeps): Promise<number> {
  const format = cli.oneOf(values, "format", ["text", "json"] as const, "text");
  const buckets = cli.splitListFlag(values, "bucket");
  for (const bucket of buckets) cli.checkBucketName("bucket", bucket, "has");
  const request = {
    buckets,
    checks: checks(values),
    permission: cli.oneOf<Permission>(values, "permission", PERMISSIONS, "object-read-only"),
    jurisdiction: cli.oneOf<Jurisdiction>(values, "jurisdiction", JURISDICTIONS, "default"),
  };
  const { target, apiUrl } = cli.tokenTarget(values, deps);
  let report: DoctorReport;
  try {
    report = await doctor(cli.clientFor(apiUrl, deps), {
      ...request,
      token: target.token,
      accountId: target.accountId,
      scope: cli.str(values, "token-scope") === undefined ? undefined : target.scope,
    });
  } catch (error) {
    // Exit 1 means "a capability is impossible": a failure of ours must not read like that.
    deps.stderr(`error: ${describeError(error, "cli")}\n`);
    return cli.EXIT.usage;
  }
  const code = doctorExitCode(report);
  deps.stdout(
    format === "json" ? `${JSON.stringify({ ...report, exitCode: code }, null, 2)}\n` : text(report),
  );
  return code;
}

export const doctorCommand: cli.Command = {
  options: {
    ...cli.helpFlag,
    ...cli.accessFlags,
    bucket: { type: "string", multiple: true },
    check: { type: "string", multiple: true },
    permission: { type: "string" },
    jurisdiction: { type: "string" },
    format: { type: "string" },
  },
  run,
};
