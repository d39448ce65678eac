/**
 * `tcpstate tail --state CLOSE`: every close event carries `to: "CLOSE"`, so CLOSE is a state `tail` filters on,
 * through the CLI's own check and the collector's `state=` filter, like any gauge state.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TransitionEvent } from "../../agent/wire/events.js";
import { EventTap } from "../../collector/live/event-tap.js";
import { ClusterModel } from "../../collector/model/cluster-model.js";
import type { ServiceHttp } from "../../common/service-http.js";
import { CLI, runCli } from "../support/agent-process.js";
import { stopChild } from "../support/child-process.js";
import { serveModel } from "../support/model-http.js";
import { podOwner, TEST_EPOCH } from "../support/summaries.js";

const event = (from: string, to: string, sport: number): TransitionEvent => ({
  time: TEST_EPOCH,
  node: "node-1",
  owner: podOwner("uid-api", "api"),
  netns: 4026532000,
  cgroup: 1,
  from,
  to,
  family: 4,
  saddr: "10.0.0.5",
  sport,
  daddr: "10.0.0.9",
  dport: 5432,
});

/** What the agents send, in this order: closes among the rest, the last one a close too. */
const FEED = [
  event("CLOSE", "SYN_SENT", 40001),
  event("SYN_SENT", "ESTABLISHED", 40001),
  event("ESTABLISHED", "FIN_WAIT1", 40001),
  event("LAST_ACK", "CLOSE", 40002),
  event("ESTABLISHED", "CLOSE_WAIT", 40003),
  event("FIN_WAIT2", "TIME_WAIT", 40001),
  event("SYN_SENT", "CLOSE", 40004),
];

describe("tcpstate tail --state CLOSE", () => {
  let http: ServiceHttp;
  let server: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    // A feed that sends FEED to each watcher that opens it, as the agents would after a lease.
    const feed = {
      open(onEvent: (e: TransitionEvent) => void) {
        const timer = setTimeout(() => {
          for (const e of FEED) onEvent(e);
        }, 50);
        return () => clearTimeout(timer);
      },
    };
    http = await serveModel(new ClusterModel(3_600_000, 86_400_000), {
      clock: () => TEST_EPOCH,
      events: new EventTap(() => feed, null),
    });
    server = `http://127.0.0.1:${http.port}`;
  });
  afterEach(async () => {
    if (child) await stopChild(child, "SIGTERM", 5000);
    child = undefined;
  });
  afterAll(() => http?.close());

  it("streams the close events (to CLOSE) and the opens (from CLOSE), nothing else", async () => {
    child = spawn(process.execPath, [CLI, "tail", "--state", "close", "-o", "json", "--server", server]);
    const lines: string[] = [];
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    await new Promise<void>((resolve, reject) => {
      let buffered = "";
      child?.stdout?.on("data", (d) => {
        buffered += d;
        const done = buffered.split("\n");
        buffered = done.pop() ?? "";
        lines.push(...done);
        // The feed's last event passes the filter: every line before it has arrived by then.
        if (lines.some((l) => l.includes('"sport":40004'))) resolve();
      });
      child?.once("exit", (code) => reject(new Error(`tail exited ${code}: ${stderr}`)));
    });
    expect(lines.map((l) => JSON.parse(l) as { from: string; to: string; sport: number })).toMatchObject([
      { from: "CLOSE", to: "SYN_SENT", sport: 40001 },
      { from: "LAST_ACK", to: "CLOSE", sport: 40002 },
      { from: "SYN_SENT", to: "CLOSE", sport: 40004 },
    ]);
  });

  it("refuses a state no transition names, listing CLOSE among the accepted", async () => {
    const r = await runCli(["tail", "--state", "HALF_OPEN", "--server", server]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --state "HALF_OPEN": accepted .*LISTEN, CLOSE/);
    const api = await fetch(`${server}/api/v1/events?state=HALF_OPEN`);
    expect(api.status).toBe(400);
    expect(((await api.json()) as { error: string }).error).toMatch(/accepted states: .*LISTEN, CLOSE/);
  });
});
