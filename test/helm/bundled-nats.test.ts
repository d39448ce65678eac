/**
 * The bundled NATS's rendered nats.conf run by a real nats-server (its paths and ports mapped to a temp dir and
 * free ports): it starts with JetStream, and the chart's probes on its monitor port answer 200.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopChild } from "../support/child-process.js";
import { waitHttpOk } from "../support/http-ready.js";
import { freePort } from "../support/nats-server.js";
import { container, one, render } from "./chart.js";

describe("bundled NATS: the chart's nats.conf and probes with a real nats-server", () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let log = "";
  let monitorPort: number;
  let probes: { liveness: string; readiness: string; startup: string };

  beforeAll(async () => {
    const objects = render();
    const sts = one(objects, "StatefulSet", "-nats");
    const nats = container(sts, "nats");
    probes = {
      liveness: nats.livenessProbe.httpGet.path,
      readiness: nats.readinessProbe.httpGet.path,
      startup: nats.startupProbe.httpGet.path,
    };
    const conf = one(objects, "ConfigMap", "-nats").data["nats.conf"] as string;
    dir = await mkdtemp(path.join(tmpdir(), "tcpstate-bundled-nats-"));
    monitorPort = await freePort();
    const clientPort = await freePort();
    // Container paths and ports → this machine's (the PVC at /data, the pid file's emptyDir, the ports).
    const mapped = conf
      .replace("store_dir: /data", `store_dir: ${path.join(dir, "data")}`)
      .replace("/var/run/nats/nats.pid", path.join(dir, "nats.pid"))
      .replace(/^port: 4222$/m, `port: ${clientPort}\nhost: 127.0.0.1`)
      .replace(/^http_port: 8222$/m, `http: 127.0.0.1:${monitorPort}`);
    expect(mapped).not.toBe(conf);
    const file = path.join(dir, "nats.conf");
    await writeFile(file, mapped);
    const args = nats.args as string[];
    expect(args).toEqual(["--config", "/etc/nats/nats.conf"]);
    child = spawn("nats-server", ["--config", file], {
      env: { ...process.env, POD_NAME: "t-tcpstate-nats-0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
  }, 30_000);

  afterAll(async () => {
    if (child) await stopChild(child, "SIGTERM", 5000);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("starts with JetStream on the PVC and passes the startup, liveness and readiness probes", async () => {
    for (const probe of [probes.startup, probes.liveness, probes.readiness])
      await waitHttpOk(`http://127.0.0.1:${monitorPort}${probe}`, 15_000).catch((err: Error) => {
        throw new Error(`${err.message}\nnats-server log:\n${log}`);
      });
    expect(log).toContain("Starting JetStream");
    expect(log).toMatch(/Name: +t-tcpstate-nats-0/);
    expect(probes.liveness).toBe("/healthz?js-enabled-only=true");
  });
});
