export * from "./client.ts";
export * from "./wait.ts";
export * from "./readiness.ts";
export * from "./waits.ts";
export * from "./apply.ts";
export * from "./inspect.ts";
export * from "./exec.ts";
export * from "./namespace.ts";
