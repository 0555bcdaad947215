/**
 * What a run of the action against the emulator (emulator/index.ts) needs besides the runner: a
 * bucket name of its own and the inputs that point the action at the emulator. Shared by the tests,
 * the demo and the benchmarks.
 */
import { randomBytes } from "node:crypto";
import type { Emulator, SeededToken } from "../../emulator/index.js";
import type { Inputs } from "./runner.js";

let counter = 0;
/** A bucket name no other run uses (valid R2 name: lower-case letters, digits, hyphens). */
export function bucketName(label = "bkt"): string {
  counter += 1;
  return `${label}-${counter}-${randomBytes(3).toString("hex")}`;
}

/** Inputs that point the action at the emulator (API and S3 endpoint of the jurisdiction). */
export function emulatorInputs(
  emulator: Emulator,
  token: SeededToken,
  bucket: string,
  overrides: Inputs = {},
): Inputs {
  const jurisdiction = overrides.jurisdiction ?? "default";
  return {
    "api-token": token.value,
    "account-id": emulator.accountId,
    bucket,
    "api-url": emulator.apiUrl,
    "s3-endpoint": emulator.s3Endpoint(jurisdiction === "default" ? undefined : (jurisdiction as "eu")),
    ...overrides,
  };
}
