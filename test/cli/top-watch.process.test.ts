/**
 * `tcpstate top --watch` as users run it against a collector whose data moves on: each redraw shows the
 * current ranking (a pod that starts churning harder takes the top row), in place on a terminal (cursor home
 * + clear) and one table after another through a pipe; Ctrl-C ends it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterModel } from "../../collector/model/cluster-model.js";
import type { ServiceHttp } from "../../common/service-http.js";
import { CLI } from "../support/agent-process.js";
import { exited } from "../support/child-process.js";
import { serveModel } from "../support/model-http.js";
import { podOwner, TEST_EPOCH, testSummary } from "../support/summaries.js";

const api = podOwner("uid-api", "api", "shop", "api");
const web = podOwner("uid-web", "web", "shop", "web");
const CLEAR = "\x1b[H\x1b[2J";

/** First column pair (namespace, pod) of each table row in one frame, header skipped. */
function ranking(frame: string): string[] {
  return frame
    .split("\n")
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/).slice(0, 2).join("/"));
}

function startWatch(args: string[], tty: boolean): { child: ChildProcess; output: () => string } {
  const argv = [CLI, "top", "-A", "--watch", "--interval", "200ms", "--window", "1m", ...args];
  // script(1) gives top a pseudo-terminal; through a plain pipe stdout is not a TTY.
  const child = tty
    ? spawn("script", ["-qfec", [process.execPath, ...argv].join(" "), "/dev/null"], {
        env: { ...process.env, TERM: "xterm", COLUMNS: "200" },
      })
    : spawn(process.execPath, argv);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return { child, output: () => out };
}

describe("tcpstate top --watch", () => {
  let http: ServiceHttp;
  let server: string;
  let seq = 0;
  const model = new ClusterModel(3_600_000, 86_400_000, () => TEST_EPOCH + seq * 5000);
  /** One more 5 s window: api opens `apiOpens`, web `webOpens`. */
  const window = (apiOpens: number, webOpens: number) => {
    model.apply(
      testSummary("node-1", seq, [
        { owner: api, window: { active_opens: apiOpens } },
        { owner: web, window: { active_opens: webOpens } },
      ]),
    );
    seq++;
  };
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    http = await serveModel(model, { clock: () => TEST_EPOCH + seq * 5000 });
    server = `http://127.0.0.1:${http.port}`;
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await http?.close();
  });

  for (const tty of [false, true]) {
    it(`redraws the current ranking ${tty ? "in place on a terminal" : "frame after frame through a pipe"}, and Ctrl-C ends it`, async () => {
      for (let i = 0; i < 12; i++) window(100, 10); // the last minute: api ahead of web
      const run = startWatch(["--server", server], tty);
      children.push(run.child);
      // A frame is everything between two clears (terminal) or two blank lines (pipe).
      const frames = () =>
        (tty ? run.output().split(CLEAR).slice(1) : run.output().split("\n\n"))
          .map((f) => f.replace(/\r/g, "").trim())
          .filter((f) => f.startsWith("NAMESPACE"));
      await expect.poll(() => frames().length, { timeout: 15_000 }).toBeGreaterThan(0);
      expect(ranking(frames()[0] as string)).toEqual(["shop/api", "shop/web"]);
      // web now churns hard for a minute: the next redraws put it on top.
      for (let i = 0; i < 12; i++) window(100, 1000);
      const seen = frames().length;
      const tops = () =>
        frames()
          .slice(seen)
          .map((f) => ranking(f)[0]);
      await expect.poll(tops, { timeout: 15_000 }).toContain("shop/web");
      const moved = frames()
        .slice(seen)
        .find((f) => ranking(f)[0] === "shop/web") as string;
      expect(ranking(moved)).toEqual(["shop/web", "shop/api"]);
      if (tty) expect(run.output().startsWith(CLEAR)).toBe(true);
      else expect(run.output()).not.toContain("\x1b[");

      // Ctrl-C: on a terminal it reaches top through script's pty as its interrupt character.
      if (tty) run.child.stdin?.write("\x03");
      else run.child.kill("SIGINT");
      const end = await Promise.race([
        exited(run.child),
        new Promise<"still running">((r) => setTimeout(() => r("still running"), 5000)),
      ]);
      expect(end).not.toBe("still running");
    }, 30_000);
  }
});
