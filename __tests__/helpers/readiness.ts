// Reading what a step says about its readiness wait, shared by the readiness suites.

/**
 * The wait the step reports ("accepted the credentials after 2910 ms", "waited 2.9 s"), in ms: the
 * last line about waiting or readiness that carries a duration and is not a "not yet" progress line.
 */
export function reportedWaitMs(stdout: string): number | undefined {
  let found: number | undefined;
  for (const line of stdout.split("\n")) {
    if (!/wait|ready|accept|propagat/i.test(line) || /not|yet/i.test(line) || line.startsWith("::add-mask::"))
      continue;
    const match = /(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)\b/i.exec(line);
    if (match) found = Number(match[1]) * (match[2]?.toLowerCase() === "ms" ? 1 : 1000);
  }
  return found;
}

/**
 * How promptly a step ended once its credentials could be accepted, on the emulator's clock (the
 * test process's): from the moment the propagation delay ended to the accepted probe, and from that
 * probe to the step's exit. A slow process start on a loaded machine is not part of either, so the
 * figures speak of the wait loop alone.
 */
export function readinessTiming(
  probes: readonly { at: number; status: number }[],
  availableAt: number,
  stepEndedAt: number,
): { acceptedLateByMs: number; endedAfterAcceptedMs: number } {
  const accepted = probes.find(
    (probe) => probe.status === 200 || probe.status === 404 || probe.status === 206,
  );
  if (!accepted) throw new Error(`no accepted probe among ${JSON.stringify(probes)}`);
  return { acceptedLateByMs: accepted.at - availableAt, endedAfterAcceptedMs: stepEndedAt - accepted.at };
}
