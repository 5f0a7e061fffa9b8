import { describe, expect, it } from "vitest";
import type { ExecOptions, ExecResult, Executor } from "../exec/types.ts";
import { attachmentBody, collectEvidence, evidenceOf, notInstalled, runCommand, withEvidence } from "./collector.ts";

/** an Executor that answers from a table: the mapping from command results to items, without docker */
class TableExecutor implements Executor {
  readonly where = "container:table";
  private readonly table: Record<string, Partial<ExecResult> | Error>;
  constructor(table: Record<string, Partial<ExecResult> | Error>) {
    this.table = table;
  }
  async run(argv: string[], _opts?: ExecOptions): Promise<ExecResult> {
    const r = this.table[argv.join(" ")] ?? { exitCode: 127, stderr: `sh: ${argv[0]}: command not found` };
    if (r instanceof Error) throw r;
    return { stdout: "", stderr: "", exitCode: 0, timedOut: false, command: argv.join(" "), durationMs: 1, ...r };
  }
}

describe("evidence/collector: items from command results", () => {
  it("tells a missing tool from a tool that failed", () => {
    expect(notInstalled(127, "")).toBe(true);
    expect(notInstalled(126, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "conntrack": executable file not found in $PATH: unknown')).toBe(true);
    expect(notInstalled(1, "connecting to 'unix:///var/run/charon.vici' failed: No such file or directory")).toBe(false);
    expect(notInstalled(1, "Exiting: failed to connect to any daemons.")).toBe(false);
  });

  it("collects the standard set and the role's extras, one item each, redacted", async () => {
    const exec = new TableExecutor({
      "iptables-save": { stdout: "*nat\n-A KUBE-SERVICES -j KUBE-SVC-X\nCOMMIT\n" },
      "ip -j route": { stdout: '[{"dst":"default","gateway":"172.18.0.1"}]' },
      "ip -j neigh": { stdout: "[]" },
      "ip -j addr": { stdout: "[]" },
      "conntrack -L": { stdout: "", stderr: "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n" },
      "swanctl --list-sas": { stdout: "peer: #1, ESTABLISHED\n  secret = s3cr3t-psk\n  enc cbc(aes) 0xdeadbeefcafe\n" },
    });
    const b = await collectEvidence({ targets: [{ executor: exec, role: "ipsec" }] });
    expect(b.items.map((i) => i.name)).toEqual(["iptables-save", "ip-route", "ip-neigh", "ip-addr", "conntrack", "swanctl-sas"]);
    expect(b.items[1]).toMatchObject({ where: "container:table", command: "ip -j route", exitCode: 0, contentType: "application/json" });
    expect(b.items[4]!.stderr).toContain("0 flow entries");
    const sas = b.items[5]!.text;
    expect(sas).not.toContain("s3cr3t-psk");
    expect(sas).not.toContain("deadbeef");
  });

  it("records a missing tool, a failing tool and an executor that throws as items", async () => {
    const exec = new TableExecutor({
      "vtysh -c show bgp summary json": { exitCode: 1, stderr: "Exiting: failed to connect to any daemons.\n" },
      "ipvsadm -Ln": new Error("docker: socket closed"),
    });
    expect(await runCommand(exec, { name: "conntrack", argv: ["conntrack", "-L"] }, 1000)).toMatchObject({ text: "conntrack: not installed", exitCode: 127 });
    const bgp = await runCommand(exec, { name: "bgp-summary", argv: ["vtysh", "-c", "show bgp summary json"], json: true }, 1000);
    expect(bgp).toMatchObject({ text: "", exitCode: 1, stderr: "Exiting: failed to connect to any daemons.\n" });
    expect(bgp.contentType).toBeUndefined();
    expect(await runCommand(exec, { name: "ipvsadm", argv: ["ipvsadm", "-Ln"] }, 1000)).toMatchObject({ command: "ipvsadm -Ln", text: "collection failed: Error: docker: socket closed", exitCode: -1 });
  });

  it("gives text attachments a header naming the command and exit code; JSON stays JSON", () => {
    expect(attachmentBody({ name: "iptables-save", where: "node:w", command: "iptables-save", text: "*nat\nCOMMIT\n", exitCode: 0 })).toEqual({
      content: "# node:w$ iptables-save  (exit 0)\n*nat\nCOMMIT\n",
      contentType: "text/plain",
    });
    expect(attachmentBody({ name: "bgp", where: "container:frr", command: "vtysh", text: "", exitCode: 1, stderr: "Exiting" }).content).toBe("# container:frr$ vtysh  (exit 1)\n\n# --- stderr ---\nExiting");
    expect(attachmentBody({ name: "r", where: "w", command: "ip -j route", text: "[]", exitCode: 0, contentType: "application/json" })).toEqual({ content: "[]", contentType: "application/json" });
  });
});

describe("evidence/withEvidence", () => {
  it("rethrows the step's own error even when the collector hangs, recording the hang as an item", async () => {
    const original = new Error("the step's failure");
    const t0 = Date.now();
    const err = await withEvidence("a step", () => new Promise(() => {}), async () => {
      throw original;
    }, { collectTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBe(original);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(evidenceOf(err)!.items[0]).toMatchObject({ name: "collection error", where: "harness", exitCode: -1 });
    expect(evidenceOf(err)!.items[0]!.text).toContain("evidence collection: no answer within 200 ms");
  });

  it("rethrows non-Error throws unchanged", async () => {
    await expect(withEvidence("s", async () => ({ items: [], startedAt: "", durationMs: 0 }), async () => {
      throw "a string";
    })).rejects.toBe("a string");
  });
});
