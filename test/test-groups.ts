/**
 * Which tests are unit tests: the rule `npm run test:unit` selects by (vitest.config.ts), stated once here and
 * checked by test/test-groups.test.ts.
 *
 * A unit test needs no root, no kernel, no servers and no build: it runs plain modules in this process (an
 * in-process HTTP server on port 0 is fine). Every other test is a system test, and says so by where it lies or
 * by its name:
 * - a system folder: kernel, nats, helm, image, cluster, local, alerts (the data path through real processes);
 * - elsewhere, a name ending in `.process.test.ts`: it starts processes (the built CLI, a service, nats-server,
 *   openssl, helm).
 */

/** Folders under test/ whose every test is a system test. */
export const SYSTEM_FOLDERS = ["alerts", "cluster", "helm", "image", "kernel", "local", "nats"] as const;

/** The name ending of a system test outside the system folders. */
export const PROCESS_TEST_SUFFIX = ".process.test.ts";

/** Globs (from the repository root) of the unit tests, and of what is left out of them. */
export const UNIT_TESTS = {
  include: ["test/**/*.test.ts"],
  exclude: [...SYSTEM_FOLDERS.map((f) => `test/${f}/**`), `test/**/*${PROCESS_TEST_SUFFIX}`],
};

/** Globs of the system tests: the rest. */
export const SYSTEM_TESTS = {
  include: [...SYSTEM_FOLDERS.map((f) => `test/${f}/**/*.test.ts`), `test/**/*${PROCESS_TEST_SUFFIX}`],
};

/** Whether `file` (a path from the repository root, "/"-separated) is a unit test by the rule above. */
export function isUnitTest(file: string): boolean {
  const [top, folder] = file.split("/");
  return (
    top === "test" &&
    file.endsWith(".test.ts") &&
    !file.endsWith(PROCESS_TEST_SUFFIX) &&
    !(SYSTEM_FOLDERS as readonly string[]).includes(folder ?? "")
  );
}
