// Opens the chaski viewer in headless Chromium, waits for the map to be idle and
// checks that features were rendered. Keeps a screenshot in screenshots/.
// Needs CHASKI_URL (a running `chaski serve`) and Debian's chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.CHASKI_URL || "http://127.0.0.1:3000";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

test("viewer renders features from chaski tiles", async () => {
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const external = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) {
        external.push(r.url());
      }
    });
    await page.goto(url + "/", { waitUntil: "load" });
    await page.waitForFunction(() => window.chaski && (window.chaski.ready || window.chaski.error), null, {
      timeout: 60_000,
    });
    const state = await page.evaluate(() => ({
      ready: window.chaski.ready,
      error: window.chaski.error,
      rendered: window.chaski.renderedFeatures,
      layers: [...document.querySelectorAll("#layers input")].map((i) => i.dataset.layer),
    }));
    mkdirSync("screenshots", { recursive: true });
    await page.screenshot({ path: "screenshots/viewer.png" });
    assert.equal(state.error, null, "viewer error: " + state.error);
    assert.ok(state.ready, "map never became idle");
    assert.ok(state.rendered > 0, "no features rendered");
    assert.ok(state.layers.includes("communities"), "communities toggle missing: " + state.layers);
    assert.deepEqual(errors, [], "page errors");
    assert.deepEqual(external, [], "the viewer must work offline (no external requests)");

    // Click a rendered community: the popup lists its attributes.
    const point = await page.evaluate(() => {
      const f = window.chaski.map.queryRenderedFeatures({ layers: ["communities"] })[0];
      if (!f) return null;
      const p = window.chaski.map.project(f.geometry.coordinates);
      return { x: p.x, y: p.y };
    });
    if (point) {
      await page.mouse.click(point.x, point.y);
      await page.waitForSelector(".maplibregl-popup", { timeout: 10_000 });
      const text = await page.textContent(".maplibregl-popup");
      // The popup names the layer of the topmost feature under the click.
      assert.match(text, /communities|facilities|water_systems/);
      // ...and, from the travel-time API, the minutes on foot to care, with the route drawn.
      await page.waitForFunction(() => window.chaski.lastAccess, null, { timeout: 30_000 });
      const access = await page.evaluate(() => window.chaski.lastAccess);
      assert.equal(access.error, undefined, "accessibility error: " + access.error);
      assert.ok(access.minutes >= 0, "minutes: " + access.minutes);
      assert.match(await page.textContent(".maplibregl-popup .access"), /\d+ min on foot to/);
      assert.ok(await page.evaluate(() => !!window.chaski.map.getLayer("chaski-route")), "route not drawn");
      await page.screenshot({ path: "screenshots/viewer-access.png" });
    }
  } finally {
    await browser.close();
  }
});
