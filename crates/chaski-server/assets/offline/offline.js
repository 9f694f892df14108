// The offline viewer of a chaski tile package (`chaski export`): MapLibre GL JS
// reads the PMTiles archive through the pmtiles:// protocol, every asset beside
// this page, no server needed. Served over http(s) (a CDN, object storage, any
// static server), the archive beside the page is read with range requests;
// opened from a file (file://), the browser may not read other files by itself,
// so the page asks for the archive once (a file picker) and reads it from disk.
(function () {
  "use strict";
  const status = document.getElementById("status");
  const picker = document.getElementById("picker");
  const input = document.getElementById("file");
  const protocol = new pmtiles.Protocol();
  maplibregl.addProtocol("pmtiles", protocol.tile);
  // For tests and the console: the map, and whether it has drawn once.
  window.chaski = { map: null, ready: false };

  const say = (text) => { status.textContent = text; };

  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }

  function start(url, instance) {
    const style = JSON.parse(JSON.stringify(window.CHASKI_STYLE));
    for (const src of Object.values(style.sources || {})) {
      if (typeof src.url === "string" && src.url.startsWith("pmtiles://")) src.url = "pmtiles://" + url;
    }
    if (instance) protocol.add(instance);
    const map = new maplibregl.Map({ container: "map", style, hash: true });
    map.addControl(new maplibregl.NavigationControl(), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    window.chaski.map = map;
    map.on("idle", () => {
      if (!window.chaski.ready) say("Mapa listo: " + url);
      window.chaski.ready = true;
    });
    map.on("error", (e) => say("Error: " + ((e.error && e.error.message) || e)));
    map.on("click", (e) => {
      const features = map.queryRenderedFeatures(e.point);
      if (!features.length) return;
      const f = features[0];
      const rows = Object.entries(f.properties)
        .map(([k, v]) => "<tr><td>" + escapeHtml(k) + "</td><td>" + escapeHtml(v) + "</td></tr>")
        .join("");
      new maplibregl.Popup()
        .setLngLat(e.lngLat)
        .setHTML("<strong>" + escapeHtml(f.sourceLayer) + "</strong><table class=\"popup\">" + rows + "</table>")
        .addTo(map);
    });
  }

  if (location.protocol === "http:" || location.protocol === "https:") {
    start(new URL(window.CHASKI_ARCHIVE, location.href).href, null);
  } else {
    picker.hidden = false;
    say("Sin servidor: abra el archivo de teselas que acompaña a esta página.");
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      if (!file) return;
      picker.hidden = true;
      say("leyendo " + file.name + "…");
      start(file.name, new pmtiles.PMTiles(new pmtiles.FileSource(file)));
    });
  }
})();
