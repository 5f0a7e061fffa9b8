/**
 * Evidence carries no secrets. Everything attached to a report or written to a log passes through
 * redact(): kubeconfig credentials, bearer / service-account tokens, IPsec pre-shared keys and xfrm
 * key material are replaced by "<redacted>".
 */
const RULES: Array<[RegExp, string]> = [
  // kubeconfig: client-key-data, client-certificate-data, token, password (YAML or JSON)
  [/((?:client-key-data|client-certificate-data|certificate-authority-data|token|password|id-token|refresh-token)"?\s*[:=]\s*"?)[^\s",}]+/gi, "$1<redacted>"],
  // HTTP authorization headers and bearer tokens
  [/(Authorization:\s*(?:Bearer|Basic)\s+)\S+/gi, "$1<redacted>"],
  [/(--token(?:=|\s+))\S+/g, "$1<redacted>"],
  // JWTs (service-account tokens) wherever they appear
  [/eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g, "<redacted-jwt>"],
  // PEM private keys
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, "<redacted-private-key>"],
  // strongswan: secret = ..., ipsec.secrets PSK lines
  [/(\bsecret\s*=\s*)("[^"]*"|\S+)/gi, "$1<redacted>"],
  [/(:\s*PSK\s+)("[^"]*"|\S+)/gi, "$1<redacted>"],
  // ip xfrm state key material: "enc cbc(aes) 0x…", "auth-trunc hmac(sha256) 0x… 128", "aead … 0x…"
  [/(\b(?:enc|auth|auth-trunc|aead|comp)\s+\S+\s+)0x[0-9a-f]+/gi, "$1<redacted>"],
];

export function redact(text: string): string {
  let out = text;
  for (const [re, rep] of RULES) out = out.replace(re, rep);
  return out;
}
