/**
 * The kernel lab's direct target (harness/lab/direct.ts), checked on this host's own kernel: what a
 * control file runs on when the host has the features it needs (NETCONFORM_LAB=auto|never). No lab
 * control runs on it here, because this host lacks every feature they need; so this file checks the
 * target itself with what the host kernel does have (netns, veth, bridge, iptables nat, conntrack):
 *  - namespaces made inside it are not the host's: `ip netns list` on the host does not show them;
 *  - traffic between them is judged from parsed evidence (ping counts, a DNAT's conntrack entry),
 *    with a negative control (the link cut: every probe lost);
 *  - the choice between host and VM on this host's real probe results: every control file is sent to
 *    the VM, each with the features the host lacks named;
 *  - stopping removes the container; nothing labelled with the run is left.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HostExecutor } from "../exec/host.ts";
import { flowEntries, parseConntrack } from "../evidence/parsers/conntrack.ts";
import { parsePing } from "../evidence/parsers/ping.ts";
import { attachJson, attachText } from "../report/allure.ts";
import { footprint } from "../testing/footprint.ts";
import { DirectMachine } from "./direct.ts";
import { labProvided, labRun, labTeardown } from "./lab.ts";
import { LAB_NEEDS, chooseTargets } from "./targets.ts";

const p = labProvided();
const run = labRun("direct");
const kernel = p.host?.kernelVersion ?? "host";
const tag = `[host ${kernel}]`;
const missing = !p.host ? "the lab's global setup did not probe the host" : p.host.directImage ? undefined : `the direct target cannot run here: ${p.host.directMissing}`;

const SETUP = `set -eu
for n in a b; do ip netns add $n; ip -n $n link set lo up; done
ip link add veth-a netns a type veth peer name veth-b netns b
ip -n a addr add 10.77.0.1/24 dev veth-a; ip -n a link set veth-a up
ip -n b addr add 10.77.0.2/24 dev veth-b; ip -n b link set veth-b up
ip -n b addr add 10.77.0.200/32 dev lo
ip netns exec b iptables -t nat -A PREROUTING -d 10.77.0.100/32 -p tcp --dport 8080 -j DNAT --to-destination 10.77.0.200:80
ip -n a route add 10.77.0.100/32 via 10.77.0.2
ip netns exec b setsid python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.77.0.200", 80)); s.listen(8)
for _ in range(20):
    c, _a = s.accept(); c.sendall(b"b-80\\n"); c.close()
' </dev/null >/tmp/b-server.log 2>&1 &
`;

describe(`${tag} kernel lab direct target: a privileged container of the lab userland on the host kernel`, () => {
  let m: DirectMachine;
  const host = new HostExecutor();

  beforeEach((ctx) => {
    if (missing) ctx.skip(`kernel lab: ${missing}`);
  });

  beforeAll(async () => {
    if (missing) return;
    m = await DirectMachine.start({ image: p.host!.directImage!, name: `${run.id}-direct`, runId: run.id, kernelVersion: kernel });
    run.defer(`direct target ${m.name}`, async () => void (await m.stop()));
    await m.sh(SETUP);
  });

  it(`${tag} the direct target runs on the host's kernel and keeps its namespaces out of the host's`, async () => {
    const uname = await m.run(["uname", "-r"]);
    expect(uname.stdout.trim()).toBe(kernel);
    const inside = (await m.run(["ip", "netns", "list"])).stdout;
    const onHost = (await host.run(["ip", "netns", "list"], { allowFailure: true })).stdout;
    await attachText("ip netns list (inside / on the host)", `${inside}\n--- host ---\n${onHost}`);
    expect(inside).toMatch(/^a\b/m);
    expect(inside).toMatch(/^b\b/m);
    expect(onHost).not.toMatch(/^(a|b)\b/m);
  });

  it(`${tag} traffic between its namespaces, judged from ping counts and a DNAT's conntrack entry; negative control: the link cut loses every probe`, async () => {
    const ping = parsePing((await m.run(["ip", "netns", "exec", "a", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"])).stdout);
    expect(ping).toMatchObject({ transmitted: 3, received: 3 });
    const answer = await m.run(["ip", "netns", "exec", "a", "python3", "-c", "import socket; s=socket.create_connection(('10.77.0.100',8080),timeout=5); print(s.recv(100).decode().strip())"]);
    expect(answer.stdout.trim()).toBe("b-80");
    const ct = await m.run(["ip", "netns", "exec", "b", "conntrack", "-L", "-p", "tcp", "--orig-dst", "10.77.0.100"], { allowFailure: true });
    await attachText("conntrack -L in netns b", ct.stdout + ct.stderr);
    const flows = flowEntries(parseConntrack(ct.stdout).entries, { proto: "tcp", dst: "10.77.0.100", dport: 8080 });
    expect(flows.length, ct.stdout).toBeGreaterThan(0);
    expect(flows[0]!.reply?.src).toBe("10.77.0.200");

    // negative control: the link cut, every probe is lost
    await m.run(["ip", "-n", "b", "link", "set", "veth-b", "down"]);
    try {
      const cut = parsePing((await m.run(["ip", "netns", "exec", "a", "ping", "-c", "3", "-i", "0.2", "-W", "1", "10.77.0.2"], { allowFailure: true })).stdout);
      expect(cut.transmitted).toBe(3);
      expect(cut.received).toBe(0);
    } finally {
      await m.run(["ip", "-n", "b", "link", "set", "veth-b", "up"]);
    }
    const again = parsePing((await m.run(["ip", "netns", "exec", "a", "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.0.2"])).stdout);
    expect(again.received).toBe(3);
  });

  it(`${tag} each control file goes to the host or the VM by the host's probed features (this host: all to the VM, naming what it lacks)`, async () => {
    const choices = Object.fromEntries(Object.entries(LAB_NEEDS).map(([f, needs]) => {
      const c = chooseTargets({ mode: "auto", host: p.host, images: [{ pkg: "linux-image-x" }] }, needs);
      return [f, { targets: c.targets.map((t) => t.kind), why: c.why }];
    }));
    await attachJson("host probes", p.host!.probes);
    await attachJson("choices (NETCONFORM_LAB=auto)", choices);
    for (const [f, needs] of Object.entries(LAB_NEEDS)) {
      const lacking = needs.filter((n) => !p.host!.probes.find((q) => q.feature === n)?.present);
      if (lacking.length) {
        expect(choices[f]!.targets, f).toEqual(["vm"]);
        for (const n of lacking) expect(choices[f]!.why, f).toContain(n);
      } else expect(choices[f]!.targets, f).toEqual(["host"]);
    }
  });

  it(`${tag} stopping the direct target removes its container; nothing labelled with the run is left`, async () => {
    const s = await m.stop();
    expect(s.how).toBe("removed");
    expect(m.running).toBe(false);
    const left = await footprint(run.id);
    expect(left.containers).toEqual([]);
  });
});

labTeardown(run);
