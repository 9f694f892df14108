// Opens the offline viewer of a tile package (`chaski export --out DIR/demo.pmtiles`)
// from file:// in headless Chromium with the network disabled: the context is
// offline and every request that is not for a local file (file:, blob:, data:) is
// aborted and counted. The page asks for the archive (a page opened from a file may
// not read other files by itself); the test gives it the archive, waits for the map
// to be idle, and checks that communities and facilities were drawn from it
// (rendered features, and the pixel at a facility not the background's colour),
// that the style has no text layers, and that no request left the machine.
// Writes out/offline.png; screenshots/offline.png is the reviewed copy.
// Needs CHASKI_PACKAGE (the folder `chaski export` wrote) and Debian's chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const pkg = process.env.CHASKI_PACKAGE || "";

test("offline viewer renders the PMTiles package from file:// without a network", async () => {
  assert.ok(pkg, "CHASKI_PACKAGE (the folder chaski export wrote) is required");
  const archive = join(pkg, "demo.pmtiles");
  assert.ok(existsSync(archive), archive + " is missing");
  mkdirSync("out", { recursive: true });
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    ],
  });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1000, height: 700 } });
    const remote = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (/^(file|blob|data):/.test(url)) return route.continue();
      remote.push(url);
      return route.abort();
    });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(join(pkg, "index.html")).href);
    assert.equal(await page.isVisible("#file"), true, "the page asks for the archive");
    await page.setInputFiles("#file", archive);
    await page.waitForFunction(() => window.chaski && window.chaski.ready, null, { timeout: 60_000 });

    const drawn = await page.evaluate(() => {
      const map = window.chaski.map;
      const count = (layer) => map.queryRenderedFeatures({ layers: [layer] }).length;
      return {
        communities: count("communities"),
        facilities: count("facilities"),
        text: map.getStyle().layers.filter((l) => l.layout && l.layout["text-field"]).length,
        source: map.getStyle().sources.chaski.url,
      };
    });
    assert.ok(drawn.communities > 10, "communities drawn: " + JSON.stringify(drawn));
    assert.ok(drawn.facilities > 0, "facilities drawn: " + JSON.stringify(drawn));
    assert.equal(drawn.text, 0, "no text layer (no glyph server offline)");
    assert.equal(drawn.source, "pmtiles://demo.pmtiles");

    // The pixel at one drawn facility is not the background's (#f4f1ea).
    const pixel = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const map = window.chaski.map;
          const f = map.queryRenderedFeatures({ layers: ["facilities"] })[0];
          const at = map.project(f.geometry.coordinates);
          map.once("render", () => {
            const canvas = map.getCanvas();
            const gl = map.painter.context.gl;
            const ratio = canvas.width / canvas.clientWidth;
            const px = new Uint8Array(4);
            gl.readPixels(Math.round(at.x * ratio), canvas.height - 1 - Math.round(at.y * ratio), 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
            resolve([...px]);
          });
          map.triggerRepaint();
        })
    );
    assert.notDeepEqual(pixel.slice(0, 3), [0xf4, 0xf1, 0xea], "facility pixel " + pixel);
    assert.ok(pixel[0] > pixel[1] + 40, "a facility is drawn in red: " + pixel);

    await page.screenshot({ path: "out/offline.png" });
    assert.deepEqual(remote, [], "requests that left the machine");
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
});
