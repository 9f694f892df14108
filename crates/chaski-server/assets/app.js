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
        setupPrivate(map, ids);
        map.on("click", (e) => {
          if (whatif.editing()) {
            whatif.addVertex(e.lngLat);
            return;
          }
          const feats = map.queryRenderedFeatures(e.point, { layers: ids });
          const f = feats.length ? { layer: feats[0].sourceLayer, properties: feats[0].properties } : null;
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
    });
    $("token-forget").addEventListener("click", () => {
      token = null;
      sessionStorage.removeItem("chaski.token");
      state.done = apply();
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
