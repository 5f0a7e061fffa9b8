/**
 * Deterministic input mangling for parser fuzz tests: truncated lines, garbage lines, random
 * bytes. A parser must either return a valid result or throw ParseError — nothing else.
 */
import { ParseError } from "../parse-error.ts";

/** mulberry32: a tiny seeded PRNG, so every run sees the same cases */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GARBAGE = ["}", "{", "->", ":::", "\u0000", "🙂", "  -> 1.2.3.4", "Events:", "[", "]", "\"", "null", "-1", "NaN", "TCP", "\t\t", "<none>"];

/** One mangled variant of `text`, chosen by the PRNG. */
export function mangle(text: string, rnd: () => number): string {
  const ls = text.split("\n");
  const pick = () => Math.floor(rnd() * ls.length);
  const kind = Math.floor(rnd() * 6);
  switch (kind) {
    case 0: {
      // truncate one line at a random point
      const i = pick();
      ls[i] = ls[i]!.slice(0, Math.floor(rnd() * ls[i]!.length));
      return ls.join("\n");
    }
    case 1: {
      // insert a garbage line
      ls.splice(pick(), 0, GARBAGE[Math.floor(rnd() * GARBAGE.length)]!);
      return ls.join("\n");
    }
    case 2: {
      // random bytes, printable or not
      const n = 1 + Math.floor(rnd() * 200);
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rnd() * 256));
      return s;
    }
    case 3: {
      // truncate the whole text
      return text.slice(0, Math.floor(rnd() * text.length));
    }
    case 4: {
      // flip one character
      const at = Math.floor(rnd() * text.length);
      return text.slice(0, at) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + text.slice(at + 1);
    }
    default: {
      // drop a line
      ls.splice(pick(), 1);
      return ls.join("\n");
    }
  }
}

/**
 * Run `parse` on `cases` mangled variants of each sample. Returns the variants that produced an
 * exception other than ParseError (should be empty) and how many parsed fine; `valid` is called on
 * every successful result and must throw if the result is not fully valid.
 */
export function fuzz<T>(samples: string[], parse: (s: string) => T, valid: (r: T) => void, cases = 300, seed = 1): { bad: { input: string; error: string }[]; parsed: number; rejected: number } {
  const rnd = prng(seed);
  const bad: { input: string; error: string }[] = [];
  let parsed = 0, rejected = 0;
  for (let i = 0; i < cases; i++) {
    const input = mangle(samples[i % samples.length]!, rnd);
    try {
      const r = parse(input);
      valid(r);
      parsed++;
    } catch (e) {
      if (e instanceof ParseError) rejected++;
      else bad.push({ input, error: String((e as Error)?.stack ?? e) });
    }
  }
  return { bad, parsed, rejected };
}
