// Opens the chaski viewer in headless Chromium, waits for the map to be idle and
// checks that features were rendered. Keeps a screenshot in screenshots/.
// Needs CHASKI_URL (a running `chaski serve`) and Debian's chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const url = process.env.CHASKI_URL || "http://127.0.0.1:3000";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
// An admin token of the test store (scripts/browser-test.sh creates it).
const token = process.env.CHASKI_TOKEN || "";

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
    const tokenInUrls = [];
    page.on("request", (r) => {
      if (r.url().includes("chk_")) tokenInUrls.push(r.url());
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
    assert.ok(point, "no community rendered to click");
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

    // What-if: draw the README's footpath from Pucyuchaca and a bridge by clicking,
    // compute, and see the tiles, the summary and the popup change.
    await page.evaluate(() => {
      for (const b of document.querySelectorAll(".maplibregl-popup-close-button")) b.click();
      window.chaski.map.jumpTo({ center: [-74.1128, -12.9295], zoom: 15 });
    });
    await page.waitForFunction(() => window.chaski.map.loaded(), null, { timeout: 30_000 });
    const at = ([lon, lat]) =>
      page.evaluate(([lon, lat]) => window.chaski.map.project([lon, lat]), [lon, lat]);
    const village = [-74.11474, -12.928104];
    const bank = [-74.1117377, -12.930266];
    const across = [-74.1109947, -12.930801];
    for (const [edit, line] of [["path", [village, bank]], ["bridge", [bank, across]]]) {
      await page.click(`#whatif button[data-edit=${edit}]`);
      for (const p of line) {
        const xy = await at(p);
        await page.mouse.click(xy.x, xy.y);
      }
      await page.click(`#whatif button[data-edit=${edit}]`);
    }
    assert.equal(await page.evaluate(() => window.chaski.whatif.edits.length), 2);
    await page.click("#wi-run");
    await page.waitForFunction(() => window.chaski.whatif.id || window.chaski.whatif.error, null, {
      timeout: 30_000,
    });
    const wi = await page.evaluate(() => window.chaski.whatif);
    assert.equal(wi.error, null, "what-if error: " + wi.error);
    const pucyuchaca = wi.summary.villages_changed.find((v) => v.code === "DEMO-CP0080");
    assert.ok(pucyuchaca, "Pucyuchaca not among the villages changed");
    assert.ok(pucyuchaca.after_min < pucyuchaca.before_min - 20, JSON.stringify(pucyuchaca));
    assert.match(await page.textContent("#wi-result"), /Pucyuchaca: \d+ → \d+ min/);
    assert.ok(await page.evaluate(() => !!window.chaski.map.getLayer("chaski-whatif-facilities")));
    assert.match(
      await page.evaluate(() => window.chaski.map.getSource("chaski").url),
      new RegExp("/whatif/" + wi.id + "/tiles/.*whatif_edits\\.json$")
    );
    await page.waitForFunction(
      () => window.chaski.map.loaded() &&
        window.chaski.map.querySourceFeatures("chaski", { sourceLayer: "whatif_edits" }).length > 0,
      null,
      { timeout: 30_000 }
    );
    // A click at the village now gives the minutes with the edits, and without.
    await page.evaluate(() => delete window.chaski.lastAccess);
    const v = await at(village);
    await page.mouse.click(v.x, v.y);
    await page.waitForFunction(() => window.chaski.lastAccess, null, { timeout: 30_000 });
    await page.waitForSelector(".maplibregl-popup .access .before", { timeout: 10_000 });
    const withEdits = await page.evaluate(() => window.chaski.lastAccess.minutes);
    assert.ok(Math.abs(withEdits - pucyuchaca.after_min) < 5, withEdits + " vs " + pucyuchaca.after_min);
    await page.screenshot({ path: "screenshots/viewer-whatif.png" });
    // Clear drops the what-if and brings the base tiles back.
    await page.click("#wi-clear");
    assert.equal(await page.$(".maplibregl-popup"), null, "the what-if popup stayed open");
    assert.doesNotMatch(await page.evaluate(() => window.chaski.map.getSource("chaski").url), /whatif/);
    assert.equal(await page.evaluate(() => window.chaski.whatif.deleted), 204);
    const gone = await page.evaluate((id) => fetch("/api/whatif/" + id).then((r) => r.status), wi.id);
    assert.equal(gone, 404);

    // Private layers: a wrong token shows none; an admin token shows the households
    // (sent in an Authorization header, never in a URL) and clusters; Forget drops them.
    await page.fill("#token", "chk_0000000000000000000000000000000000000000000000000000000000000000");
    await page.click("#token-use");
    await page.evaluate(() => window.chaski.private.done);
    assert.match(await page.evaluate(() => window.chaski.private.error || ""), /no private layers/);
    assert.equal(await page.evaluate(() => !!window.chaski.map.getSource("chaski-private")), false);
    assert.ok(token, "CHASKI_TOKEN (an admin token of the served store) is required");
    await page.fill("#token", token);
    await page.click("#token-use");
    await page.evaluate(() => window.chaski.private.done);
    const priv = await page.evaluate(() => window.chaski.private);
    assert.equal(priv.error, null, "private layers: " + priv.error);
    assert.deepEqual([...priv.layers].sort(), ["clusters", "households"]);
    for (const id of ["chaski-private-households", "chaski-private-clusters", "chaski-private-small-clusters"]) {
      assert.ok(await page.evaluate((id) => !!window.chaski.map.getLayer(id), id), id + " not added");
    }
    await page.evaluate(() => window.chaski.map.jumpTo({ center: [-74.1147, -12.9281], zoom: 15 }));
    await page.waitForFunction(
      () => window.chaski.map.loaded() &&
        window.chaski.map.querySourceFeatures("chaski-private", { sourceLayer: "households" }).length > 0,
      null,
      { timeout: 30_000 }
    );
    await page.screenshot({ path: "screenshots/viewer-private.png" });
    await page.click("#token-forget");
    await page.evaluate(() => window.chaski.private.done);
    assert.equal(await page.evaluate(() => !!window.chaski.map.getSource("chaski-private")), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chaski.token")), null);
    assert.ok(!tokenInUrls.length, "a token appeared in a URL: " + tokenInUrls);
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
});
