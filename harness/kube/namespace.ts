import type { RunConfig } from "../config.ts";
import { type KubeClient, isNotFound } from "./client.ts";
import { waitFor } from "./wait.ts";

/**
 * Delete a namespace (a test's own objects) and wait, bounded (timeouts.podReady), until the API no
 * longer lists it; a namespace that does not exist is already gone. On a reused cluster a test that
 * starts with this reads only evidence of its own run (events of the previous run stay for an hour).
 */
export async function deleteNamespace(kube: KubeClient, ns: string, config: Pick<RunConfig, "timeouts">): Promise<void> {
  try {
    await kube.core.deleteNamespace({ name: ns, gracePeriodSeconds: 0 });
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  await waitFor(
    `namespace ${ns} to be deleted`,
    async () => {
      try {
        const n = await kube.core.readNamespace({ name: ns });
        return { done: false, detail: `still there (${n.status?.phase ?? "?"})` };
      } catch (e) {
        if (isNotFound(e)) return { done: true, detail: "gone" };
        throw e;
      }
    },
    { timeoutName: "podReady", config },
  );
}
