import { describe, expect, it } from "vitest";
import { redact } from "./redact.ts";

describe("report/redact", () => {
  it("removes kubeconfig credentials", () => {
    const kc = `users:\n- name: kind-x\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJU\n    client-key-data: LS0tLS1CRUdJTiBSU0E=\n    token: abc.def\n`;
    const r = redact(kc);
    expect(r).not.toMatch(/LS0tLS1|abc\.def/);
    expect(r).toContain("client-key-data: <redacted>");
  });
  it("removes service-account JWTs and bearer headers", () => {
    const r = redact("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlMTIz");
    expect(r).not.toContain("eyJhbGciOiJSUzI1NiJ9");
  });
  it("removes IPsec PSKs from swanctl.conf and ipsec.secrets", () => {
    expect(redact(`secrets { ike-1 { secret = "s3cr3t-psk" } }`)).not.toContain("s3cr3t");
    expect(redact(`1.2.3.4 5.6.7.8 : PSK "topsecret"`)).not.toContain("topsecret");
  });
  it("removes xfrm key material but keeps the algorithm", () => {
    const r = redact("\tauth-trunc hmac(sha256) 0x6f0cb1d2a3e4f5a6b7c8d9e0f1a2b3c4 128\n\tenc cbc(aes) 0x00112233445566778899aabbccddeeff");
    expect(r).toContain("hmac(sha256) <redacted>");
    expect(r).not.toMatch(/0x[0-9a-f]{8,}/);
  });
  it("leaves ordinary evidence alone", () => {
    const t = "-A KUBE-SEP-X -p tcp -m comment --comment \"default/nginx\" -m tcp -j DNAT --to-destination 10.244.1.3:80";
    expect(redact(t)).toBe(t);
  });
});
