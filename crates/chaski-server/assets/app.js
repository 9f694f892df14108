// chaski viewer: loads the default style from this server, adds layer toggles,
// a legend built from the style, and attributes on click. No external requests.
(function () {
  "use strict";
  const status = document.getElementById("status");
  window.chaski = { ready: false, error: null };

  function fail(msg) {
    status.textContent = msg;
    window.chaski.error = msg;
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

  fetch("/styles/default.json")
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("style: HTTP " + r.status))))
    .then((style) => {
      const map = new maplibregl.Map({
        container: "map",
        style: style,
        hash: true,
        attributionControl: { compact: true },
        transformRequest: (url) => (token && sameOrigin(url) ? { url, headers: authHeaders() } : { url }),
      });
      window.chaski.map = map;
      map.addControl(new maplibregl.NavigationControl(), "top-left");
      map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

      map.on("error", (e) => console.error("map error", e && e.error));

      map.once("load", () => {
        const groups = {};
        for (const l of style.layers) {
          const src = l["source-layer"];
          if (!src) continue;
          (groups[src] = groups[src] || []).push(l);
        }
        const layersDiv = document.getElementById("layers");
        const legend = document.getElementById("legend");
        layersDiv.innerHTML = "<h2>Layers</h2>";
        legend.innerHTML = "<h2>Legend</h2>";
        for (const [src, ls] of Object.entries(groups)) {
          const label = document.createElement("label");
          const cb = document.createElement("input");
          cb.type = "checkbox";
          cb.checked = true;
          cb.dataset.layer = src;
          cb.addEventListener("change", () => {
            for (const l of ls) map.setLayoutProperty(l.id, "visibility", cb.checked ? "visible" : "none");
          });
          label.append(cb, " " + src.replace(/_/g, " "));
          layersDiv.append(label);
          for (const l of ls) {
            const row = document.createElement("div");
            row.className = "legend-row";
            row.append(swatch(l), (l.metadata && l.metadata["chaski:legend"]) || l.id);
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
          let head = "";
          if (feats.length) {
            const f = feats[0];
            const rows = Object.entries(f.properties)
              .map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(String(v)) + "</td></tr>")
              .join("");
            head = "<b>" + esc(f.sourceLayer) + "</b><table>" + rows + "</table>";
          }
          closeAccess(map);
          const popup = new maplibregl.Popup({ className: "popup" })
            .setLngLat(e.lngLat)
            .setHTML(head + '<div class="access">travel time…</div>')
            .addTo(map);
          window.chaski.popup = popup;
          showAccess(map, e.lngLat, popup, head, whatif.id());
        });
        for (const id of ids) {
          map.on("mouseenter", id, () => (map.getCanvas().style.cursor = "pointer"));
          map.on("mouseleave", id, () => (map.getCanvas().style.cursor = ""));
        }
        map.once("idle", () => {
          const n = map.queryRenderedFeatures({ layers: ids }).length;
          window.chaski.ready = true;
          window.chaski.renderedFeatures = n;
          status.textContent = n + " features on screen";
        });
      });
    })
    .catch((e) => fail("could not load the map: " + e.message));

  function getJson(url, init) {
    return fetch(url, init).then((r) =>
      r.status === 204 ? { ok: true, j: {} } : r.json().then((j) => ({ ok: r.ok, j }))
    );
  }

  // Minutes on foot from the clicked point to care, and the route; with a what-if
  // active, the minutes with its edits and, for comparison, without them.
  function showAccess(map, lngLat, popup, head, whatifId) {
    const url = "/api/accessibility?lon=" + lngLat.lng.toFixed(6) + "&lat=" + lngLat.lat.toFixed(6);
    const w = window.chaski.whatif;
    const scenario = whatifId && w.summary ? "&preset=" + encodeURIComponent(w.summary.scenario) : "";
    const before = whatifId ? getJson(url + scenario).catch(() => null) : Promise.resolve(null);
    Promise.all([getJson(whatifId ? url + "&whatif=" + whatifId : url), before])
      .then(([{ ok, j }, base]) => {
        let html;
        if (!ok) {
          html = esc(j.error || "no travel-time surface");
        } else if (j.minutes === null || j.minutes === undefined) {
          html = "not reachable on foot (" + esc(String(j.status)) + ")";
        } else {
          const f = j.facility || {};
          html =
            "<b>" + Math.round(j.minutes) + " min</b> on foot to " + esc(String(f.name || f.code || "care")) +
            (f.category ? " (" + esc(String(f.category)) + ")" : "");
          if (base && base.ok) {
            const m = base.j.minutes;
            html += '<div class="before">without the what-if: ' +
              (m === null || m === undefined ? "not reachable" : Math.round(m) + " min") + "</div>";
          }
          if (j.route) drawRoute(map, j.route);
        }
        window.chaski.lastAccess = ok ? j : { error: j.error };
        popup.setHTML(head + '<div class="access">' + html + "</div>");
      })
      .catch((err) => popup.setHTML(head + '<div class="access">' + esc(String(err)) + "</div>"));
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
        $("token-status").textContent = "";
        return Promise.resolve();
      }
      $("token-status").textContent = "checking the token…";
      return fetch("/catalog", { headers: authHeaders() })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error("catalog: HTTP " + r.status))))
        .then((cat) => {
          const names = (cat.layers || []).map((l) => l.name).filter((n) => n in layers);
          state.error = null;
          if (!names.length) {
            state.error = "no private layers for this token (wrong or revoked, or a public role)";
            $("token-status").textContent = state.error;
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
          $("token-status").textContent = "showing " + names.join(" and ") +
            " (risk: red alto, orange medio, green bajo)";
        })
        .catch((e) => {
          state.error = String(e.message || e);
          $("token-status").textContent = state.error;
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
    const hints = {
      path: "Click along the new path; click Path again to finish.",
      bridge: "Click either side of the river; click Bridge again to finish.",
      facility: "Click where the new health post would be.",
    };

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
      $("wi-hint").textContent = state.mode ? hints[state.mode] : "";
      $("wi-count").textContent = state.edits.length ? state.edits.length + " edit(s) drawn" : "";
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
          properties: { edit: "facility", category: $("wi-category").value, name: "new health post " + (state.edits.length + 1) },
          geometry: { type: "Point", coordinates: p },
        });
        state.mode = null;
      } else {
        state.draft.push(p);
      }
      redraw();
    }

    function show(html) {
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
      const n = (x) => Number(x).toLocaleString("en");
      const rows = (j.population_within || [])
        .map((p) => "<tr><td>within " + p.minutes + " min</td><td>" + n(p.before) + " → " + n(p.after) + "</td></tr>")
        .join("");
      const villages = (j.villages_changed || []).slice(0, 8).map((v) => {
        const t = (m) => (m === null || m === undefined ? "–" : Math.round(m));
        return "<li>" + esc(String(v.name || v.code)) + ": " + t(v.before_min) + " → " + t(v.after_min) + " min</li>";
      }).join("");
      return "<p><b>" + n((j.villages_changed || []).length) + "</b> villages change (" + esc(String(j.scenario)) +
        ", " + esc(String(j.direction)) + ").</p><table><tr><th>population</th><th>before → after</th></tr>" +
        rows + "</table>" + (villages ? "<ul>" + villages + "</ul>" : "");
    }

    function run() {
      finish();
      redraw();
      if (!state.edits.length) return;
      const params = new URLSearchParams({ scenario: $("wi-scenario").value });
      show("computing…");
      const body = JSON.stringify({ type: "FeatureCollection", features: state.edits });
      const previous = state.id;
      getJson("/api/whatif?" + params, { method: "POST", headers: { "content-type": "application/geo+json" }, body })
        .then(({ ok, j }) => {
          if (!ok) {
            state.error = j.error || "the what-if failed";
            show('<p class="error">' + esc(state.error) + "</p>");
            return;
          }
          if (previous) fetch("/api/whatif/" + previous, { method: "DELETE" }).catch(() => {});
          state.id = j.id;
          state.summary = j;
          state.error = null;
          useTiles(j.id);
          closeAccess(map);
          show(summaryHtml(j));
        })
        .catch((e) => show('<p class="error">' + esc(String(e)) + "</p>"));
    }

    function clear() {
      const deleted = state.id
        ? fetch("/api/whatif/" + state.id, { method: "DELETE" }).then((r) => r.status).catch(() => null)
        : Promise.resolve(null);
      Object.assign(state, { mode: null, draft: [], edits: [], id: null, summary: null, error: null, deleted });
      useTiles(null);
      closeAccess(map);
      show("");
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

  function esc(s) {
    return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
})();
