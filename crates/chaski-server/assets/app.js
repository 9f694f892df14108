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
        map.on("click", (e) => {
          const feats = map.queryRenderedFeatures(e.point, { layers: ids });
          if (!feats.length) return;
          const f = feats[0];
          const rows = Object.entries(f.properties)
            .map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(String(v)) + "</td></tr>")
            .join("");
          new maplibregl.Popup({ className: "popup" })
            .setLngLat(e.lngLat)
            .setHTML("<b>" + esc(f.sourceLayer) + "</b><table>" + rows + "</table>")
            .addTo(map);
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

  function esc(s) {
    return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
})();
