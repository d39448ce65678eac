import { defineConfig } from "vitest/config";
import { SYSTEM_TESTS, UNIT_TESTS } from "./test/test-groups.js";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // `npm run test:unit` runs the unit project only (no root, kernel, servers or build: the rule is in
    // test/test-groups.ts); `npm test` runs both, the unit tests first.
    projects: [
      {
        extends: true,
        test: { name: "unit", ...UNIT_TESTS, fileParallelism: true, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Kernel tests share the host's tracepoint and create network namespaces: run files one at a time,
        // after the unit tests, whose loopback traffic would otherwise land in a host-network pod's counts.
        test: { name: "system", ...SYSTEM_TESTS, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
