import { describe, expect, it } from "vitest";
import { INOTIFY_MIN, inotifyShortfall } from "./inotify.ts";

describe("inotify limits for kind nodes", () => {
  it("reports each limit below what kind nodes need, and nothing when they suffice", () => {
    expect(inotifyShortfall((n) => (n === "max_user_instances" ? 128 : 192530))).toEqual([
      { name: "max_user_instances", have: 128, want: INOTIFY_MIN.max_user_instances },
      { name: "max_user_watches", have: 192530, want: INOTIFY_MIN.max_user_watches },
    ]);
    expect(inotifyShortfall(() => 1_000_000)).toEqual([]);
  });
});
