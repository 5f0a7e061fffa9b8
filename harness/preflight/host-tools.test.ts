import { afterEach, describe, expect, it } from "vitest";
import { FORGE_TOOLS, HostToolsMissing, ensureHostTools, installHint, isDebianLike, missingHostTools, parseGoVersion, versionAtLeast } from "./host-tools.ts";

describe("host tools preflight", () => {
  const before = process.env.NETCONFORM_NO_INSTALL;
  afterEach(() => {
    if (before === undefined) delete process.env.NETCONFORM_NO_INSTALL;
    else process.env.NETCONFORM_NO_INSTALL = before;
  });

  it("names every program the forge runs with its Debian package", () => {
    expect(FORGE_TOOLS.map((t) => t.cmd)).toContain("debootstrap");
    for (const t of FORGE_TOOLS) expect(t.debian).toMatch(/^[a-z0-9.+-]+$/);
  });

  it("finds what is on PATH and reports what is not, with one install line", async () => {
    const tools = [{ cmd: "sh", debian: "dash", why: "shell" }, { cmd: "netconform-no-such-tool", debian: "nc-pkg", why: "a test" }];
    const missing = await missingHostTools(tools, [{ path: "/nonexistent/libc.a", debian: "libc6-dev", why: "static libc" }]);
    expect(missing.map((m) => m.what)).toEqual(["netconform-no-such-tool", "/nonexistent/libc.a"]);
    expect(installHint(missing)).toBe("missing on this host: netconform-no-such-tool (a test); /nonexistent/libc.a (static libc); install with: apt-get install -y nc-pkg libc6-dev");
  });

  it("stops with one line naming the package when it may not install (negative control)", async () => {
    process.env.NETCONFORM_NO_INSTALL = "1";
    const p = ensureHostTools([{ cmd: "netconform-no-such-tool", debian: "nc-pkg", why: "a test" }], { files: [], say: () => {} });
    await expect(p).rejects.toBeInstanceOf(HostToolsMissing);
    await expect(p).rejects.toThrow(/^missing on this host: netconform-no-such-tool \(a test\); install with: apt-get install -y nc-pkg$/);
  });

  it("passes silently when everything is there", async () => {
    const said: string[] = [];
    await ensureHostTools([{ cmd: "sh", debian: "dash", why: "shell" }], { files: [], say: (m) => said.push(m) });
    expect(said).toEqual([]);
  });

  it("reads Go versions and compares them", () => {
    expect(parseGoVersion("go version go1.26.8 linux/amd64")).toBe("1.26.8");
    expect(parseGoVersion("go version go1.24 linux/amd64")).toBe("1.24");
    expect(parseGoVersion("bash: go: not found")).toBeUndefined();
    expect(versionAtLeast("1.26.8", "1.24")).toBe(true);
    expect(versionAtLeast("1.19", "1.24")).toBe(false);
    expect(versionAtLeast("1.24.0", "1.24")).toBe(true);
  });

  it("knows a Debian or Ubuntu host from /etc/os-release", () => {
    expect(isDebianLike('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')).toBe(true);
    expect(isDebianLike("ID=ubuntu\nID_LIKE=debian\n")).toBe(true);
    expect(isDebianLike('ID=linuxmint\nID_LIKE="ubuntu debian"\n')).toBe(true);
    expect(isDebianLike('ID="fedora"\n')).toBe(false);
  });
});
