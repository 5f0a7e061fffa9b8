// Allure 3 configuration for `npm run report` (read by `allure generate` from the repository root).
// The report is titled netconform, its tree is family → behaviour → test (the epic and feature
// labels that harness/report/allure.ts behaviour() sets from catalogue/behaviours.yaml), it shows the
// run's cluster, Kubernetes version and kube-proxy mode (environment.properties in the results,
// written by harness/session.ts; the report lists it under "Metadata"), each test carries a
// "depth R|D|L" tag (the Tags filter) and the Categories view groups tests by depth.
import { defineConfig } from "allure";

const resultsDir = process.env.NETCONFORM_ALLURE_RESULTS || "reports/allure-results";

const DEPTHS = { R: "R: recorded evidence (unit)", D: "D: real daemons (integration)", L: "L: live cluster (suites)" };

export default defineConfig({
  name: "netconform",
  output: "reports/allure-report",
  resultsDir,
  // one category per depth with every status in it: the Categories view filters the run by depth
  categories: {
    rules: [
      ...Object.entries(DEPTHS).map(([depth, name]) => ({
        id: `depth-${depth}`,
        name,
        matchers: { labels: { depth } },
        groupBy: [{ label: "epic" }, { label: "feature" }],
        expand: depth === "L",
      })),
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName: "netconform",
        groupBy: ["epic", "feature"],
        appendTitlePath: false,
      },
    },
  },
});
