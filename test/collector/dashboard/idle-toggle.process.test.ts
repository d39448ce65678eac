/**
 * The dashboard's "Top pods" leaves out an entry with nothing in the window (an empty CNI netns), says how many
 * it hid, and lists it once "show idle" is ticked: headless Chromium against a collector over a hand-filled model.
 */
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceHttp } from "../../../common/service-http.js";
import { modelWithIdleNetns } from "../../support/idle-model.js";
import { serveModel } from "../../support/model-http.js";

describe("dashboard: show idle", () => {
  let http: ServiceHttp;
  beforeAll(async () => {
    const { model, now } = modelWithIdleNetns(60);
    http = await serveModel(model, { clock: () => now });
  });
  afterAll(() => http?.close());

  it("hides the idle netns by default, with its count, and lists it after the toggle is clicked", async () => {
    // Debian's chromium, as test/nats/query-e2e.test.ts drives it.
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
    const errors: string[] = [];
    try {
      const page = await browser.newPage();
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        // serveModel runs no alerting: the dashboard's /api/v1/alerts poll is answered 404, and skipped.
        if (m.type() === "error" && !m.location().url.includes("/api/v1/alerts")) errors.push(m.text());
      });
      await page.goto(`http://127.0.0.1:${http.port}/`);
      await page.waitForSelector('#pods tbody tr[data-pod="shop/api"]');
      await expect.poll(() => page.textContent("#hidden-idle")).toContain("1 idle hidden");
      expect(await page.$$eval("#pods tbody tr", (trs) => trs.map((tr) => tr.dataset.pod))).toEqual([
        "shop/api",
      ]);

      await page.getByLabel("show idle").check();
      await page.waitForSelector('#pods tbody tr[data-pod="/cni-leftover"]');
      expect(await page.$$eval("#pods tbody tr", (trs) => trs.length)).toBe(2);
      expect(await page.textContent("#hidden-idle")).toBe("");

      await page.getByLabel("show idle").uncheck();
      await page.waitForSelector('#pods tbody tr[data-pod="/cni-leftover"]', { state: "detached" });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
