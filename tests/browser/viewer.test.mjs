// Opens the chaski viewer in headless Chromium, waits for the map to be idle and
// checks that features were rendered (the pixels of the WebGL canvas at every
// facility of the served data have the facility's colour), that it opens on the
// data's extent, that its texts are Spanish by default and English with the ES | EN
// switch, then clicks, what-if edits and private layers (household clusters drawn
// and queryable). A second test sites maternity waiting homes through the planner
// panel (Casas maternas) and checks the page against POST /api/siting called from
// here with the same body: the homes in the same order, the births covered, one
// chart point per home at the curve's values, the homes drawn on the map (a black
// ring at each home's position, rank labels), the downloads; and that a bad request
// shows the API's error in the panel. Test runs write their screenshots to out/
// (git-ignored); screenshots/ holds the reviewed ones kept in the repository
// (screenshots/planner.png: a copy of out/planner.png, looked at before committing).
// A last test opens the API page (/api) and checks it lists every operation of
// /openapi.json without fetching anything from elsewhere.
// Needs CHASKI_URL (a running `chaski serve`), CHASKI_DATA (the folder of the demo
// files it serves) and Debian's chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.CHASKI_URL || "http://127.0.0.1:3000";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
// An admin token of the test store (scripts/browser-test.sh creates it).
const token = process.env.CHASKI_TOKEN || "";
// The demo files the served store was loaded from (scripts/browser-test.sh).
const dataDir = process.env.CHASKI_DATA || "";

// The facilities of the served data, from its CSV: code, category, lon, lat.
function facilities() {
  assert.ok(dataDir, "CHASKI_DATA (the folder of the served demo files) is required");
  const [header, ...rows] = readFileSync(join(dataDir, "facilities.csv"), "utf8").trim().split(/\r?\n/);
  const cols = header.split(",");
  const at = (name) => {
    const i = cols.indexOf(name);
    assert.ok(i >= 0, "facilities.csv has no column " + name);
    return i;
  };
  const [code, category, lon, lat] = ["codigo", "categoria", "lon", "lat"].map(at);
  return rows.map((r) => {
    const v = r.split(",");
    assert.equal(v.length, cols.length, "facilities.csv row with quoted commas: " + r);
    return { code: v[code], category: v[category], lon: Number(v[lon]), lat: Number(v[lat]) };
  });
}

// The fill colour the default style gives a facility of a category (styles/default.json).
const facilityColour = (category) =>
  ({ "I-1": [0xf4, 0xa6, 0xa6], "I-2": [0xf4, 0xa6, 0xa6], "I-3": [0xe0, 0x47, 0x4c], "I-4": [0xe0, 0x47, 0x4c] })[category] ||
  [0x8b, 0x00, 0x00];

// Pixels of the map's WebGL canvas, read with gl.readPixels in the frame that drew
// them (the drawing buffer is intact until the frame is presented, so no
// preserveDrawingBuffer is needed). `points` are [x, y] in CSS pixels of the map, as
// map.project gives; the answer is [r, g, b, a] per point. With `whole`, also the
// count of pixels that differ from the frame stored by the previous call with `keep`.
function canvasPixels(page, points, opts = {}) {
  return page.evaluate(
    ([points, opts]) =>
      new Promise((resolve) => {
        const map = window.chaski.map;
        map.once("render", () => {
          const canvas = map.getCanvas();
          const gl = (map.painter && map.painter.context && map.painter.context.gl) ||
            canvas.getContext("webgl2") || canvas.getContext("webgl");
          const ratio = canvas.width / canvas.clientWidth;
          const read = ([x, y]) => {
            const px = new Uint8Array(4);
            gl.readPixels(Math.round(x * ratio), canvas.height - 1 - Math.round(y * ratio), 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
            return [...px];
          };
          const answer = { pixels: points.map(read) };
          if (opts.keep || opts.compare) {
            const all = new Uint8Array(canvas.width * canvas.height * 4);
            gl.readPixels(0, 0, canvas.width, canvas.height, gl.RGBA, gl.UNSIGNED_BYTE, all);
            if (opts.compare) {
              const before = window.chaski.testFrame;
              let differ = 0;
              for (let i = 0; i < all.length; i += 4) {
                if (all[i] !== before[i] || all[i + 1] !== before[i + 1] || all[i + 2] !== before[i + 2]) differ++;
              }
              answer.differ = differ;
            }
            if (opts.keep) window.chaski.testFrame = all;
          }
          resolve(answer);
        });
        map.triggerRepaint();
      }),
    [points, opts]
  );
}

// Wait until the map has loaded its tiles and drawn them.
const waitIdle = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve) => {
        const map = window.chaski.map;
        if (map.loaded() && map.areTilesLoaded()) resolve();
        else map.once("idle", resolve);
      })
  );

const waitReady = (page) =>
  page.waitForFunction(() => window.chaski && (window.chaski.ready || window.chaski.error), null, {
    timeout: 60_000,
  });

// The viewer's labels that must follow the language, by selector.
const labels = {
  es: {
    "#layers h2": "Capas",
    "#legend h2": "Leyenda",
    "#private h2": "Capas privadas",
    "#token-use": "Usar token",
    "#token-forget": "Olvidar",
    "#whatif h2": "¿Y si…?",
    "#whatif button[data-edit=path]": "Camino",
    "#whatif button[data-edit=facility]": "Puesto de salud",
    "#wi-run": "Calcular",
    "#wi-scenario option[value=walking]": "a pie",
    "#layers input[data-layer=communities] + span": "Centros poblados",
    "#layers input[data-layer=facilities] + span": "Establecimientos de salud",
    "#layers input[data-layer=travel_time] + span": "Minutos a pie",
  },
  en: {
    "#layers h2": "Layers",
    "#legend h2": "Legend",
    "#private h2": "Private layers",
    "#token-use": "Use token",
    "#token-forget": "Forget",
    "#whatif h2": "What if…",
    "#whatif button[data-edit=path]": "Path",
    "#whatif button[data-edit=facility]": "Health post",
    "#wi-run": "Compute",
    "#wi-scenario option[value=walking]": "walking",
    "#layers input[data-layer=communities] + span": "Communities (villages)",
    "#layers input[data-layer=facilities] + span": "Health facilities",
    "#layers input[data-layer=travel_time] + span": "Minutes on foot",
  },
};

async function assertLanguage(page, lang) {
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
  for (const [sel, want] of Object.entries(labels[lang])) {
    assert.equal((await page.textContent(sel)).trim(), want, `${lang}: ${sel}`);
  }
  const legend = await page.textContent("#legend");
  const status = await page.textContent("#status");
  const note = await page.textContent(".note");
  if (lang === "es") {
    assert.match(legend, /Establecimiento de salud .*Grupo de establecimientos/s);
    assert.match(status, /elementos en pantalla/);
    assert.match(note, /funciona sin conexión/);
  } else {
    assert.match(legend, /Health facility .*Group of facilities/s);
    assert.match(status, /features on screen/);
    assert.match(note, /works offline/);
  }
  assert.equal(
    await page.evaluate(() => document.querySelector("#lang button[aria-pressed=true]").dataset.lang),
    lang
  );
}

// Headless Chromium with WebGL in software (SwiftShader).
const launch = () =>
  chromium.launch({
    executablePath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    ],
  });

test("viewer renders features from chaski tiles", async () => {
  const browser = await launch();
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
    await waitReady(page);
    const state = await page.evaluate(() => ({
      ready: window.chaski.ready,
      error: window.chaski.error,
      rendered: window.chaski.renderedFeatures,
      layers: [...document.querySelectorAll("#layers input")].map((i) => i.dataset.layer),
      data: window.chaski.dataBounds,
      initial: window.chaski.initialBounds,
    }));
    mkdirSync("out", { recursive: true });
    await page.screenshot({ path: "out/viewer.png" });
    assert.equal(state.error, null, "viewer error: " + state.error);
    assert.ok(state.ready, "map never became idle");
    assert.ok(state.rendered > 0, "no features rendered");
    assert.ok(state.layers.includes("communities"), "communities toggle missing: " + state.layers);
    assert.deepEqual(errors, [], "page errors");
    assert.deepEqual(external, [], "the viewer must work offline (no external requests)");

    // Drawn, not only loaded: at the projected position of every facility of the data
    // in view, the canvas holds the facility's colour (a blank canvas, or tiles that
    // decode but do not draw, fail here).
    const expected = facilities();
    const inView = await page.evaluate((fs) => {
      const map = window.chaski.map;
      const c = map.getCanvas();
      return fs
        .map((f) => ({ ...f, xy: map.project([f.lon, f.lat]) }))
        .filter((f) => f.xy.x >= 10 && f.xy.y >= 10 && f.xy.x < c.clientWidth - 10 && f.xy.y < c.clientHeight - 10)
        .map((f) => ({ code: f.code, category: f.category, xy: [f.xy.x, f.xy.y] }));
    }, expected);
    assert.ok(inView.length >= expected.length / 2, `only ${inView.length} of ${expected.length} facilities in view`);
    const { pixels } = await canvasPixels(page, inView.map((f) => f.xy));
    const wrong = inView
      .map((f, i) => ({ code: f.code, category: f.category, want: facilityColour(f.category), got: pixels[i] }))
      .filter(({ want, got }) => want.some((v, k) => Math.abs(v - got[k]) > 24) || got[3] < 250);
    assert.deepEqual(wrong, [], `facilities not drawn in their colour (of ${inView.length} in view)`);

    // The map opens on the extent of the data (the demo region), not on all of Peru:
    // the view holds the data's bounds and is about as large in its tighter dimension.
    const [w, s, e, n] = state.data || [];
    assert.ok(state.data && e > w && n > s, "no data bounds from the catalog: " + state.data);
    assert.ok(e - w < 3 && n - s < 3, "the data's extent is not the demo region: " + state.data);
    const [vw, vs, ve, vn] = state.initial;
    const eps = 1e-6;
    assert.ok(vw <= w + eps && vs <= s + eps && ve >= e - eps && vn >= n - eps,
      `initial view ${state.initial} does not hold the data ${state.data}`);
    const ratio = Math.min((ve - vw) / (e - w), (vn - vs) / (n - s));
    assert.ok(ratio < 1.5, `initial view ${state.initial} is much larger than the data ${state.data}`);
    assert.ok(ve - vw < 5, "the initial view spans Peru: " + state.initial);

    // Spanish by default; the ES | EN switch turns every label to English and back,
    // and the choice is kept for the tab (a reload stays in English).
    await assertLanguage(page, "es");
    for (const id of ["facility-clusters", "facility-clusters-count"]) {
      assert.ok(await page.evaluate((id) => !!window.chaski.map.getLayer(id), id), id + " missing");
    }
    // A cluster point of facilities (what low-zoom tiles of dense data carry:
    // generalized=true, count) is drawn with the style's grey circle and its count
    // (local fonts, no glyph server), not as a facility in a hospital's colour.
    const cluster = await page.evaluate(async () => {
      const map = window.chaski.map;
      const c = map.getCenter();
      const ids = ["facility-clusters", "facility-clusters-count", "facilities"];
      map.addSource("test-cluster", {
        type: "geojson",
        data: { type: "Feature", properties: { count: 12, generalized: true }, geometry: { type: "Point", coordinates: [c.lng, c.lat] } },
      });
      for (const id of ids) {
        const copy = Object.assign({}, map.getStyle().layers.find((l) => l.id === id), { id: "test-" + id, source: "test-cluster" });
        delete copy["source-layer"];
        map.addLayer(copy);
      }
      await new Promise((resolve) => map.once("idle", resolve));
      const p = map.project(c);
      const box = [[p.x - 30, p.y - 30], [p.x + 30, p.y + 30]];
      const found = {};
      for (const id of ids) found[id] = map.queryRenderedFeatures(box, { layers: ["test-" + id] }).length;
      return found;
    });
    await page.screenshot({ path: "out/viewer-cluster.png" });
    await page.evaluate(() => {
      const map = window.chaski.map;
      for (const id of ["facility-clusters", "facility-clusters-count", "facilities"]) map.removeLayer("test-" + id);
      map.removeSource("test-cluster");
    });
    assert.deepEqual(cluster, { "facility-clusters": 1, "facility-clusters-count": 1, facilities: 0 });

    await page.click("#lang button[data-lang=en]");
    await assertLanguage(page, "en");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chaski.lang")), "en");
    await page.screenshot({ path: "out/viewer-en.png" });
    await page.reload({ waitUntil: "load" });
    await waitReady(page);
    await assertLanguage(page, "en");
    await page.click("#lang button[data-lang=es]");
    await assertLanguage(page, "es");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chaski.lang")), "es");

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
    // The popup names the layer of the topmost feature under the click, in Spanish.
    assert.match(text, /Centros poblados|Establecimientos de salud|Sistemas de agua/);
    // ...and, from the travel-time API, the minutes on foot to care, with the route drawn.
    await page.waitForFunction(() => window.chaski.lastAccess, null, { timeout: 30_000 });
    const access = await page.evaluate(() => window.chaski.lastAccess);
    assert.equal(access.error, undefined, "accessibility error: " + access.error);
    assert.ok(access.minutes >= 0, "minutes: " + access.minutes);
    assert.match(await page.textContent(".maplibregl-popup .access"), /\d+ min a pie hasta/);
    // The open popup follows the switch.
    await page.click("#lang button[data-lang=en]");
    assert.match(await page.textContent(".maplibregl-popup .access"), /\d+ min on foot to/);
    assert.match(await page.textContent(".maplibregl-popup"), /Communities|Health facilities|Water systems/);
    await page.click("#lang button[data-lang=es]");
    assert.match(await page.textContent(".maplibregl-popup .access"), /\d+ min a pie hasta/);
    assert.ok(await page.evaluate(() => !!window.chaski.map.getLayer("chaski-route")), "route not drawn");
    await page.screenshot({ path: "out/viewer-access.png" });

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
    assert.match(await page.textContent("#wi-result"), /centros poblados cambian \(a pie, hacia el establecimiento\)/);
    assert.match(await page.textContent("#wi-result"), /a 60 min o menos/);
    await page.click("#lang button[data-lang=en]");
    assert.match(await page.textContent("#wi-result"), /villages change \(walking, to the facility\)/);
    await page.click("#lang button[data-lang=es]");
    assert.ok(await page.evaluate(() => !!window.chaski.map.getLayer("chaski-whatif-facilities")));
    assert.match(
      await page.evaluate(() => window.chaski.map.getSource("chaski").url),
      new RegExp("/whatif/" + wi.id + "/tiles/.*whatif_edits\\.json$")
    );
    await page.waitForFunction(
      () => window.chaski.map.loaded() &&
        window.chaski.map.querySourceFeatures("chaski", { sourceLayer: "whatif_edits" }).length > 0,
      null,
      // The what-if tiles are computed on first request; on a loaded 2-core host this takes a while.
      { timeout: 60_000 }
    ).catch(async (e) => {
      console.log("what-if tiles not loaded:", await page.evaluate(() => JSON.stringify({
        loaded: window.chaski.map.loaded(), errors: window.chaski.mapErrors,
        url: window.chaski.map.getSource("chaski").url,
        n: window.chaski.map.querySourceFeatures("chaski", { sourceLayer: "whatif_edits" }).length,
        tiles: window.chaski.map.areTilesLoaded(),
      })));
      throw e;
    });
    // A click at the village now gives the minutes with the edits, and without.
    await page.evaluate(() => delete window.chaski.lastAccess);
    const v = await at(village);
    await page.mouse.click(v.x, v.y);
    await page.waitForFunction(() => window.chaski.lastAccess, null, { timeout: 30_000 });
    await page.waitForSelector(".maplibregl-popup .access .before", { timeout: 10_000 });
    const withEdits = await page.evaluate(() => window.chaski.lastAccess.minutes);
    assert.ok(Math.abs(withEdits - pucyuchaca.after_min) < 5, withEdits + " vs " + pucyuchaca.after_min);
    await page.screenshot({ path: "out/viewer-whatif.png" });
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
    assert.match(await page.evaluate(() => window.chaski.private.error || ""), /ninguna capa privada/);
    assert.match(await page.textContent("#token-status"), /ninguna capa privada/);
    assert.equal(await page.evaluate(() => !!window.chaski.map.getSource("chaski-private")), false);
    assert.ok(token, "CHASKI_TOKEN (an admin token of the served store) is required");
    await page.fill("#token", token);
    await page.click("#token-use");
    await page.evaluate(() => window.chaski.private.done);
    const priv = await page.evaluate(() => window.chaski.private);
    assert.equal(priv.error, null, "private layers: " + priv.error);
    assert.deepEqual([...priv.layers].sort(), ["clusters", "households"]);
    assert.match(await page.textContent("#token-status"), /mostrando hogares y conglomerados/);
    for (const id of ["chaski-private-households", "chaski-private-clusters", "chaski-private-small-clusters"]) {
      assert.ok(await page.evaluate((id) => !!window.chaski.map.getLayer(id), id), id + " not added");
    }
    // Household clusters are drawn, not only declared: on the data's extent the
    // cluster layers hold rendered features, and hiding them changes the canvas.
    const clusterLayers = ["chaski-private-clusters", "chaski-private-small-clusters"];
    await page.evaluate(() => {
      const [w, s, e, n] = window.chaski.dataBounds;
      window.chaski.map.fitBounds([[w, s], [e, n]], { padding: 20, animate: false });
    });
    await page.waitForFunction(
      (ids) => window.chaski.map.loaded() && window.chaski.map.areTilesLoaded() &&
        window.chaski.map.queryRenderedFeatures({ layers: ids }).length > 0,
      clusterLayers,
      { timeout: 30_000 }
    );
    await waitIdle(page);
    const clustersShown = await page.evaluate(
      (ids) => window.chaski.map.queryRenderedFeatures({ layers: ids }).length,
      clusterLayers
    );
    assert.ok(clustersShown > 0, "no household cluster rendered");
    await canvasPixels(page, [], { keep: true });
    await page.evaluate((ids) => {
      for (const id of ids) window.chaski.map.setLayoutProperty(id, "visibility", "none");
    }, clusterLayers);
    await waitIdle(page);
    const { differ } = await canvasPixels(page, [], { compare: true });
    await page.evaluate((ids) => {
      for (const id of ids) window.chaski.map.setLayoutProperty(id, "visibility", "visible");
    }, clusterLayers);
    assert.ok(differ > 50, `hiding ${clustersShown} rendered clusters changed ${differ} pixels`);
    await page.screenshot({ path: "out/viewer-clusters.png" });
    await page.evaluate(() => window.chaski.map.jumpTo({ center: [-74.1147, -12.9281], zoom: 15 }));
    await page.waitForFunction(
      () => window.chaski.map.loaded() &&
        window.chaski.map.querySourceFeatures("chaski-private", { sourceLayer: "households" }).length > 0,
      null,
      { timeout: 30_000 }
    );
    await page.screenshot({ path: "out/viewer-private.png" });
    await page.click("#token-forget");
    await page.evaluate(() => window.chaski.private.done);
    assert.equal(await page.evaluate(() => !!window.chaski.map.getSource("chaski-private")), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("chaski.token")), null);
    assert.ok(!tokenInUrls.length, "a token appeared in a URL: " + tokenInUrls);
    assert.deepEqual(errors, [], "page errors");
    // The cluster counts are drawn with local fonts: no glyph server is needed.
    const mapErrors = await page.evaluate(() => window.chaski.mapErrors);
    assert.deepEqual(mapErrors.filter((m) => /glyph|font/i.test(m)), [], "map errors: " + mapErrors);
  } finally {
    await browser.close();
  }
});

// POST /api/siting from the test itself, not through the page: the expectation
// the planner panel is checked against.
async function siting(body) {
  const r = await fetch(url + "/api/siting", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

// Fill the planner form with a siting request (members of POST /api/siting) and
// press Calcular; resolves when the page has the answer (or its error).
async function runPlanner(page, form) {
  await page.selectOption("#pl-model", form.model);
  if (form.homes !== undefined) await page.fill("#pl-homes", String(form.homes));
  await page.fill("#pl-minutes", String(form.minutes));
  await page.selectOption("#pl-candidates", form.candidates);
  await page.selectOption("#pl-preset", form.preset);
  await page.fill("#pl-birth-rate", String(form.birth_rate));
  const seq = await page.evaluate(() => window.chaski.planner.seq);
  await page.click("#pl-run");
  await page.waitForFunction((seq) => window.chaski.planner.settled > seq, seq, { timeout: 120_000 });
  return page.evaluate(() => {
    const s = window.chaski.planner;
    return { body: s.body, error: s.error, answer: s.answer };
  });
}

test("planner: maternity waiting homes sited through the panel", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const external = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) {
        external.push(r.url());
      }
    });
    await page.goto(url + "/", { waitUntil: "load" });
    await waitReady(page);
    assert.equal(await page.evaluate(() => window.chaski.error), null);
    assert.equal((await page.textContent("#planner h2")).trim(), "Casas maternas");
    assert.equal((await page.textContent("#pl-run")).trim(), "Calcular");
    assert.equal(await page.inputValue("#pl-minutes"), "120");
    assert.equal(await page.isVisible("#pl-beds"), false, "beds only for the capacitated model");

    // Covering, 3 homes within 120 minutes among all facilities: the page sends that
    // body and shows what the API answers to the same body sent from here.
    const body = { model: "covering", homes: 3, minutes: 120, candidates: "facilities", preset: "walking", birth_rate: 0.02 };
    const direct = await siting(body);
    assert.equal(direct.status, 200, JSON.stringify(direct.json));
    const want = direct.json;
    assert.equal(want.chosen.length, 3, "the demo should open 3 homes: " + JSON.stringify(want.chosen));
    const got = await runPlanner(page, body);
    assert.equal(got.error, null, "planner error: " + got.error);
    assert.deepEqual(got.body, body);
    await page.waitForFunction(
      (n) => window.chaski.map.queryRenderedFeatures({ layers: ["chaski-planner-homes"] }).length >= n,
      want.homes.features.length,
      { timeout: 30_000 }
    );
    await waitIdle(page);

    // The homes in the same order, the same totals, status and gap.
    const codes = want.chosen.map((c) => c.code);
    const rows = await page.$$eval("#pl-curve-table tbody tr", (rs) =>
      rs.map((r) => ({ rank: r.dataset.rank, code: r.dataset.code, text: r.textContent })));
    assert.deepEqual(rows.map((r) => r.code), codes);
    assert.deepEqual(rows.map((r) => Number(r.rank)), [1, 2, 3]);
    rows.forEach((r, i) => assert.ok(r.text.includes(codes[i]), r.text));
    const shown = await page.evaluate(() => {
      const v = (id) => document.getElementById(id);
      return {
        before: Number(v("pl-covered-before").dataset.value), beforeText: v("pl-covered-before").textContent,
        after: Number(v("pl-covered-after").dataset.value), afterText: v("pl-covered-after").textContent,
        gap: Number(v("pl-gap").dataset.value), status: v("pl-status").dataset.status,
        statusText: v("pl-status").textContent,
      };
    });
    // (=== rather than Object.is: the API may write a sum of nothing as -0.0.)
    const same = (a, b, what) => assert.ok(a === b, `${what}: page ${a}, API ${b}`);
    same(shown.before, want.covered_before, "births covered before");
    same(shown.after, want.covered_after, "births covered after");
    assert.ok(want.covered_after > want.covered_before, "the homes cover no birth");
    const fmt = (x) => page.evaluate((x) => (Math.abs(x) < 0.05 ? 0 : x).toLocaleString("es-PE", { maximumFractionDigits: 1 }), x);
    assert.equal(shown.beforeText, await fmt(want.covered_before));
    assert.equal(shown.afterText, await fmt(want.covered_after));
    same(shown.gap, want.gap, "gap");
    assert.equal(shown.status, want.status);
    assert.match(shown.statusText, /^Estado: /);
    assert.match(await page.textContent("#pl-result"), /Nacimientos al año a 120 min o menos/);

    // The chart: one point per home, at the curve's values, and one gain bar per home.
    const points = await page.$$eval("#pl-chart circle.pl-point", (cs) =>
      cs.map((c) => ({ k: Number(c.dataset.k), code: c.dataset.code, value: Number(c.dataset.value), gain: Number(c.dataset.gain) })));
    assert.deepEqual(points, want.chosen.map((c) => ({ k: c.rank, code: c.code, value: c.objective, gain: c.gain })));
    assert.equal(await page.$$eval("#pl-chart rect.pl-gain", (r) => r.length), want.chosen.length);
    // Higher points for larger values (the y axis points up).
    const ys = await page.$$eval("#pl-chart circle.pl-point", (cs) => cs.map((c) => Number(c.getAttribute("cy"))));
    for (let i = 1; i < ys.length; i++) {
      assert.ok(want.chosen[i].objective < want.chosen[i - 1].objective || ys[i] <= ys[i - 1], "curve drawn upside down: " + ys);
    }
    assert.match(await page.getAttribute("#pl-chart", "aria-label"), /^Curva de cobertura: 1: /);

    // The map: the homes layers hold the answer's homes with their rank, drawn
    // (a black ring around each home's projected position), and the villages
    // coloured as covered or not.
    const wantHomes = want.homes.features.map((f) => ({ code: f.properties.code, rank: f.properties.rank, lonlat: f.geometry.coordinates }));
    assert.deepEqual(wantHomes.map((h) => h.code).sort(), [...codes].sort());
    const drawn = await page.evaluate(() => {
      const map = window.chaski.map;
      const uniq = (fs, key) => [...new Map(fs.map((f) => [f.properties[key], f.properties])).values()];
      return {
        homes: uniq(map.queryRenderedFeatures({ layers: ["chaski-planner-homes"] }), "code"),
        ranks: uniq(map.queryRenderedFeatures({ layers: ["chaski-planner-ranks"] }), "code"),
        villages: uniq(map.queryRenderedFeatures({ layers: ["chaski-planner-villages"] }), "code"),
      };
    });
    assert.deepEqual(drawn.homes.map((p) => p.code).sort(), [...codes].sort());
    assert.deepEqual(drawn.ranks.map((p) => [p.code, p.rank]).sort(), wantHomes.map((h) => [h.code, h.rank]).sort());
    const covered = (fs) => fs.filter((p) => Number(p.served) > 0 && Number(p.minutes) <= want.minutes).map((p) => p.code).sort();
    const wantVillages = want.villages.features.map((f) => f.properties);
    assert.equal(drawn.villages.length, wantVillages.length, "villages of the plan in view after the fit");
    assert.deepEqual(covered(drawn.villages), covered(wantVillages));
    const xy = await page.evaluate((hs) => hs.map((h) => {
      const p = window.chaski.map.project(h.lonlat);
      return [p.x, p.y];
    }), wantHomes);
    const ring = xy.flatMap(([x, y]) => [[x + 11.5, y], [x - 11.5, y], [x, y + 11.5], [x, y - 11.5]]);
    const { pixels } = await canvasPixels(page, ring);
    wantHomes.forEach((h, i) => {
      const dark = pixels.slice(4 * i, 4 * i + 4).filter(([r, g, b]) => Math.max(r, g, b) < 100).length;
      assert.ok(dark >= 3, `home ${h.code}: no black ring drawn at ${xy[i]}: ${JSON.stringify(pixels.slice(4 * i, 4 * i + 4))}`);
    });

    // The downloads are the answer's GeoJSON.
    for (const [id, data] of [["#pl-download-homes", want.homes], ["#pl-download-villages", want.villages]]) {
      const href = await page.getAttribute(id, "href");
      assert.match(href, /^blob:/);
      assert.deepEqual(await page.evaluate((h) => fetch(h).then((r) => r.json()), href), data, id);
    }

    // English: the results follow the switch; back to Spanish.
    await page.click("#lang button[data-lang=en]");
    assert.equal((await page.textContent("#planner h2")).trim(), "Maternity waiting homes");
    assert.match(await page.textContent("#pl-status"), /^Status: /);
    assert.match(await page.textContent("#pl-result"), /Births a year within 120 min/);
    assert.deepEqual(await page.$$eval("#pl-curve-table tbody tr", (rs) => rs.map((r) => r.dataset.code)), codes);
    await page.click("#lang button[data-lang=es]");
    assert.match(await page.textContent("#pl-status"), /^Estado: /);

    // The panel scrolled to the planner: the form, the results and the curve in view.
    await page.evaluate(() => document.getElementById("planner").scrollIntoView({ block: "start" }));
    mkdirSync("out", { recursive: true });
    await page.screenshot({ path: "out/planner.png" });

    // A bad request: the API's error, in the panel; the plan leaves the map.
    const bad = { ...body, homes: 0 };
    const badDirect = await siting(bad);
    assert.ok(badDirect.status === 400 || badDirect.status === 422, "homes 0: HTTP " + badDirect.status);
    assert.ok(badDirect.json.error, JSON.stringify(badDirect.json));
    const badGot = await runPlanner(page, bad);
    assert.equal(badGot.answer, null);
    assert.deepEqual(badGot.body, bad);
    const errorText = await page.textContent("#pl-result .error");
    assert.ok(errorText.includes(badDirect.json.error), errorText + " lacks " + badDirect.json.error);
    assert.ok(errorText.includes(String(badDirect.status)), errorText);
    assert.equal(await page.$("#pl-chart"), null, "the chart of the previous plan stayed");
    assert.equal(
      await page.evaluate(() => window.chaski.map.querySourceFeatures("chaski-planner-homes").length),
      0,
      "the homes of the previous plan stayed on the map"
    );
    // An empty threshold is not sent: the panel asks for it.
    const seq = await page.evaluate(() => window.chaski.planner.seq);
    await page.fill("#pl-homes", "3");
    await page.fill("#pl-minutes", "");
    await page.click("#pl-run");
    assert.match(await page.textContent("#pl-result .error"), /Indique un número en «umbral \(minutos\)»/);
    assert.equal(await page.evaluate(() => window.chaski.planner.seq), seq, "an empty threshold was sent");
    await page.screenshot({ path: "out/planner-error.png" });

    assert.deepEqual(errors, [], "page errors");
    assert.deepEqual(external, [], "the viewer must work offline (no external requests)");
  } finally {
    await browser.close();
  }
});

// Press Imprimir and wait for the page's answer; resolves with the Print panel's
// state and the file the browser was given (null when none).
async function runPrint(page, expectFile) {
  const seq = await page.evaluate(() => window.chaski.print.seq);
  const download = expectFile ? page.waitForEvent("download", { timeout: 120_000 }) : Promise.resolve(null);
  await page.click("#pr-run");
  await page.waitForFunction((seq) => window.chaski.print.settled > seq, seq, { timeout: 120_000 });
  const file = await download;
  const state = await page.evaluate(() => {
    const s = window.chaski.print;
    return { url: s.url, status: s.status, contentType: s.contentType, size: s.size, magic: s.magic, error: s.error };
  });
  return { state, file: file && { name: file.suggestedFilename(), path: await file.path() } };
}

test("print: the risk map of the view, downloaded with the caller's token", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const prints = [];
    page.on("request", (r) => {
      if (r.url().includes("/maps/risk.")) prints.push({ url: r.url(), auth: r.headers()["authorization"] || null });
    });
    await page.goto(url + "/", { waitUntil: "load" });
    await waitReady(page);
    await waitIdle(page);
    assert.equal(await page.evaluate(() => window.chaski.error), null);
    assert.equal((await page.textContent("#print h2")).trim(), "Imprimir mapa de riesgo");
    assert.equal((await page.textContent("#pr-run")).trim(), "Imprimir");

    // No token, the current view: the community nearest the centre, a PDF (aggregates only).
    const pub = await runPrint(page, true);
    assert.equal(pub.state.error, null, "print error: " + pub.state.error);
    assert.equal(pub.state.status, 200);
    assert.equal(pub.state.contentType, "application/pdf");
    assert.equal(pub.state.magic, "%PDF-");
    assert.ok(pub.state.size > 0);
    assert.match(pub.state.url, /^\/maps\/risk\.pdf\?community=DEMO-CP\d+&size=a4&orientation=portrait&lang=es$/);
    assert.match(pub.file.name, /^mapa-riesgo-DEMO-CP\d+\.pdf$/);
    const saved = readFileSync(pub.file.path);
    assert.equal(saved.length, pub.state.size);
    assert.equal(saved.subarray(0, 5).toString("latin1"), "%PDF-");
    assert.equal(prints.at(-1).auth, null);
    mkdirSync("out", { recursive: true });
    await page.screenshot({ path: "out/print-panel.png" });

    // With the admin token: the same request carries it as a header, never in the URL,
    // and the map holds the households (a larger file: the index pages).
    assert.ok(token, "CHASKI_TOKEN (an admin token of the served store) is required");
    await page.fill("#token", token);
    await page.click("#token-use");
    await page.evaluate(() => window.chaski.private.done);
    const code = pub.state.url.match(/community=([^&]+)/)[1];
    await page.fill("#pr-community", code);
    const admin = await runPrint(page, true);
    assert.equal(admin.state.status, 200, "print error: " + admin.state.error);
    assert.equal(admin.state.contentType, "application/pdf");
    assert.equal(admin.state.magic, "%PDF-");
    assert.ok(admin.state.size > pub.state.size, `admin ${admin.state.size} B, public ${pub.state.size} B`);
    assert.equal(prints.at(-1).auth, "Bearer " + token);
    assert.ok(prints.every((p) => !p.url.includes("chk_")), "a token appeared in a URL");

    // A3 landscape in English as PNG.
    await page.selectOption("#pr-size", "a3");
    await page.selectOption("#pr-orientation", "landscape");
    await page.selectOption("#pr-lang", "en");
    await page.selectOption("#pr-format", "png");
    const png = await runPrint(page, true);
    assert.equal(png.state.status, 200, "print error: " + png.state.error);
    assert.equal(png.state.contentType, "image/png");
    assert.equal(png.state.magic, "\x89PNG\r");
    assert.match(png.state.url, /^\/maps\/risk\.png\?community=.+&size=a3&orientation=landscape&lang=en$/);

    // An unknown community: the server's error in the panel, no file.
    await page.selectOption("#pr-format", "pdf");
    await page.fill("#pr-community", "NOPE");
    const bad = await runPrint(page, false);
    assert.equal(bad.state.status, 404);
    assert.match(await page.textContent("#pr-status"), /Error \(404\): no community with code 'NOPE'/);

    await page.click("#token-forget");
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
});

test("api page: every operation of /openapi.json listed, nothing fetched from elsewhere", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    const elsewhere = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(url)) elsewhere.push(r.url());
    });
    await page.goto(url + "/api", { waitUntil: "load" });
    await page.waitForFunction(() => /operations\.$/.test(document.getElementById("status").textContent));
    const doc = await (await fetch(url + "/openapi.json")).json();
    let operations = 0;
    for (const item of Object.values(doc.paths)) {
      operations += ["get", "post", "delete"].filter((m) => item[m]).length;
    }
    assert.ok(operations >= 30, String(operations));
    assert.equal(await page.locator("details.op").count(), operations);
    assert.equal((await page.textContent("#status")).trim(), operations + " operations.");
    // An operation opened: its parameters with their words, its answers.
    const op = page.locator("details.op", { hasText: "/api/villages/underserved" }).first();
    await op.locator("summary").click();
    const text = await op.textContent();
    assert.match(text, /minutes \*/);
    assert.match(text, /one of "walking", "motorised", "rainy", "pregnant", "stretcher"/);
    assert.match(text, /UnderservedAnswer/);
    assert.match(text, /ErrorBody/);
    // The filter keeps the matching operations only.
    await page.fill("#filter", "households");
    const shown = await page.locator("details.op:not([hidden])").count();
    assert.ok(shown >= 4 && shown < operations, String(shown));
    mkdirSync("out", { recursive: true });
    await page.screenshot({ path: "out/api.png", fullPage: false });
    assert.deepEqual(elsewhere, [], "requests to other origins");
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
});

// The rendered features of the monitoring layer, with the cells of
// /api/indicators (same caller, same round) by community code.
async function monitoringView(page) {
  return page.evaluate(async () => {
    const s = window.chaski.monitoring;
    const map = window.chaski.map;
    const feats = map.queryRenderedFeatures({ layers: ["mo-indicators-circles"] });
    const table = await fetch("/api/indicators?format=json&indicators=" + s.indicator).then((r) => r.json());
    const cells = {};
    for (const r of table.rows) cells[r.group + "|" + r.period] = r;
    return {
      state: { indicator: s.indicator, round: s.round, mode: s.mode, url: s.url, rendered: s.rendered, error: s.error },
      status: document.getElementById("mo-status").textContent,
      features: feats.map((f) => ({ p: f.properties, cell: cells[f.properties.code + "|" + f.properties.round] || null })),
    };
  });
}

// Set the round slider (a range input) as a user dragging it does: value, then `input`.
async function moveSlider(page, position) {
  const drawn = await page.evaluate(() => window.chaski.monitoring.drawn || 0);
  await page.evaluate((v) => {
    const el = document.getElementById("mo-round");
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, position);
  await page.waitForFunction((n) => (window.chaski.monitoring.drawn || 0) > n, drawn);
  await waitIdle(page);
}

test("monitoring: the round slider draws the indicator choropleth", async () => {
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url + "/", { waitUntil: "load" });
    await waitReady(page);
    await waitIdle(page);
    await page.waitForFunction(() => window.chaski.monitoring && (window.chaski.monitoring.ready || window.chaski.monitoring.error));
    const init = await page.evaluate(() => ({ ...window.chaski.monitoring }));
    assert.equal(init.error, null);
    // The demo's two survey rounds (baseline and endline).
    assert.deepEqual(init.rounds, [1, 2]);
    assert.equal((await page.textContent("#monitoring h2")).trim(), "Seguimiento por ronda");

    // Safe water in round 1, drawn: every community on screen has the table's cell.
    await page.selectOption("#mo-indicator", "safe_water");
    await page.click("#mo-show");
    await page.waitForFunction(() => window.chaski.monitoring.drawn >= 1);
    await waitIdle(page);
    const checkCells = (v, round) => {
      assert.ok(v.features.length > 0, "no community drawn in round " + round);
      assert.match(v.state.url, new RegExp("/tiles/indicators/\\{z\\}/\\{x\\}/\\{y\\}\\.mvt\\?indicator=safe_water&round=" + round + "$"));
      for (const { p, cell } of v.features) {
        assert.equal(p.round, round);
        assert.ok(cell, "no table cell for " + p.code);
        assert.equal(Boolean(p.suppressed), cell.suppressed, p.code);
        if (cell.suppressed) assert.equal(p.proportion, undefined, p.code);
        else assert.ok(Math.abs(p.proportion - cell.proportion) < 1e-9, p.code + ": " + p.proportion + " vs " + cell.proportion);
        // A public caller never gets a count under 5.
        for (const k of ["numerator", "denominator"]) if (p[k] !== undefined) assert.ok(p[k] === 0 || p[k] >= 5, p.code + " " + k);
      }
    };
    let v = await monitoringView(page);
    assert.equal(v.state.round, 1);
    checkCells(v, 1);
    assert.match(v.status, /ronda 1: \d+ comunidades en pantalla/);

    // Move the slider to the endline: new tiles, the round 2 cells.
    await moveSlider(page, 2);
    v = await monitoringView(page);
    assert.equal(v.state.round, 2);
    assert.equal(await page.inputValue("#mo-round"), "2");
    assert.equal((await page.textContent("#mo-round-label")).trim(), "2");
    checkCells(v, 2);
    mkdirSync("out", { recursive: true });
    await page.screenshot({ path: "out/monitoring.png" });

    // Change by group: every community with a shown change is intervention or control,
    // its change the endline minus the baseline of the table.
    await page.selectOption("#mo-mode", "change");
    await page.waitForFunction(() => window.chaski.monitoring.mode === "change");
    await waitIdle(page);
    v = await monitoringView(page);
    const changes = v.features.filter((f) => f.p.change !== undefined);
    assert.ok(changes.length > 0, "no change drawn");
    for (const { p } of changes) {
      assert.ok(["intervention", "control"].includes(p.group), p.code + " group " + p.group);
      assert.ok(Math.abs(p.change - (p.endline - p.baseline)) < 1e-6, p.code);
    }
    assert.match(v.status, /cambio de la ronda 1 a la 2/);
    assert.match(await page.textContent("#mo-legend"), /intervención.*control/s);
    await page.screenshot({ path: "out/monitoring-change.png" });

    // An admin token entered after the panel loaded: the panel reads the indicators
    // again with it and redraws; the tiles then hold exact cells (nothing suppressed,
    // the same proportions as the admin's /api/indicators).
    assert.ok(token, "CHASKI_TOKEN (an admin token of the served store) is required");
    await page.selectOption("#mo-mode", "value");
    await page.waitForFunction(() => window.chaski.monitoring.mode === "value");
    await waitIdle(page);
    const before = await page.evaluate(() => window.chaski.monitoring.drawn);
    await page.fill("#token", token);
    await page.click("#token-use");
    await page.evaluate(() => window.chaski.monitoring.done);
    await page.waitForFunction((n) => window.chaski.monitoring.drawn > n, before);
    await waitIdle(page);
    const exact = await page.evaluate(async (t) => {
      const feats = window.chaski.map.queryRenderedFeatures({ layers: ["mo-indicators-circles"] });
      const s = window.chaski.monitoring;
      const table = await fetch("/api/indicators?format=json&indicators=" + s.indicator,
        { headers: { Authorization: "Bearer " + t } }).then((r) => r.json());
      const cells = {};
      for (const r of table.rows) cells[r.group + "|" + r.period] = r;
      return { ready: s.ready, error: s.error, features: feats.map((f) => ({ p: f.properties, cell: cells[f.properties.code + "|" + f.properties.round] || null })) };
    }, token);
    assert.equal(exact.error, null);
    assert.ok(exact.features.length > 0, "no community drawn with the token");
    for (const { p, cell } of exact.features) {
      assert.ok(cell, "no admin table cell for " + p.code);
      assert.equal(Boolean(p.suppressed), false, p.code + " suppressed for the admin");
      assert.equal(cell.suppressed, false, p.code);
      assert.ok(Math.abs(p.proportion - cell.proportion) < 1e-9, p.code);
    }
    await page.click("#token-forget");
    await page.evaluate(() => window.chaski.monitoring.done);
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
});
