// Every check of `npm run conformance`, in the order they run: the propagation measurement first (its
// token has the longest to wait), the rest grouped by what they touch.
import type { Check } from "./check.js";
import { apiChecks } from "./checks/api.js";
import { r2Checks } from "./checks/r2.js";
import { s3Checks } from "./checks/s3.js";
import { tokenChecks } from "./checks/tokens.js";

const [propagation, ...otherS3] = s3Checks;

export const CHECKS: readonly Check[] = [
  ...(propagation ? [propagation] : []),
  ...apiChecks,
  ...tokenChecks,
  ...r2Checks,
  ...otherS3,
];

export const CHECK_IDS: readonly string[] = CHECKS.map((c) => c.id);
