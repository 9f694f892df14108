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

  fetch("/styles/default.json")
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error("style: HTTP " + r.status))))
    .then((style) => {
      const map = new maplibregl.Map({
        container: "map",
        style: style,
        hash: true,
        attributionControl: { compact: true },
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
        map.on("click", (e) => {
          const feats = map.queryRenderedFeatures(e.point, { layers: ids });
          let head = "";
          if (feats.length) {
            const f = feats[0];
            const rows = Object.entries(f.properties)
              .map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(String(v)) + "</td></tr>")
              .join("");
            head = "<b>" + esc(f.sourceLayer) + "</b><table>" + rows + "</table>";
          }
          const popup = new maplibregl.Popup({ className: "popup" })
            .setLngLat(e.lngLat)
            .setHTML(head + '<div class="access">travel time…</div>')
            .addTo(map);
          showAccess(map, e.lngLat, popup, head);
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

  function showAccess(map, lngLat, popup, head) {
    const url = "/api/accessibility?lon=" + lngLat.lng.toFixed(6) + "&lat=" + lngLat.lat.toFixed(6);
    fetch(url)
      .then((r) => r.json().then((j) => ({ ok: r.ok, j })))
      .then(({ ok, j }) => {
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
          if (j.route) drawRoute(map, j.route);
        }
        window.chaski.lastAccess = ok ? j : { error: j.error };
        popup.setHTML(head + '<div class="access">' + html + "</div>");
      })
      .catch((err) => popup.setHTML(head + '<div class="access">' + esc(String(err)) + "</div>"));
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
