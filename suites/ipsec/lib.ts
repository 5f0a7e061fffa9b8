/**
 * What the IPSEC suite measures with: the client's tunnel to the IKE VIP (its own strongSwan,
 * kernel-libipsec), bounded probe loops from the client's inner address, SA samples from the
 * cluster end, conntrack snapshots, and the datapath mode the suite runs in. Collection only:
 * every verdict comes from harness/oracles/ipsec.ts.
 */
import type { Executor } from "../../harness/exec/types.ts";
import { parseSwanctlSas, type SwanctlSas } from "../../harness/evidence/parsers/swanctl.ts";
import type { InnerProto } from "../../harness/components/ipsec.ts";
import type { RunConfig } from "../../harness/config.ts";
import { waitFor } from "../../harness/kube/index.ts";
import { startEnd, type TunnelSpec } from "../../harness/network/ipsec.ts";
import type { Host } from "../../harness/network/world.ts";
import type { ClientReplies } from "../../harness/oracles/ipsec.ts";
import { redact } from "../../harness/report/redact.ts";

/** The client end: charon started with the tunnel's swanctl.conf, the CHILD SA initiated (retried until the VIP answers) and INSTALLED. */
export async function connectClient(spec: TunnelSpec, o: { config: Pick<RunConfig, "timeouts"> }): Promise<void> {
  await startEnd(spec, "initiator");
  const x = spec.initiator.host.exec;
  let last = "";
  await waitFor(`CHILD_SA ${spec.child} from ${spec.initiator.host.name} to ${spec.responder.addr}`, async () => {
    const r = await x.run(["swanctl", "--initiate", "--child", spec.child, "--timeout", "10"], { allowFailure: true, timeoutMs: 20_000 });
    last = redact(r.stdout + r.stderr).trim().split("\n").slice(-3).join(" | ");
    if (r.exitCode !== 0) return { done: false, detail: `swanctl --initiate exit ${r.exitCode}: ${last}` };
    const sas = await listSas(x);
    const ok = sas.sas.some((i) => i.state === "ESTABLISHED" && i.children.some((c) => c.name === spec.child && c.state === "INSTALLED"));
    return { done: ok, detail: ok ? "INSTALLED" : "initiated, CHILD_SA not INSTALLED yet" };
  }, { timeoutName: "vipAnnounced", config: o.config }, { intervalMs: 2_000 });
}

/** `swanctl --list-sas`, redacted and parsed, wherever charon runs (world host or pod). */
export async function listSas(x: Executor): Promise<{ text: string; sas: SwanctlSas }> {
  const r = await x.run(["swanctl", "--list-sas", "--noblock"], { timeoutMs: 15_000 });
  const text = redact(r.stdout);
  return { text, sas: parseSwanctlSas(text) };
}

/** The probe a protocol runs, reading the backend's hostname; "" when nothing came back. */
function probeCommand(proto: InnerProto, src: string, dst: string, port: number): string {
  switch (proto) {
    case "tcp":
      return `curl -sS --interface ${src} --connect-timeout 3 --max-time 5 http://${dst}:${port}/hostname 2>/dev/null`;
    case "udp":
      // -t3: after its stdin ends socat waits 3 s for the answer (its default, 0.5 s, lost replies
      // under load: measured, the late ones came back as ICMP port unreachable through the tunnel)
      return `printf hostname | socat -T3 -t3 - UDP:${dst}:${port},bind=${src} 2>/dev/null`;
    case "sctp":
      return `printf hostname | socat -T3 -t3 - SCTP-CONNECT:${dst}:${port},bind=${src} 2>/dev/null`;
  }
}

export interface ProbeResult {
  client: ClientReplies;
  /** answer → count ("<no reply>" for a probe that got nothing) */
  answers: Record<string, number>;
  raw: string;
}

/**
 * `count` probes at once from the client's inner address to dst:port, each a new connection (TCP,
 * SCTP) or a new source port (UDP), each bounded. A reply counts only when it is one of `names`
 * (the backends' hostnames), never from an exit code.
 */
export async function probe(client: Host, o: { proto: InnerProto; src: string; dst: string; port: number; count: number; names: string[] }): Promise<ProbeResult> {
  const cmd = probeCommand(o.proto, o.src, o.dst, o.port);
  const script = `for i in $(seq 1 ${o.count}); do ( r=$(${cmd} | head -c 128); echo "probe $i \${r:-<no reply>}" ) & done; wait`;
  const r = await client.exec.run(["sh", "-c", script], { timeoutMs: 30_000 });
  const answers: Record<string, number> = {};
  for (const l of r.stdout.split("\n")) {
    const m = /^probe \d+ (.*)$/.exec(l.trim());
    if (m) answers[m[1]!] = (answers[m[1]!] ?? 0) + 1;
  }
  const received = Object.entries(answers).filter(([a]) => o.names.includes(a)).reduce((n, [, c]) => n + c, 0);
  const what = `${o.count} ${o.proto.toUpperCase()} ${o.proto === "udp" ? "exchanges" : "connections"} ${o.src} → ${o.dst}:${o.port} (${o.proto === "tcp" ? "curl" : "socat"}, 3 s timeouts)`;
  return { client: { sent: o.count, received, probe: what }, answers, raw: r.stdout };
}
