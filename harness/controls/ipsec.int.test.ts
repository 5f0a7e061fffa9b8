/**
 * IPSEC-01 at depth D: a route-based strongSwan tunnel (IKEv2, PSK, kernel-libipsec over the ipsec0
 * TUN device) in front of a "VIP", with real daemons and real netfilter, no Kubernetes. The IPSEC-01
 * oracle judges it from swanctl counters, conntrack on the VIP owner and the replies the client
 * counted; the negative controls break the reply path and the same oracle must fail naming it.
 *
 *   initiator (10.77.0.1 on lo) ── wan ── responder = VIP owner (10.99.0.1 on lo; VIP 10.99.0.10:8080)
 *                                           ├─ netns "pod" 10.88.0.2:8080  (backend ON the VIP owner)
 *                                           └─ cluster ── backend-remote:8080 (backend on another "node")
 *
 * The responder DNATs the VIP alternately (statistic nth, deterministic) to the local pod and the
 * remote backend, as kube-proxy does for a Service with endpoints on two nodes; each backend answers
 * with its own name. The child SA is 10.77.0.1/32 === 10.99.0.0/24.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectEvidence, withEvidence } from "../evidence/collector.ts";
import { parseConntrack } from "../evidence/parsers/conntrack.ts";
import { HostExecutor } from "../exec/host.ts";
import { type Tunnel, libipsecTunnel, renderSwanctlConf } from "../network/ipsec.ts";
import { type Host, World } from "../network/world.ts";
import { ipsec01, type ClientReplies, type Ipsec01Input } from "../oracles/ipsec.ts";
import { formatVerdict, type Verdict } from "../oracles/verdict.ts";
import { requireFeatures } from "../preflight/kernel.ts";
import { attachJson, attachText, behaviour } from "../report/allure.ts";
import { redact } from "../report/redact.ts";
import { tearDownLeavingNothing, testRun } from "../testing/run.ts";

const run = testRun("ipsec");
const world = new World(run);

const CHILD = "nc-net";
const VIP = "10.99.0.10";
const PORT = 8080;
const POD = { netns: "pod", host: "10.88.0.1", ip: "10.88.0.2", name: "backend-pod" };
const REMOTE_NAME = "backend-remote";
const CLIENT_IP = "10.77.0.1";
const PROBES = 20;
const PROBE_TIMEOUT_S = 2;
/** a fresh PSK per run; the test asserts it never shows up in anything it attached */
const PSK = randomBytes(24).toString("base64url");

let tun: Tunnel, ini: Host, resp: Host, remote: Host;
let tunReason: string | undefined;
const attached: string[] = [];

async function attach(name: string, text: string): Promise<void> {
  const t = redact(text);
  attached.push(t);
  await attachText(name, t);
}

/** PROBES TCP connections to the VIP from the initiator's inner address, in parallel, each bounded. */
async function probe(): Promise<{ client: ClientReplies; answers: Record<string, number>; raw: string }> {
  const script = `for i in $(seq 1 ${PROBES}); do ( r=$(socat -T${PROBE_TIMEOUT_S} - TCP:${VIP}:${PORT},connect-timeout=${PROBE_TIMEOUT_S} </dev/null 2>/dev/null | head -c 64); echo "probe $i \${r:-<no reply>}" ) & done; wait`;
  const r = await ini.exec.run(["sh", "-c", script], { timeoutMs: (PROBE_TIMEOUT_S * 2 + 10) * 1000 });
  const answers: Record<string, number> = {};
  for (const l of r.stdout.split("\n")) {
    const m = /^probe \d+ (.*)$/.exec(l.trim());
    if (m) answers[m[1]!] = (answers[m[1]!] ?? 0) + 1;
  }
  // a reply is a backend's own name, nothing else (never the client's exit code)
  const received = (answers[POD.name] ?? 0) + (answers[REMOTE_NAME] ?? 0);
  return { client: { sent: PROBES, received, probe: `${PROBES} TCP connections ${CLIENT_IP} → ${VIP}:${PORT} (socat, ${PROBE_TIMEOUT_S} s timeouts)` }, answers, raw: r.stdout };
}

/** One measured round: SAs before, traffic, SAs after, conntrack snapshot on the VIP owner → oracle input. */
async function round(label: string): Promise<{ input: Ipsec01Input; answers: Record<string, number> }> {
  // start from a clean conntrack for the probed flow (exit 1 = nothing to delete)
  await resp.exec.run(["conntrack", "-D", "-p", "tcp", "--orig-dst", VIP], { allowFailure: true });
  const before = await tun.listSas("responder");
  const p = await probe();
  const after = await tun.listSas("responder");
  const ct = await resp.exec.run(["conntrack", "-L", "-p", "tcp"], { allowFailure: true });
  const iniSas = await tun.listSas("initiator");
  await attach(`${label}: responder swanctl --list-sas before`, before.text);
  await attach(`${label}: responder swanctl --list-sas after`, after.text);
  await attach(`${label}: initiator swanctl --list-sas after`, iniSas.text);
  await attach(`${label}: responder conntrack -L -p tcp`, ct.stdout + ct.stderr);
  await attach(`${label}: client probes`, p.raw);
  return {
    answers: p.answers,
    input: {
      sas: { before: before.sas, after: after.sas, child: CHILD },
      datapath: "libipsec",
      conntrack: parseConntrack(ct.stdout).entries,
      flow: { proto: "tcp", dst: VIP, dport: PORT },
      vipOwnerBackends: [POD.ip],
      client: p.client,
    },
  };
}

async function report(v: Verdict, label: string): Promise<void> {
  await attachJson(`${label}: verdict`, v);
  process.stderr.write(`[ipsec control] ${label}\n${formatVerdict(v)}\n`);
}

const evidence = () =>
  collectEvidence({
    targets: [
      { executor: ini.exec, role: "ipsec" },
      { executor: resp.exec, role: "ipsec" },
      { executor: remote.exec, role: "server" },
    ],
  });

/** A netfilter rule on the responder for the duration of fn. */
async function withRule<T>(rule: string[], fn: () => Promise<T>): Promise<T> {
  await resp.exec.run(["iptables", "-t", "raw", "-I", ...rule]);
  try {
    return await fn();
  } finally {
    await resp.exec.run(["iptables", "-t", "raw", "-D", ...rule]);
  }
}

describe("IPsec control: route-based kernel-libipsec tunnel to a DNATed VIP (real strongSwan, no Kubernetes)", () => {
  beforeAll(async () => {
    const tunOk = await requireFeatures(new HostExecutor(), ["TUN"]);
    if (!tunOk.ok) {
      tunReason = tunOk.reason;
      return;
    }
    const wan = await world.network("wan");
    const cluster = await world.network("cluster");
    const fwd = { "net.ipv4.ip_forward": "1" };
    ini = await world.host({ name: "ipsec-initiator", role: "ipsec", networks: [{ network: wan.name }] });
    resp = await world.host({ name: "ipsec-responder", role: "ipsec", networks: [{ network: wan.name }, { network: cluster.name }], sysctls: fwd });
    remote = await world.host({ name: "backend-remote", role: "server", networks: [{ network: cluster.name }] });
    const respWan = resp.ips[wan.name]!;
    const respCluster = resp.ips[cluster.name]!;
    const remoteIp = remote.ips[cluster.name]!;

    // backend on the VIP owner: a pod-like netns behind a veth; and one on another host
    await resp.exec.run(["sh", "-ec", [
      `ip netns add ${POD.netns}`,
      `ip link add veth-pod type veth peer name eth0 netns ${POD.netns}`,
      `ip addr add ${POD.host}/30 dev veth-pod`, "ip link set veth-pod up",
      `ip -n ${POD.netns} addr add ${POD.ip}/30 dev eth0`, `ip -n ${POD.netns} link set eth0 up`, `ip -n ${POD.netns} link set lo up`,
      `ip -n ${POD.netns} route add default via ${POD.host}`,
      `(setsid ip netns exec ${POD.netns} socat TCP-LISTEN:${PORT},fork,reuseaddr SYSTEM:'echo ${POD.name}' </dev/null >/dev/null 2>&1 &)`,
    ].join("\n")]);
    await remote.exec.run(["sh", "-ec", [
      `ip route add ${CLIENT_IP}/32 via ${respCluster}`,
      `(setsid socat TCP-LISTEN:${PORT},fork,reuseaddr SYSTEM:'echo ${REMOTE_NAME}' </dev/null >/dev/null 2>&1 &)`,
    ].join("\n")]);
    // the VIP: every other new connection to the remote backend, the rest to the local pod
    await resp.exec.run(["sh", "-ec", [
      "iptables -t nat -N NC-VIP",
      `iptables -t nat -A PREROUTING -d ${VIP}/32 -p tcp --dport ${PORT} -j NC-VIP`,
      `iptables -t nat -A NC-VIP -m statistic --mode nth --every 2 --packet 0 -p tcp -j DNAT --to-destination ${remoteIp}:${PORT}`,
      `iptables -t nat -A NC-VIP -p tcp -j DNAT --to-destination ${POD.ip}:${PORT}`,
    ].join("\n")]);

    tun = await libipsecTunnel({
      conn: "nc",
      child: CHILD,
      psk: PSK,
      initiator: { host: ini, id: "initiator", addr: ini.ips[wan.name]!, localTs: [`${CLIENT_IP}/32`], tsAddress: CLIENT_IP },
      responder: { host: resp, id: "vip-owner", addr: respWan, localTs: ["10.99.0.0/24"], tsAddress: "10.99.0.1" },
    });
  });

  afterAll(() => tearDownLeavingNothing(run));

  it("IPSEC-01 route-based kernel-libipsec tunnel: SAs installed, counters rise, replies return (incl. from a backend on the VIP owner)", async (ctx) => {
    await behaviour("IPSEC-01", "D");
    if (tunReason) ctx.skip(`kernel: ${tunReason}`);
    // Allure takes attachments inside tests only: the configuration is attached here, redacted
    for (const s of ["initiator", "responder"] as const) await attach(`swanctl.conf (${s}, redacted)`, renderSwanctlConf(tun.spec, s));
    await withEvidence("IPSEC-01 pass case", evidence, async () => {
      // the datapath really is libipsec: routes through the ipsec0 TUN, no kernel SA at all
      const route = await resp.exec.run(["ip", "route", "show", "table", "220"]);
      expect(route.stdout).toMatch(new RegExp(`^${CLIENT_IP.replace(/\./g, "\\.")} dev ipsec0 .*src 10\\.99\\.0\\.1`, "m"));
      expect((await resp.exec.run(["ip", "link", "show", "ipsec0"])).stdout).toMatch(/ipsec0: <POINTOPOINT/);
      const xfrm = await resp.exec.run(["ip", "xfrm", "state"], { allowFailure: true });
      expect(xfrm.stdout.trim()).toBe("");

      const { input, answers } = await round("pass");
      const v = ipsec01(input);
      await report(v, "pass");
      expect(v.ok, formatVerdict(v)).toBe(true);
      // both kinds of backend answered through the tunnel (nth: half each)
      expect(answers).toEqual({ [POD.name]: PROBES / 2, [REMOTE_NAME]: PROBES / 2 });
      const c = input.sas.after.flatMap((i) => i.children).find((x) => x.name === CHILD)!;
      expect(c.udpEncap).toBe(true); // libipsec always encapsulates ESP in UDP
      expect(c.proposal).toBe("AES_CBC-128/HMAC_SHA2_256_128");
    });
  });

  it("IPSEC-01 negative control: replies of the backend on the VIP owner dropped → oracle fails naming [UNREPLIED] and the missing replies", async (ctx) => {
    await behaviour("IPSEC-01", "D");
    if (tunReason) ctx.skip(`kernel: ${tunReason}`);
    // raw PREROUTING runs before conntrack: the SYN-ACK never reaches it, the entry stays [UNREPLIED]
    const v = await withRule(["PREROUTING", "-i", "veth-pod", "-p", "tcp", "--sport", String(PORT), "-j", "DROP"], async () => {
      const { input } = await round("drop local replies");
      return ipsec01(input);
    });
    await report(v, "drop local replies");
    expect(v.ok).toBe(false);
    const unreplied = v.reasons.filter((r) => r.includes(`DNATed to ${POD.ip} is [UNREPLIED] (SYN_SENT)`));
    expect(unreplied.length, formatVerdict(v)).toBe(PROBES / 2);
    expect(v.reasons).toContain(`client received ${PROBES / 2} of ${PROBES} replies (${PROBES} TCP connections ${CLIENT_IP} → ${VIP}:${PORT} (socat, ${PROBE_TIMEOUT_S} s timeouts))`);
    // only the broken part is named: the tunnel itself still carried the remote backend's replies
    expect(v.reasons.join("\n")).not.toMatch(/did not rise/);
  });

  it("IPSEC-01 negative control: all replies dropped on the VIP owner → oracle fails naming bytes_out/packets_out that did not rise", async (ctx) => {
    await behaviour("IPSEC-01", "D");
    if (tunReason) ctx.skip(`kernel: ${tunReason}`);
    const v = await withRule(["PREROUTING", "-p", "tcp", "--sport", String(PORT), "-j", "DROP"], async () => {
      const { input } = await round("drop all replies");
      return ipsec01(input);
    });
    await report(v, "drop all replies");
    expect(v.ok).toBe(false);
    const text = v.reasons.join("\n");
    expect(text).toMatch(/CHILD_SA nc-net: bytes_out did not rise \((\d+) → \1\)/);
    expect(text).toMatch(/CHILD_SA nc-net: packets_out did not rise/);
    expect(text).not.toMatch(/bytes_in did not rise/); // the requests still came in
    expect(v.reasons).toContain(`client received 0 of ${PROBES} replies (${PROBES} TCP connections ${CLIENT_IP} → ${VIP}:${PORT} (socat, ${PROBE_TIMEOUT_S} s timeouts))`);
    expect(v.reasons.filter((r) => /is \[UNREPLIED\]/.test(r)).length).toBe(PROBES);
  });

  it("IPSEC-01 the tunnel recovers once the rules are gone, and the PSK appears in no attachment or log", async (ctx) => {
    await behaviour("IPSEC-01", "D");
    if (tunReason) ctx.skip(`kernel: ${tunReason}`);
    const { input } = await round("after the negative controls");
    const v = ipsec01(input);
    await report(v, "after the negative controls");
    expect(v.ok, formatVerdict(v)).toBe(true);
    // charon's own log files, read raw (not through redact): charon must not have logged the key
    const raw = await Promise.all([ini, resp].map((h) => h.exec.run(["sh", "-c", "cat /var/log/charon.log /var/log/charon.out"], { allowFailure: true })));
    const logs = raw.map((r) => r.stdout).join("\n");
    await attach("charon.log initiator (tail)", await tun.charonLog("initiator"));
    await attach("charon.log responder (tail)", await tun.charonLog("responder"));
    expect(logs).toMatch(/CHILD_SA nc-net\{\d+\} established/);
    expect(attached.length).toBeGreaterThan(10);
    expect([...attached, logs].filter((t) => t.includes(PSK))).toEqual([]);
    // the rendered configuration did carry it (so the redaction above was really exercised)
    expect(renderSwanctlConf(tun.spec, "responder")).toContain(PSK);
    expect(attached.some((t) => t.includes("secret = <redacted>"))).toBe(true);
  });
});
