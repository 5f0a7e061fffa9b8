import { describe, expect, it } from "vitest";
import { parseConfig } from "../config.ts";
import { AbortWait, WaitTimeoutError, formatSeconds, timeoutMessage, waitFor } from "./wait.ts";

/** a clock that advances only when the wait sleeps, so a 180 s timeout takes no real time */
function fakeClock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    advance: (ms: number) => (t += ms),
  };
}

const config = parseConfig({ timeouts: { podReady: "180s", nodeNotReady: "90s" } });

describe("kube/waitFor", () => {
  it("on timeout names the timeout setting, its length, what it waited for and the last detail", async () => {
    const clock = fakeClock();
    let n = 0;
    const err = await waitFor(
      "deployment metallb-system/controller Ready",
      async () => ({ done: false, detail: n++ === 0 ? "no status yet" : "0/1 ready" }),
      { timeoutName: "podReady", config },
      { clock },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toBe("timed out after 180 s (timeouts.podReady) waiting for deployment metallb-system/controller Ready: 0/1 ready");
    expect((err as WaitTimeoutError).timeout).toBe("timeouts.podReady");
    expect((err as WaitTimeoutError).lastDetail).toBe("0/1 ready");
  });

  it("backs off from 250 ms ×1.5 up to 5 s, never sleeping past the deadline, and probes once more at it", async () => {
    const clock = fakeClock();
    let probes = 0;
    await expect(waitFor("x", async () => ({ done: false, detail: `probe ${++probes}` }), { timeoutMs: 20_000, timeoutLabel: "test budget" }, { clock })).rejects.toThrow(
      /^timed out after 20 s \(test budget\) waiting for x: probe \d+$/,
    );
    expect(clock.sleeps.slice(0, 8)).toEqual([250, 375, 563, 845, 1268, 1902, 2853, 4280]);
    expect(Math.max(...clock.sleeps)).toBe(5000);
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(probes).toBe(clock.sleeps.length + 1);
  });

  it("returns as soon as the probe is done", async () => {
    const clock = fakeClock();
    let n = 0;
    const r = await waitFor("y", async () => ({ done: ++n === 3, detail: `n=${n}` }), { timeoutName: "nodeNotReady", config }, { clock });
    expect(r).toEqual({ done: true, detail: "n=3" });
    expect(clock.sleeps).toEqual([250, 375]);
  });

  it("sees a condition that turned true during the last sleep", async () => {
    const clock = fakeClock();
    const r = await waitFor("z", async () => ({ done: clock.now() >= 1_000_000 + 1_000, detail: "" }), { timeoutMs: 1_000, timeoutLabel: "b" }, { clock });
    expect(r.done).toBe(true);
  });

  it("treats a throwing probe as not yet and reports its message; AbortWait ends the wait with its cause", async () => {
    const clock = fakeClock();
    await expect(
      waitFor("node kind-worker condition Ready to be False or Unknown", async () => {
        throw new Error("HTTP 404 NotFound: nodes \"kind-worker\" not found");
      }, { timeoutName: "nodeNotReady", config }, { clock }),
    ).rejects.toThrow('timed out after 90 s (timeouts.nodeNotReady) waiting for node kind-worker condition Ready to be False or Unknown: probe failed: HTTP 404 NotFound: nodes "kind-worker" not found');
    const fatal = new Error("forbidden");
    await expect(waitFor("w", async () => { throw new AbortWait(fatal); }, { timeoutMs: 1000, timeoutLabel: "b" }, { clock })).rejects.toBe(fatal);
  });

  it("with the real clock: a hanging probe cannot outlive the wait", async () => {
    const t0 = Date.now();
    await expect(waitFor("a hanging API call", () => new Promise(() => {}), { timeoutMs: 300, timeoutLabel: "short" })).rejects.toThrow(
      /timed out after 0.3 s \(short\) waiting for a hanging API call: probe failed: probe did not answer within 1 s/,
    );
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("refuses a budget that is not set", async () => {
    await expect(waitFor("q", async () => ({ done: true, detail: "" }), { timeoutMs: 0, timeoutLabel: "zero" })).rejects.toThrow(/timeoutMs must be positive/);
  });

  it("formats seconds for messages", () => {
    expect(formatSeconds(180_000)).toBe("180 s");
    expect(formatSeconds(1_500)).toBe("1.5 s");
    expect(formatSeconds(12_345)).toBe("12 s");
    expect(timeoutMessage("d", "t", 1000, "")).toBe("timed out after 1 s (t) waiting for d: (the probe reported nothing)");
  });
});
