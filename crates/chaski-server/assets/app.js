// chaski viewer: loads the default style from this server, opens on the extent of
// the data, adds layer toggles, a legend built from the style, and attributes on
// click. No external requests. Texts: Spanish by default, English with the ES | EN
// switch (i18n.js).
(function () {
  "use strict";
  const I = window.chaskiI18n;
  const t = I.t;
  const esc = I.esc;
  const status = document.getElementById("status");
  window.chaski = { ready: false, error: null };

  // An error with a translatable text: key and values, rendered in the current language.
  function i18nError(key, vars) {
    const e = new Error(t(key, vars));
    e.i18n = { key, vars };
    return e;
  }
  const errorText = (e) => (e && e.i18n ? t(e.i18n.key, e.i18n.vars) : String((e && e.message) || e));

  function fail(e) {
    const render = () => {
      const msg = t("err.map", { msg: errorText(e) });
      I.label(status, "err.map", { msg: errorText(e) });
      window.chaski.error = msg;
    };
    render();
    I.onChange(render);
  }

  function swatch(layer) {
    const el = document.createElement("span");
    el.className = "swatch";
    const p = layer.paint || {};
    let color = p["circle-color"] || p["line-color"] || p["fill-color"] || "#888";
    if (Array.isArray(color)) {
      // match/step expressions: show the last (default) colour
      color = color[color.length - 1];
    }
    if (layer.type === "line") el.classList.add("line");
    if (layer.type === "fill") el.classList.add("fill");
    el.style.background = typeof color === "string" ? color : "#888";
    return el;
  }

  // An access token for private layers (households, clusters): kept for this tab only
  // (sessionStorage) and sent as an Authorization header to this server, never in a URL.
  let token = sessionStorage.getItem("chaski.token");
  const sameOrigin = (url) => new URL(url, location.href).origin === location.origin;
  const authHeaders = () => (token ? { Authorization: "Bearer " + token } : {});

  // The extent of the data: the union of the bounds of the public layers in the catalog.
  function dataBounds(catalog) {
    let b = null;
    for (const l of (catalog && catalog.layers) || []) {
      const lb = l.bounds;
      if (!Array.isArray(lb) || lb.length !== 4 || !lb.every(Number.isFinite)) continue;
      b = b ? [Math.min(b[0], lb[0]), Math.min(b[1], lb[1]), Math.max(b[2], lb[2]), Math.max(b[3], lb[3])] : lb.slice();
    }
    return b;
  }

  Promise.all([
    fetch("/styles/default.json").then((r) =>
      r.ok ? r.json() : Promise.reject(i18nError("err.style", { status: r.status }))
    ),
    // Public layers only (no token): the map opens on the data everybody sees.
    fetch("/catalog").then((r) => (r.ok ? r.json() : null)).catch(() => null),
  ])
    .then(([style, catalog]) => {
      const bounds = dataBounds(catalog);
      window.chaski.dataBounds = bounds;
      const options = {
        container: "map",
        style: style,
        // A position in the URL (#zoom/lat/lon) wins over the data's extent.
        hash: true,
        attributionControl: { compact: true },
        transformRequest: (url) => (token && sameOrigin(url) ? { url, headers: authHeaders() } : { url }),
      };
      if (bounds) {
        delete style.center;
        delete style.zoom;
        options.bounds = [[bounds[0], bounds[1]], [bounds[2], bounds[3]]];
        options.fitBoundsOptions = { padding: 20, maxZoom: 15 };
      }
      const map = new maplibregl.Map(options);
      window.chaski.map = map;
      map.addControl(new maplibregl.NavigationControl(), "top-left");
      map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

      window.chaski.mapErrors = [];
      map.on("error", (e) => {
        console.error("map error", e && e.error);
        window.chaski.mapErrors.push(String((e && e.error && e.error.message) || e));
      });

      map.once("load", () => {
        const groups = {};
        for (const l of style.layers) {
          const src = l["source-layer"];
          if (!src) continue;
          (groups[src] = groups[src] || []).push(l);
        }
        window.chaski.initialBounds = map.getBounds().toArray().flat();
        const layersDiv = document.getElementById("layers");
        const legend = document.getElementById("legend");
        layersDiv.replaceChildren(I.label(document.createElement("h2"), "panel.layers"));
        legend.replaceChildren(I.label(document.createElement("h2"), "panel.legend"));
        for (const [src, ls] of Object.entries(groups)) {
          const label = document.createElement("label");
          const cb = document.createElement("input");
          cb.type = "checkbox";
          cb.checked = true;
          cb.dataset.layer = src;
          cb.addEventListener("change", () => {
            for (const l of ls) map.setLayoutProperty(l.id, "visibility", cb.checked ? "visible" : "none");
          });
          const name = I.label(document.createElement("span"), "layer." + src, null, src.replace(/_/g, " "));
          label.append(cb, " ", name);
          layersDiv.append(label);
          for (const l of ls) {
            if (l.type === "symbol") continue; // labels of the layer above (cluster counts)
            const row = document.createElement("div");
            row.className = "legend-row";
            const text = I.label(document.createElement("span"), "legend." + l.id, null,
              (l.metadata && l.metadata["chaski:legend"]) || l.id);
            row.append(swatch(l), text);
            legend.append(row);
          }
        }
        const ids = style.layers.filter((l) => l["source-layer"]).map((l) => l.id);
        // A click shows the attributes of the feature under it (if any) and, from the
        // travel-time API, the minutes on foot to the nearest facility and the route.
        const whatif = setupWhatIf(map, style);
        setupPlanner(map, ids);
        setupPrivate(map, ids);
        const printer = setupPrint(map, ids);
        setupMonitoring(map);
        map.on("click", (e) => {
          if (whatif.editing()) {
            whatif.addVertex(e.lngLat);
            return;
          }
          const feats = map.queryRenderedFeatures(e.point, { layers: ids });
          // Tile features name their layer of the data; the planner's GeoJSON, its map layer.
          const f = feats.length
            ? { layer: feats[0].sourceLayer || feats[0].layer.id, properties: feats[0].properties }
            : null;
          printer.pick(f);
          closeAccess(map);
          const popup = new maplibregl.Popup({ className: "popup" }).setLngLat(e.lngLat).addTo(map);
          window.chaski.popup = popup;
          showAccess(map, e.lngLat, popup, f, whatif.id());
        });
        for (const id of ids) {
          map.on("mouseenter", id, () => (map.getCanvas().style.cursor = "pointer"));
          map.on("mouseleave", id, () => (map.getCanvas().style.cursor = ""));
        }
        map.once("idle", () => {
          const n = map.queryRenderedFeatures({ layers: ids }).length;
          window.chaski.ready = true;
          window.chaski.renderedFeatures = n;
          I.label(status, "status.features", { n });
        });
      });
    })
    .catch((e) => fail(e));

  function getJson(url, init) {
    return fetch(url, init).then((r) =>
      r.status === 204
        ? { ok: true, status: 204, j: {} }
        : r.json().then((j) => ({ ok: r.ok, status: r.status, j }))
    );
  }

  // The popup's head: the layer (translated) and the fields of the feature under
  // the click, as stored; a group of points (low zoom) says so.
  function featureHtml(f) {
    if (!f) return "";
    const rows = Object.entries(f.properties)
      .map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(String(v)) + "</td></tr>")
      .join("");
    const count = Number(f.properties.count);
    const grouped = f.properties.generalized && count > 1
      ? '<div class="grouped">' + I.html("popup.grouped", { n: count }) + "</div>"
      : "";
    return "<b>" + I.html("layer." + f.layer, null, f.layer) + "</b>" + grouped + "<table>" + rows + "</table>";
  }

  // Minutes on foot from the clicked point to care, and the route; with a what-if
  // active, the minutes with its edits and, for comparison, without them. The popup
  // is rendered again in the other language after a switch.
  function showAccess(map, lngLat, popup, feature, whatifId) {
    const url = "/api/accessibility?lon=" + lngLat.lng.toFixed(6) + "&lat=" + lngLat.lat.toFixed(6);
    const w = window.chaski.whatif;
    const scenario = whatifId && w.summary ? "&preset=" + encodeURIComponent(w.summary.scenario) : "";
    const before = whatifId ? getJson(url + scenario).catch(() => null) : Promise.resolve(null);
    let answer = null; // { ok, status, j, base } or { failure }
    const render = () => {
      if (window.chaski.popup !== popup) return;
      popup.setHTML(featureHtml(feature) + '<div class="access">' + accessHtml(answer) + "</div>");
    };
    window.chaski.popupRender = render;
    popup.on("close", () => {
      if (window.chaski.popupRender === render) window.chaski.popupRender = null;
    });
    render();
    Promise.all([getJson(whatifId ? url + "&whatif=" + whatifId : url), before])
      .then(([a, base]) => {
        answer = Object.assign({ base }, a);
        if (a.ok && a.j.route && a.j.minutes !== null && a.j.minutes !== undefined) drawRoute(map, a.j.route);
        window.chaski.lastAccess = a.ok ? a.j : { error: a.j.error };
        render();
      })
      .catch((err) => {
        answer = { failure: String(err) };
        render();
      });
  }

  function accessHtml(a) {
    if (!a) return I.html("access.loading");
    if (a.failure) return esc(a.failure);
    const j = a.j;
    if (!a.ok) {
      if (a.status === 422) return I.html("access.outside");
      if (a.status === 404) return I.html("access.nosurface") + (j.error ? ": " + esc(String(j.error)) : "");
      return I.html("err.server", { msg: j.error || "HTTP " + a.status });
    }
    if (j.minutes === null || j.minutes === undefined) {
      return I.html("access.unreachable", { status: t("reason." + j.status, null, String(j.status)) });
    }
    const f = j.facility || {};
    let html = I.html("access.minutes", {
      min: Math.round(j.minutes),
      name: String(f.name || f.code || t("access.care")) + (f.category ? " (" + f.category + ")" : ""),
    });
    if (a.base && a.base.ok) {
      const m = a.base.j.minutes;
      html += '<div class="before">' + I.html("access.without", {
        value: m === null || m === undefined ? t("access.unreachableShort") : Math.round(m) + " min",
      }) + "</div>";
    }
    return html;
  }

  // The private-layers panel: with a token whose role may see them, the households
  // (coloured by risk level) and clusters layers, as /catalog lists them for that token.
  function setupPrivate(map, ids) {
    const $ = (id) => document.getElementById(id);
    const layers = {
      clusters: [
        {
          id: "chaski-private-clusters", type: "fill", "source-layer": "clusters",
          filter: ["match", ["geometry-type"], ["Polygon", "MultiPolygon"], true, false],
          paint: { "fill-color": "#7b3294", "fill-opacity": 0.2, "fill-outline-color": "#7b3294" },
        },
        {
          // Groups under 5 households: a point at a rounded centre, no outline.
          id: "chaski-private-small-clusters", type: "circle", "source-layer": "clusters",
          filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false],
          paint: { "circle-color": "#7b3294", "circle-opacity": 0.5, "circle-radius": 6 },
        },
      ],
      households: [
        {
          id: "chaski-private-households", type: "circle", "source-layer": "households",
          paint: {
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 10, 2, 16, 6],
            "circle-color": ["match", ["get", "risk_level"], "alto", "#d7191c", "medio", "#fdae61", "bajo", "#1a9641", "#888888"],
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1,
          },
        },
      ],
    };
    const state = { layers: [], error: null };
    window.chaski.private = state;
    const tokenStatus = $("token-status");
    // An error of the panel: in the current language, also after a switch.
    function setError(key, vars, raw) {
      if (key) I.label(tokenStatus, key, vars);
      else I.label(tokenStatus, "raw", null, raw);
      state.errorKey = key || null;
      state.error = key ? t(key, vars) : raw;
    }
    I.onChange(() => {
      if (state.errorKey) state.error = tokenStatus.textContent;
    });

    function remove() {
      for (const l of Object.values(layers).flat()) {
        if (map.getLayer(l.id)) map.removeLayer(l.id);
        const k = ids.indexOf(l.id);
        if (k >= 0) ids.splice(k, 1);
      }
      if (map.getSource("chaski-private")) map.removeSource("chaski-private");
      state.layers = [];
    }

    function apply() {
      remove();
      if (!token) {
        I.clear(tokenStatus);
        return Promise.resolve();
      }
      I.label(tokenStatus, "private.checking");
      return fetch("/catalog", { headers: authHeaders() })
        .then((r) => (r.ok ? r.json() : Promise.reject(i18nError("err.catalog", { status: r.status }))))
        .then((cat) => {
          const names = (cat.layers || []).map((l) => l.name).filter((n) => n in layers);
          state.error = null;
          state.errorKey = null;
          if (!names.length) {
            setError("private.none");
            return;
          }
          map.addSource("chaski-private", { type: "vector", url: "/tiles/" + names.join(",") + ".json" });
          for (const n of names) {
            for (const l of layers[n]) {
              map.addLayer(Object.assign({ source: "chaski-private" }, l));
              ids.push(l.id);
            }
          }
          state.layers = names;
          I.label(tokenStatus, names.length > 1 ? "private.showing.both" : "private.showing." + names[0]);
        })
        .catch((e) => {
          if (e.i18n) setError(e.i18n.key, e.i18n.vars);
          else setError(null, null, String(e.message || e));
        });
    }

    $("token-use").addEventListener("click", () => {
      const v = $("token").value.trim();
      $("token").value = "";
      token = v || null;
      if (token) sessionStorage.setItem("chaski.token", token);
      else sessionStorage.removeItem("chaski.token");
      state.done = apply();
      window.dispatchEvent(new Event("chaski:token"));
    });
    $("token-forget").addEventListener("click", () => {
      token = null;
      sessionStorage.removeItem("chaski.token");
      state.done = apply();
      window.dispatchEvent(new Event("chaski:token"));
    });
    state.done = apply();
  }

  // The what-if panel: draw paths, bridges and new health posts on the map, send
  // them to POST /api/whatif, and show its travel times, catchments and edits in
  // place of the base ones (the tiles come from /whatif/{id}/tiles/...).
  function setupWhatIf(map, style) {
    const $ = (id) => document.getElementById(id);
    const state = { mode: null, draft: [], edits: [], id: null, summary: null, error: null };
    window.chaski.whatif = state;
    const source = map.getSource("chaski");
    const baseUrl = style.sources.chaski && style.sources.chaski.url;
    // What the result area shows: nothing, "computing", an error or the summary;
    // rendered again after a language switch.
    let view = { kind: "none" };
    I.onChange(() => show(view));

    map.addSource("chaski-whatif-draft", { type: "geojson", data: draftData() });
    map.addLayer({
      id: "chaski-whatif-draft-line", type: "line", source: "chaski-whatif-draft",
      filter: ["==", ["geometry-type"], "LineString"],
      paint: { "line-color": "#d95f02", "line-width": 3, "line-dasharray": [2, 1] },
    });
    map.addLayer({
      id: "chaski-whatif-draft-point", type: "circle", source: "chaski-whatif-draft",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-color": "#d95f02", "circle-radius": 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1 },
    });

    function draftData() {
      const features = state.edits.slice();
      if (state.draft.length) {
        features.push({
          type: "Feature", properties: {},
          geometry: state.draft.length > 1
            ? { type: "LineString", coordinates: state.draft }
            : { type: "Point", coordinates: state.draft[0] },
        });
      }
      return { type: "FeatureCollection", features };
    }

    function redraw() {
      map.getSource("chaski-whatif-draft").setData(draftData());
      for (const b of document.querySelectorAll("#whatif button[data-edit]")) {
        b.classList.toggle("active", b.dataset.edit === state.mode);
      }
      if (state.mode) I.label($("wi-hint"), "hint." + state.mode);
      else I.clear($("wi-hint"));
      if (state.edits.length) I.label($("wi-count"), "whatif.count", { n: state.edits.length });
      else I.clear($("wi-count"));
      $("wi-run").disabled = state.edits.length === 0;
      map.getCanvas().style.cursor = state.mode ? "crosshair" : "";
      // Clicks place vertices while drawing: a quick second click must not zoom.
      if (state.mode) map.doubleClickZoom.disable();
      else map.doubleClickZoom.enable();
    }

    function finish() {
      if ((state.mode === "path" || state.mode === "bridge") && state.draft.length > 1) {
        const props = { edit: state.mode };
        const cls = $("wi-class").value;
        if (cls) props.class = cls;
        state.edits.push({ type: "Feature", properties: props, geometry: { type: "LineString", coordinates: state.draft } });
      }
      state.mode = null;
      state.draft = [];
    }

    function addVertex(lngLat) {
      const p = [Number(lngLat.lng.toFixed(7)), Number(lngLat.lat.toFixed(7))];
      if (state.mode === "facility") {
        state.edits.push({
          type: "Feature",
          properties: {
            edit: "facility", category: $("wi-category").value,
            name: t("whatif.newpost", { n: state.edits.length + 1 }),
          },
          geometry: { type: "Point", coordinates: p },
        });
        state.mode = null;
      } else {
        state.draft.push(p);
      }
      redraw();
    }

    function show(v) {
      view = v;
      const html = {
        none: () => "",
        computing: () => I.html("whatif.computing"),
        error: () => '<p class="error">' + (v.key ? I.html(v.key) : esc(v.message)) + "</p>",
        summary: () => summaryHtml(v.summary),
      }[v.kind]();
      $("wi-result").innerHTML = html;
    }

    function useTiles(id) {
      if (!source || !baseUrl) return;
      const m = /\/tiles\/([^/?]+)\.json/.exec(baseUrl);
      if (id && m) {
        source.setUrl(baseUrl.slice(0, m.index) + "/whatif/" + id + "/tiles/" + m[1] + ",whatif_edits.json");
        if (!map.getLayer("chaski-whatif-edits")) {
          map.addLayer({
            id: "chaski-whatif-edits", type: "line", source: "chaski", "source-layer": "whatif_edits",
            paint: { "line-color": "#d95f02", "line-width": 4 },
          });
          map.addLayer({
            id: "chaski-whatif-facilities", type: "circle", source: "chaski", "source-layer": "whatif_edits",
            filter: ["match", ["geometry-type"], ["Point", "MultiPoint"], true, false],
            paint: { "circle-color": "#d95f02", "circle-radius": 7, "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
          });
        }
      } else {
        source.setUrl(baseUrl);
        for (const l of ["chaski-whatif-edits", "chaski-whatif-facilities"]) {
          if (map.getLayer(l)) map.removeLayer(l);
        }
      }
    }

    function summaryHtml(j) {
      const n = (x) => Number(x).toLocaleString(I.locale());
      const rows = (j.population_within || [])
        .map((p) => "<tr><td>" + I.html("whatif.within", { m: p.minutes }) + "</td><td>" +
          n(p.before) + " → " + n(p.after) + "</td></tr>")
        .join("");
      const villages = (j.villages_changed || []).slice(0, 8).map((v) => {
        const m = (x) => (x === null || x === undefined ? "–" : Math.round(x));
        return "<li>" + esc(String(v.name || v.code)) + ": " + m(v.before_min) + " → " + m(v.after_min) + " min</li>";
      }).join("");
      const changed = I.html("whatif.changed", {
        n: n((j.villages_changed || []).length),
        scenario: t("scenario." + j.scenario, null, String(j.scenario)),
        direction: t("direction." + j.direction, null, String(j.direction)),
      });
      return "<p>" + changed + "</p><table><tr><th>" + I.html("whatif.population") + "</th><th>" +
        I.html("whatif.beforeafter") + "</th></tr>" + rows + "</table>" +
        (villages ? "<ul>" + villages + "</ul>" : "");
    }

    function run() {
      finish();
      redraw();
      if (!state.edits.length) return;
      const params = new URLSearchParams({ scenario: $("wi-scenario").value });
      show({ kind: "computing" });
      const body = JSON.stringify({ type: "FeatureCollection", features: state.edits });
      const previous = state.id;
      getJson("/api/whatif?" + params, { method: "POST", headers: { "content-type": "application/geo+json" }, body })
        .then(({ ok, j }) => {
          if (!ok) {
            state.error = j.error || t("whatif.failed");
            show(j.error ? { kind: "error", message: j.error } : { kind: "error", key: "whatif.failed" });
            return;
          }
          if (previous) fetch("/api/whatif/" + previous, { method: "DELETE" }).catch(() => {});
          state.id = j.id;
          state.summary = j;
          state.error = null;
          useTiles(j.id);
          closeAccess(map);
          show({ kind: "summary", summary: j });
        })
        .catch((e) => show({ kind: "error", message: String(e) }));
    }

    function clear() {
      const deleted = state.id
        ? fetch("/api/whatif/" + state.id, { method: "DELETE" }).then((r) => r.status).catch(() => null)
        : Promise.resolve(null);
      Object.assign(state, { mode: null, draft: [], edits: [], id: null, summary: null, error: null, deleted });
      useTiles(null);
      closeAccess(map);
      show({ kind: "none" });
      redraw();
    }

    for (const b of document.querySelectorAll("#whatif button[data-edit]")) {
      b.addEventListener("click", () => {
        const again = state.mode === b.dataset.edit;
        finish();
        if (!again) state.mode = b.dataset.edit;
        redraw();
      });
    }
    $("wi-run").addEventListener("click", run);
    $("wi-clear").addEventListener("click", clear);
    document.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && state.mode) {
        finish();
        redraw();
      } else if (e.key === "Escape" && state.mode) {
        state.mode = null;
        state.draft = [];
        redraw();
      }
    });
    $("whatif").hidden = false;
    redraw();
    return { editing: () => state.mode !== null, addVertex, id: () => state.id };
  }

  // The planner panel (casas maternas): sends its form to POST /api/siting and
  // draws the answer: the homes on the map (white circles with a black ring and
  // their rank, readable in black and white), the villages covered (filled) or
  // not (hollow), the results, the coverage curve as an SVG chart and a table,
  // and links to download the homes and villages as GeoJSON. Texts from the API
  // (codes, names, errors) are set as text, never as markup.
  function setupPlanner(map, ids) {
    const $ = (id) => document.getElementById(id);
    const SVG = "http://www.w3.org/2000/svg";
    const HOMES = "chaski-planner-homes";
    const RANKS = "chaski-planner-ranks";
    const VILLAGES = "chaski-planner-villages";
    // seq: requests sent; settled: the last one answered (for tests); answer or error.
    const state = { seq: 0, settled: 0, body: null, answer: null, error: null, downloads: null };
    window.chaski.planner = state;
    // What the result area shows: nothing, "computing", an error or the answer;
    // built again after a language switch.
    let view = { kind: "none" };
    I.onChange(() => show(view));

    const empty = () => ({ type: "FeatureCollection", features: [] });
    map.addSource(VILLAGES, { type: "geojson", data: empty() });
    map.addSource(HOMES, { type: "geojson", data: empty() });
    // Covered: served by a home within the threshold (the p-median serves every
    // village its matrix reaches; only those within the threshold count).
    const covered = ["all", [">", ["coalesce", ["get", "served"], 0], 0],
      ["<=", ["coalesce", ["get", "minutes"], 1e9], ["coalesce", ["get", "threshold"], 1e9]]];
    map.addLayer({
      id: VILLAGES, type: "circle", source: VILLAGES,
      paint: {
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 3, 14, 7],
        "circle-color": ["case", covered, "#1f4e9c", "#ffffff"],
        "circle-stroke-color": ["case", covered, "#ffffff", "#b2182b"],
        "circle-stroke-width": ["case", covered, 1, 2],
      },
    });
    map.addLayer({
      id: HOMES, type: "circle", source: HOMES,
      paint: {
        "circle-radius": 10,
        "circle-color": ["match", ["get", "status"], "existing", "#bdbdbd", "#ffffff"],
        "circle-stroke-color": "#000000",
        "circle-stroke-width": 3,
      },
    });
    map.addLayer({
      id: RANKS, type: "symbol", source: HOMES,
      layout: {
        "text-field": ["case", ["==", ["get", "status"], "existing"], "E", ["to-string", ["get", "rank"]]],
        "text-font": ["Noto Sans Bold"],
        "text-size": 13,
        "text-allow-overlap": true,
        "text-ignore-placement": true,
      },
      paint: { "text-color": "#000000" },
    });
    // A click on a home or a village of the plan shows its fields.
    ids.push(VILLAGES, HOMES);

    function syncForm() {
      const model = $("pl-model").value;
      $("pl-homes-row").hidden = $("pl-homes").disabled = model === "set-covering";
      $("pl-beds-row").hidden = $("pl-beds").disabled = model !== "capacitated";
    }

    // The number in a field, or an error naming the field (an empty or non-numeric
    // field cannot be sent as JSON; the API judges the values).
    function number(id, key) {
      const v = $(id).value.trim();
      if (v === "" || !Number.isFinite(Number(v))) {
        const e = new Error("missing " + id);
        e.field = key;
        throw e;
      }
      return Number(v);
    }

    // The request body: the members of POST /api/siting.
    function body() {
      const model = $("pl-model").value;
      const b = { model };
      if (model !== "set-covering") b.homes = number("pl-homes", "planner.homes");
      b.minutes = number("pl-minutes", "planner.minutes");
      b.candidates = $("pl-candidates").value;
      b.preset = $("pl-preset").value;
      b.birth_rate = number("pl-birth-rate", "planner.birthRate");
      if (model === "capacitated") b.beds = number("pl-beds", "planner.beds");
      return b;
    }

    // An element with properties (class, data-*, aria-* and others) and children
    // (nodes, or strings set as text).
    function el(tag, props, ...kids) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(props || {})) {
        if (k === "class") e.className = v;
        else if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v);
        else e[k] = v;
      }
      e.append(...kids.filter((k) => k !== null && k !== undefined && k !== false));
      return e;
    }
    function svg(tag, attrs, text) {
      const e = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
      if (text !== undefined) e.textContent = text;
      return e;
    }

    // A number the language's way; no "-0" for a sum that rounds to zero.
    const num = (x, digits) => {
      const d = digits === undefined ? 1 : digits;
      const v = Math.abs(Number(x)) < 0.5 * Math.pow(10, -d) ? 0 : Number(x);
      return v.toLocaleString(I.locale(), { maximumFractionDigits: d });
    };
    const pct = (x, digits) =>
      x === null || x === undefined ? "–" : num(100 * x, digits === undefined ? 1 : digits) + " %";

    // The value of the curve before the first new home (existing homes only), from
    // the first point and its gain (p-median: minutes saved, the others: births added).
    const baseValue = (j) => {
      const c = (j.chosen || [])[0];
      if (!c) return null;
      return j.model === "p-median" ? c.objective + c.gain : c.objective - c.gain;
    };

    // A round step for about `n` ticks up to `max`.
    function tickStep(max, n) {
      const raw = max / n;
      const pow = Math.pow(10, Math.floor(Math.log10(raw)));
      const f = raw / pow;
      return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
    }

    // The coverage curve: the objective with the first k homes (k = 0: existing
    // homes only) as a line with one point per home, and the gain of each home as
    // a bar. Plain SVG, drawn here: no library.
    function chart(j) {
      const curve = j.chosen || [];
      const base = baseValue(j);
      const W = 272, H = 150, L = 46, R = 26, T = 14, B = 30;
      const pts = [{ k: 0, v: base }].concat(curve.map((c) => ({ k: c.rank, v: c.objective, c })));
      const top = Math.max(1e-9, ...pts.map((p) => p.v), ...curve.map((c) => c.gain));
      const step = tickStep(top, 4);
      const ymax = Math.ceil(top / step - 1e-9) * step;
      const kmax = Math.max(1, curve.length);
      const x = (k) => L + (k / kmax) * (W - L - R);
      const y = (v) => T + (1 - v / ymax) * (H - T - B);
      const compact = (v) => Number(v).toLocaleString(I.locale(), { notation: "compact", maximumFractionDigits: 1 });
      const points = curve.map((c) => c.rank + ": " + num(c.objective)).join("; ");
      const root = svg("svg", {
        id: "pl-chart", class: "pl-chart", viewBox: `0 0 ${W} ${H}`, width: W, height: H,
        role: "img", "aria-label": t("planner.chart", { points }),
      });
      for (let v = 0; v <= ymax + step / 2; v += step) {
        root.append(
          svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }),
          svg("text", { x: L - 4, y: y(v) + 3.5, "text-anchor": "end", class: "tick" }, compact(v))
        );
      }
      const every = Math.ceil(kmax / 10);
      for (let k = 0; k <= kmax; k += every) {
        root.append(svg("text", { x: x(k), y: H - B + 13, "text-anchor": "middle", class: "tick" }, String(k)));
      }
      root.append(
        svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "axis" }),
        svg("line", { x1: L, x2: L, y1: T, y2: y(0), class: "axis" }),
        svg("text", { x: (L + W - R) / 2, y: H - 3, "text-anchor": "middle", class: "tick" },
          t("planner.axis"))
      );
      const bw = Math.min(18, (W - L - R) / kmax / 2);
      for (const c of curve) {
        const bar = svg("rect", {
          class: "pl-gain", x: x(c.rank) - bw / 2, y: y(Math.max(0, c.gain)), width: bw,
          height: Math.max(0, y(0) - y(Math.max(0, c.gain))), "data-k": c.rank, "data-gain": c.gain,
        });
        bar.append(svg("title", {}, t("planner.col.gain") + " " + c.rank + ": " + num(c.gain)));
        root.append(bar);
      }
      const line = pts.filter((p) => p.v !== null);
      root.append(svg("polyline", { class: "pl-line", points: line.map((p) => x(p.k) + "," + y(p.v)).join(" ") }));
      if (base !== null) root.append(svg("circle", { class: "pl-base", cx: x(0), cy: y(base), r: 3 }));
      for (const p of pts.slice(1)) {
        const dot = svg("circle", {
          class: "pl-point", cx: x(p.k), cy: y(p.v), r: 4,
          "data-k": p.k, "data-value": p.v, "data-gain": p.c.gain, "data-code": p.c.code,
        });
        dot.append(svg("title", {}, p.k + " · " + p.c.code + ": " + num(p.v) + " (+" + num(p.c.gain) + ")"));
        root.append(dot);
        if (curve.length <= 6) {
          root.append(svg("text", { x: x(p.k), y: y(p.v) - 7, "text-anchor": "middle", class: "value" }, compact(p.v)));
        }
      }
      return root;
    }

    // The curve as a table: rank, home, value with the first k homes, gain (the
    // p-median's birth-weighted minutes in whole numbers).
    function curveTable(j) {
      const d = j.model === "p-median" ? 0 : 1;
      const head = el("tr", {},
        ...["planner.col.rank", "planner.col.home", "planner.col.value", "planner.col.gain"].map((k) =>
          el("th", { scope: "col" }, t(k))));
      const rows = (j.chosen || []).map((c) => el("tr", { "data-rank": c.rank, "data-code": c.code },
        el("td", {}, String(c.rank)),
        el("td", { title: String(c.name || "") }, String(c.code) + (c.name ? " " + c.name : "")),
        el("td", { class: "n" }, num(c.objective, d)),
        el("td", { class: "n" }, (c.gain >= 0 ? "+" : "") + num(c.gain, d))));
      return el("table", { id: "pl-curve-table" }, el("thead", {}, head), el("tbody", {}, ...rows));
    }

    function legendRow(cls, key) {
      return el("div", { class: "legend-row" }, el("span", { class: "swatch " + cls }), el("span", {}, t(key)));
    }

    function answerView(j) {
      const out = [];
      const status = t("solve." + j.status, null, String(j.status));
      out.push(el("p", { id: "pl-status", "data-status": j.status },
        t("planner.status") + ": ", el("b", {}, status),
        " · " + t("planner.gap") + ": ", el("b", { id: "pl-gap", "data-value": j.gap }, pct(j.gap, 2))));
      const value = (id, x) => el("b", { id, "data-value": x }, num(x));
      // Births within the threshold (for every model, the p-median too).
      const within = j.minutes;
      out.push(el("p", { class: "pl-covered" },
        t("planner.births", { m: within }) + ": ",
        el("br"),
        t("planner.before") + " ", value("pl-covered-before", j.covered_before),
        " → " + t("planner.after") + " ", value("pl-covered-after", j.covered_after),
        " " + t("planner.ofTotal", { total: num(j.total_demand), share: pct(j.share_after) })));
      out.push(el("p", { class: "small" },
        t("planner.objective") + ": " + num(j.objective) + " / " + num(j.bound) +
        (j.method ? " (" + j.method + ")" : "")));
      if (j.model === "p-median") {
        out.push(el("p", { class: "small" }, t("planner.weighted") + ": " + num(j.weighted_minutes, 0)));
      }
      if ((j.uncoverable || []).length) {
        out.push(el("p", { class: "small" }, t("planner.uncoverable", { n: j.uncoverable.length })));
      }
      if ((j.chosen || []).length) {
        out.push(el("h3", {}, t("planner.curve")));
        out.push(el("figure", { class: "pl-figure" }, chart(j),
          el("figcaption", { class: "small" }, t(j.model === "p-median" ? "planner.curve.minutes" : "planner.curve.covered"))));
        out.push(curveTable(j));
      } else {
        out.push(el("p", {}, t("planner.none")));
      }
      out.push(el("div", { class: "pl-legend" },
        legendRow("pl-home", "planner.legend.home"),
        (j.existing || []).length ? legendRow("pl-home existing", "planner.legend.existing") : null,
        legendRow("pl-covered", "planner.legend.covered"),
        legendRow("pl-uncovered", "planner.legend.uncovered")));
      if (state.downloads) {
        out.push(el("p", { class: "small pl-downloads" }, t("planner.download") + " ",
          el("a", { id: "pl-download-homes", href: state.downloads.homes, download: "casas-maternas.geojson" },
            t("planner.download.homes")),
          " · ",
          el("a", { id: "pl-download-villages", href: state.downloads.villages, download: "centros-poblados-plan.geojson" },
            t("planner.download.villages"))));
      }
      return out;
    }

    function show(v) {
      view = v;
      const box = $("pl-result");
      if (v.kind === "none") box.replaceChildren();
      else if (v.kind === "computing") box.replaceChildren(el("p", { class: "small" }, t("planner.computing")));
      else if (v.kind === "missing") {
        box.replaceChildren(el("p", { class: "error", role: "alert" }, t("planner.missing", { field: t(v.field) })));
      } else if (v.kind === "error") {
        const msg = v.message ? t("planner.error", { status: v.status, msg: v.message }) : t("planner.failed");
        box.replaceChildren(el("p", { class: "error", role: "alert" }, msg));
      } else box.replaceChildren(...answerView(v.answer));
    }

    function forgetDownloads() {
      if (state.downloads) {
        URL.revokeObjectURL(state.downloads.homes);
        URL.revokeObjectURL(state.downloads.villages);
      }
      state.downloads = null;
    }

    // The homes and villages of an answer on the map, and the map fitted to them.
    function draw(j) {
      const homes = j && j.homes ? j.homes : empty();
      const villages = j && j.villages ? {
        type: "FeatureCollection",
        features: j.villages.features.map((f) => ({ ...f, properties: { ...f.properties, threshold: j.minutes } })),
      } : empty();
      map.getSource(HOMES).setData(homes);
      map.getSource(VILLAGES).setData(villages);
      forgetDownloads();
      if (!j) return;
      const blob = (data) => URL.createObjectURL(new Blob([JSON.stringify(data)], { type: "application/geo+json" }));
      state.downloads = { homes: blob(homes), villages: blob(j.villages) };
      let b = null;
      for (const f of homes.features.concat(villages.features)) {
        const c = f.geometry && f.geometry.coordinates;
        if (!Array.isArray(c) || !Number.isFinite(c[0]) || !Number.isFinite(c[1])) continue;
        b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : [c[0], c[1], c[0], c[1]];
      }
      if (b) map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 14, animate: false });
    }

    function run(e) {
      e.preventDefault();
      let b;
      try {
        b = body();
      } catch (err) {
        if (!err.field) throw err;
        state.error = t("planner.missing", { field: t(err.field) });
        show({ kind: "missing", field: err.field });
        return;
      }
      const seq = ++state.seq;
      state.body = b;
      $("pl-run").disabled = true;
      show({ kind: "computing" });
      const settle = () => {
        if (seq !== state.seq) return;
        $("pl-run").disabled = false;
        state.settled = seq;
      };
      const failed = (v) => {
        state.answer = null;
        state.error = v.message || t("planner.failed");
        draw(null);
        show(v);
      };
      state.done = getJson("/api/siting", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(b),
      })
        .then(({ ok, status, j }) => {
          if (seq !== state.seq) return;
          if (!ok) {
            failed({ kind: "error", status, message: j && j.error ? String(j.error) : "HTTP " + status });
            return;
          }
          state.answer = j;
          state.error = null;
          draw(j);
          show({ kind: "answer", answer: j });
        })
        .catch((err) => {
          if (seq === state.seq) failed({ kind: "error", status: "–", message: String((err && err.message) || err) });
        })
        .finally(settle);
    }

    $("pl-model").addEventListener("change", syncForm);
    $("pl-form").addEventListener("submit", run);
    syncForm();
    $("planner").hidden = false;
  }

  // The Print panel: the printed risk map (GET /maps/risk.pdf or .png, as
  // `chaski print`) of the community typed or clicked, else of the community
  // nearest the centre of the view, with the caller's token (an Authorization
  // header, never in the URL), downloaded as a file. What the map shows is the
  // server's decision: household points only for a token that may see them.
  function setupPrint(map, ids) {
    const $ = (id) => document.getElementById(id);
    // seq: requests sent; settled: the last one answered; the last answer (for tests).
    const state = { seq: 0, settled: 0, url: null, status: null, contentType: null, size: 0, magic: null, error: null };
    window.chaski.print = state;
    let view = null;
    const show = (key, vars, error) => {
      view = { key, vars, error };
      const el = $("pr-status");
      I.label(el, key, vars);
      el.classList.toggle("error", Boolean(error));
    };
    I.onChange(() => {
      if (view) show(view.key, view.vars, view.error);
    });
    $("pr-lang").value = I.lang();

    // The community nearest the centre of the view, among the villages drawn with a code.
    function inView() {
      const c = map.project(map.getCenter());
      let best = null;
      for (const f of map.queryRenderedFeatures({ layers: ids })) {
        if (f.sourceLayer !== "communities" || !f.properties.code || f.geometry.type !== "Point") continue;
        const p = map.project(f.geometry.coordinates);
        const d = (p.x - c.x) ** 2 + (p.y - c.y) ** 2;
        if (!best || d < best.d) best = { d, code: String(f.properties.code) };
      }
      return best && best.code;
    }

    function run(e) {
      e.preventDefault();
      const code = $("pr-community").value.trim() || inView();
      if (!code) {
        state.error = t("print.none");
        show("print.none", null, true);
        return;
      }
      const format = $("pr-format").value;
      const q = new URLSearchParams({
        community: code, size: $("pr-size").value, orientation: $("pr-orientation").value, lang: $("pr-lang").value,
      });
      const url = "/maps/risk." + format + "?" + q;
      const seq = ++state.seq;
      state.url = url;
      $("pr-run").disabled = true;
      show("print.printing", { code });
      const settle = () => {
        if (seq !== state.seq) return;
        $("pr-run").disabled = false;
        state.settled = seq;
      };
      state.done = fetch(url, { headers: authHeaders() })
        .then(async (r) => {
          const type = r.headers.get("content-type") || "";
          if (!r.ok || type.startsWith("application/json")) {
            const j = await r.json().catch(() => ({}));
            throw Object.assign(new Error(j.error ? String(j.error) : "HTTP " + r.status), { status: r.status });
          }
          const blob = await r.blob();
          if (seq !== state.seq) return;
          Object.assign(state, {
            status: r.status, contentType: type, size: blob.size, error: null,
            magic: String.fromCharCode(...new Uint8Array(await blob.slice(0, 5).arrayBuffer())),
          });
          const a = document.createElement("a");
          a.href = URL.createObjectURL(blob);
          a.download = "mapa-riesgo-" + code.replace(/[^A-Za-z0-9_-]/g, "_") + "." + format;
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
          show("print.done", { code, size: Math.max(1, Math.round(blob.size / 1024)) });
        })
        .catch((err) => {
          if (seq !== state.seq) return;
          Object.assign(state, { status: err.status || null, contentType: null, size: 0, magic: null });
          state.error = String((err && err.message) || err);
          show("print.error", { status: err.status || "–", msg: state.error }, true);
        })
        .finally(settle);
    }

    $("pr-form").addEventListener("submit", run);
    $("print").hidden = false;
    return {
      // A click on a village makes it the community to print.
      pick(f) {
        if (f && f.layer === "communities" && f.properties && f.properties.code) {
          $("pr-community").value = String(f.properties.code);
        }
      },
    };
  }

  // The Monitoring panel: the indicator tables by community drawn as a
  // choropleth (GET /tiles/indicators/{z}/{x}/{y}.mvt?indicator=&round=), one
  // round at a time with a slider, or the change from baseline to endline
  // coloured by group (intervention / control). The tiles carry what
  // /api/indicators gives the same caller: protected cells without a value.
  function setupMonitoring(map) {
    const $ = (id) => document.getElementById(id);
    const SRC = "mo-indicators";
    const LAYER = "mo-indicators-circles";
    // For tests: the state of the panel and of the last drawing.
    const state = { ready: false, shown: false, indicator: null, round: null, mode: "value", url: null,
      rounds: [], baseline: 1, endline: 2, rendered: 0, error: null };
    window.chaski.monitoring = state;
    let labels = {};
    let view = null;
    const show = (key, vars, error) => {
      view = { key, vars, error };
      I.label($("mo-status"), key, vars);
      $("mo-status").classList.toggle("error", Boolean(error));
    };
    const indicatorName = (id) => (labels[id] ? (I.lang() === "es" ? labels[id].es : labels[id].en) : id) || id;
    function fillIndicators() {
      const sel = $("mo-indicator");
      const keep = sel.value;
      sel.replaceChildren(...Object.keys(labels).map((id) => {
        const o = document.createElement("option");
        o.value = id;
        o.textContent = indicatorName(id);
        return o;
      }));
      if (keep) sel.value = keep;
    }
    function legend() {
      const box = $("mo-legend");
      box.replaceChildren();
      if (!state.shown) return;
      const row = (cls, key) => {
        const r = document.createElement("div");
        r.className = "legend-row";
        const sw = document.createElement("span");
        sw.className = "swatch";
        sw.style.background = cls;
        r.append(sw, I.label(document.createElement("span"), key));
        return r;
      };
      if (state.mode === "value") {
        const ramp = document.createElement("div");
        ramp.className = "mo-ramp";
        const ends = document.createElement("div");
        ends.className = "mo-ends";
        ends.append(Object.assign(document.createElement("span"), { textContent: "0 %" }),
          Object.assign(document.createElement("span"), { textContent: "100 %" }));
        box.append(I.label(document.createElement("div"), "monitoring.legend.value"), ramp, ends,
          row("#bdbdbd", "monitoring.legend.other"));
      } else {
        box.append(row("#d95f02", "monitoring.legend.intervention"), row("#1b9e77", "monitoring.legend.control"),
          row("#bdbdbd", "monitoring.legend.other"), I.label(document.createElement("div"), "monitoring.legend.size"));
      }
    }
    function paint() {
      if (state.mode === "value") {
        return {
          "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 4, 12, 9],
          "circle-color": ["case", ["has", "proportion"],
            ["interpolate", ["linear"], ["get", "proportion"], 0, "#ffffcc", 0.25, "#a1dab4", 0.5, "#41b6c4",
              0.75, "#2c7fb8", 1, "#253494"], "#bdbdbd"],
          "circle-stroke-color": "#333", "circle-stroke-width": 1, "circle-opacity": 0.9,
        };
      }
      return {
        "circle-radius": ["case", ["has", "change"],
          ["+", 4, ["*", 30, ["abs", ["get", "change"]]]], 4],
        "circle-color": ["case", ["!", ["has", "change"]], "#bdbdbd",
          ["==", ["get", "group"], "intervention"], "#d95f02",
          ["==", ["get", "group"], "control"], "#1b9e77", "#bdbdbd"],
        "circle-stroke-color": ["case", ["<", ["coalesce", ["get", "change"], 0], 0], "#ffffff", "#000000"],
        "circle-stroke-width": 2, "circle-opacity": 0.9,
      };
    }
    function remove() {
      if (map.getLayer(LAYER)) map.removeLayer(LAYER);
      if (map.getSource(SRC)) map.removeSource(SRC);
    }
    function status() {
      if (!state.shown) return;
      state.rendered = map.getLayer(LAYER) ? map.queryRenderedFeatures({ layers: [LAYER] }).length : 0;
      const vars = { indicator: indicatorName(state.indicator), round: state.round, n: state.rendered,
        baseline: state.baseline, endline: state.endline };
      show(state.mode === "value" ? "monitoring.shown" : "monitoring.shownChange", vars);
    }
    function draw() {
      state.indicator = $("mo-indicator").value;
      state.round = state.rounds[Number($("mo-round").value) - 1] || state.rounds[0];
      state.mode = $("mo-mode").value;
      $("mo-round-label").value = String(state.round);
      // The change map is the same for every round: the slider picks the endline's cells.
      const round = state.mode === "value" ? state.round : state.endline;
      remove();
      legend();
      if (!state.shown || !state.indicator) return;
      const q = new URLSearchParams({ indicator: state.indicator, round: String(round) });
      state.url = location.origin + "/tiles/indicators/{z}/{x}/{y}.mvt?" + q;
      map.addSource(SRC, { type: "vector", tiles: [state.url], minzoom: 0, maxzoom: 14 });
      map.addLayer({ id: LAYER, type: "circle", source: SRC, "source-layer": "indicators", paint: paint() });
      state.drawn = (state.drawn || 0) + 1;
      map.once("idle", status);
    }
    I.onChange(() => {
      fillIndicators();
      legend();
      if (view) show(view.key, view.vars, view.error);
      status();
    });
    const err = (r) => Object.assign(new Error((r.j && r.j.error) || "HTTP " + r.status), { status: r.status });
    // The indicators and rounds this caller may see: read at start and again when
    // the token changes (a CHA's rounds, the violence indicators of a token with
    // that grant), then the map redrawn with the new token's tiles.
    function load() {
      state.ready = false;
      state.error = null;
      return Promise.all([
        getJson("/api/indicators?format=json", { headers: authHeaders() }),
        getJson("/api/did?permutations=0", { headers: authHeaders() }).catch(() => null),
      ])
        .then(([ind, did]) => {
          if (!ind.ok) throw err(ind);
          labels = {};
          for (const i of ind.j.indicators || []) labels[i.id] = { es: i.label_es, en: i.label };
          state.rounds = (ind.j.periods || []).map(Number).filter((n) => Number.isFinite(n));
          if (did && did.ok && did.j.design) {
            state.baseline = did.j.design.baseline;
            state.endline = did.j.design.endline;
          }
          fillIndicators();
          const keep = Math.min(Number($("mo-round").value) || 1, Math.max(1, state.rounds.length));
          $("mo-round").max = String(Math.max(1, state.rounds.length));
          $("mo-round").value = String(keep);
          $("mo-round-label").value = String(state.rounds[keep - 1] || "–");
          $("monitoring").hidden = false;
          if (!state.rounds.length) {
            remove();
            show("monitoring.none");
            return;
          }
          state.ready = true;
          if (state.shown) draw();
        })
        .catch((e) => {
          state.error = String((e && e.message) || e);
          $("monitoring").hidden = false;
          show("monitoring.error", { status: e.status || "–", msg: state.error }, true);
        });
    }
    state.done = load();
    window.addEventListener("chaski:token", () => {
      state.done = load();
    });
    $("mo-show").addEventListener("click", () => {
      state.shown = !state.shown;
      $("mo-show").setAttribute("aria-pressed", String(state.shown));
      I.label($("mo-show"), state.shown ? "monitoring.hide" : "monitoring.show");
      if (!state.shown) I.clear($("mo-status"));
      draw();
    });
    for (const id of ["mo-indicator", "mo-mode"]) $(id).addEventListener("change", draw);
    $("mo-round").addEventListener("input", draw);
  }

  // Close the popup of the last click and drop its route.
  function closeAccess(map) {
    if (window.chaski.popup) window.chaski.popup.remove();
    window.chaski.popup = null;
    window.chaski.popupRender = null;
    if (map.getLayer("chaski-route")) map.removeLayer("chaski-route");
    if (map.getSource("chaski-route")) map.removeSource("chaski-route");
  }

  function drawRoute(map, route) {
    const data = route.type === "Feature" ? route : { type: "Feature", geometry: route, properties: {} };
    if (map.getSource("chaski-route")) {
      map.getSource("chaski-route").setData(data);
    } else {
      map.addSource("chaski-route", { type: "geojson", data });
      map.addLayer({
        id: "chaski-route",
        type: "line",
        source: "chaski-route",
        paint: { "line-color": "#1f4e9c", "line-width": 3, "line-dasharray": [1, 1] },
      });
    }
  }

  // A switch of language rewrites the open popup too.
  I.onChange(() => {
    if (window.chaski.popupRender) window.chaski.popupRender();
  });
})();
