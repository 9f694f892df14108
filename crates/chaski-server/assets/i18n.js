// chaski viewer texts: Spanish (the default) and English, one dictionary per language,
// and the ES | EN switch. The chosen language is kept for this browser tab
// (sessionStorage). No framework: elements carry the key of their text
//   data-i18n="key"              text (textContent)
//   data-i18n-html="key"         markup from the dictionary (trusted texts only)
//   data-i18n-placeholder="key"  data-i18n-aria-label="key"  data-i18n-title="key"
// and, when built by app.js, data-i18n-vars (JSON) and data-i18n-fallback; a switch
// rewrites every such element and calls the listeners of texts built as HTML.
(function () {
  "use strict";
  const dict = {
    es: {
      "lang.group": "Idioma",
      "status.loading": "cargando…",
      "status.features": "{n} elementos en pantalla",
      "err.map": "No se pudo cargar el mapa: {msg}",
      "err.style": "estilo: HTTP {status}",
      "err.catalog": "catálogo: HTTP {status}",
      "err.server": "Error del servidor: {msg}",
      "panel.layers": "Capas",
      "panel.legend": "Leyenda",

      "layer.communities": "Centros poblados",
      "layer.facilities": "Establecimientos de salud",
      "layer.water_systems": "Sistemas de agua (JASS)",
      "layer.districts": "Distritos",
      "layer.boundaries": "Límites",
      "layer.rivers": "Ríos y quebradas",
      "layer.roads": "Carreteras",
      "layer.paths": "Caminos",
      "layer.travel_time": "Minutos a pie",
      "layer.catchments": "Áreas de influencia",
      "layer.underserved": "Centros poblados lejos del parto",
      "layer.households": "Hogares",
      "layer.clusters": "Conglomerados de riesgo",
      "layer.whatif_edits": "Cambios del ¿Y si…?",

      "legend.boundaries-fill": "Distrito",
      "legend.districts-fill": "Distrito",
      "legend.travel-time": "Minutos a pie hasta un establecimiento (0–30, 30–60, 60–120, 120–240, más)",
      "legend.catchments": "Área de influencia de cada establecimiento (al que se llega primero)",
      "legend.underserved": "Centro poblado a más de 2 h a pie de un establecimiento con atención de parto",
      "legend.boundaries-line": "Límite",
      "legend.districts-line": "Límite distrital",
      "legend.rivers": "Río / quebrada",
      "legend.roads": "Carretera",
      "legend.paths": "Camino (puente, vado)",
      "legend.water-systems": "Sistema de agua (operativo, parcial, inoperativo)",
      "legend.communities": "Centro poblado (tamaño: población; agrupados al alejar el mapa)",
      "legend.facilities": "Establecimiento de salud (I-1/I-2, I-3/I-4, hospital)",
      "legend.facility-clusters": "Grupo de establecimientos (número; acerque el mapa para verlos)",

      "popup.grouped": "{n} elementos agrupados: acerque el mapa para verlos uno por uno",
      "access.loading": "tiempo de viaje…",
      "access.minutes": "<b>{min} min</b> a pie hasta {name}",
      "access.care": "el establecimiento",
      "access.unreachable": "no se llega a pie ({status})",
      "access.unreachableShort": "no se llega",
      "access.without": "sin el ¿Y si…?: {value}",
      "access.outside": "Este punto está fuera de la superficie de tiempo de viaje (fuera del modelo de elevación o sin datos).",
      "access.nosurface": "No hay superficie de tiempo de viaje",
      "reason.reached": "alcanzado",
      "reason.outside the surface": "fuera de la superficie",
      "reason.on an impassable cell": "en una celda intransitable",
      "reason.not reached": "no alcanzado",

      "private.title": "Capas privadas",
      "private.help":
        "Hogares y conglomerados de riesgo, para tokens de ACS, establecimiento, analista o " +
        "administrador (<code>chaski tokens create</code>). El token se guarda solo en esta " +
        "pestaña del navegador.",
      "private.use": "Usar token",
      "private.forget": "Olvidar",
      "private.checking": "verificando el token…",
      "private.none": "ninguna capa privada para este token (incorrecto o revocado, o de rol público)",
      "private.showing.households": "mostrando hogares (riesgo: rojo alto, naranja medio, verde bajo)",
      "private.showing.clusters": "mostrando conglomerados de riesgo",
      "private.showing.both":
        "mostrando hogares y conglomerados de riesgo (riesgo: rojo alto, naranja medio, verde bajo)",

      "whatif.title": "¿Y si…?",
      "whatif.help":
        "Dibuje un camino, un puente o un nuevo puesto de salud y pulse Calcular: el mapa " +
        "(tiempos de viaje y áreas de influencia) y los clics muestran el cambio.",
      "whatif.path": "Camino",
      "whatif.bridge": "Puente",
      "whatif.facility": "Puesto de salud",
      "whatif.class": "tipo",
      "whatif.category": "categoría",
      "whatif.scenario": "escenario",
      "whatif.run": "Calcular",
      "whatif.clear": "Limpiar",
      "whatif.computing": "calculando…",
      "whatif.failed": "no se pudo calcular el ¿Y si…?",
      "whatif.count": "{n} cambio(s) dibujado(s)",
      "whatif.newpost": "nuevo puesto de salud {n}",
      "whatif.changed": "<b>{n}</b> centros poblados cambian ({scenario}, {direction}).",
      "whatif.population": "población",
      "whatif.beforeafter": "antes → después",
      "whatif.within": "a {m} min o menos",
      "hint.path": "Haga clic a lo largo del nuevo camino; pulse Camino otra vez para terminar.",
      "hint.bridge": "Haga clic a ambos lados del río; pulse Puente otra vez para terminar.",
      "hint.facility": "Haga clic donde estaría el nuevo puesto de salud.",
      "class.footpath": "camino peatonal",
      "class.mule_track": "camino de herradura",
      "class.track_road": "trocha carrozable",
      "class.gravel_road": "carretera afirmada",
      "class.paved_road": "carretera asfaltada",
      "scenario.walking": "a pie",
      "scenario.rainy": "temporada de lluvias",
      "scenario.rainy_season": "temporada de lluvias",
      "scenario.pregnant": "gestante",
      "scenario.pregnant_woman": "gestante",
      "scenario.stretcher": "en camilla",
      "scenario.motorised": "en vehículo",
      "direction.to the facility": "hacia el establecimiento",
      "direction.from the facility": "desde el establecimiento",

      "planner.title": "Casas maternas",
      "planner.help":
        "Dónde abrir casas maternas: elija el modelo y pulse Calcular. El mapa muestra las " +
        "casas elegidas (número: orden) y los centros poblados cubiertos o no.",
      "planner.model": "modelo",
      "planner.homes": "número de casas",
      "planner.minutes": "umbral (minutos)",
      "planner.candidates": "candidatos",
      "planner.scenario": "escenario de viaje",
      "planner.birthRate": "tasa de natalidad (nacimientos por habitante al año)",
      "planner.beds": "camas por casa",
      "planner.run": "Calcular",
      "planner.computing": "calculando…",
      "planner.failed": "no se pudo calcular el plan",
      "planner.missing": "Indique un número en «{field}».",
      "planner.error": "Error ({status}): {msg}",
      "model.covering": "cobertura máxima",
      "model.p-median": "p-mediana (menos minutos)",
      "model.set-covering": "cubrir todo (mínimo de casas)",
      "model.capacitated": "con camas (capacidad)",
      "candidates.birth-care": "establecimientos con atención de partos",
      "candidates.facilities": "cualquier establecimiento",
      "candidates.villages": "centros poblados",
      "planner.status": "Estado",
      "solve.optimal": "óptimo",
      "solve.gap_limit": "dentro de la tolerancia",
      "solve.time_limit": "límite de tiempo alcanzado",
      "solve.heuristic_only": "solo heurística",
      "planner.births": "Nacimientos al año a {m} min o menos",
      "planner.before": "antes",
      "planner.after": "después",
      "planner.ofTotal": "de {total} ({share})",
      "planner.gap": "Brecha (gap)",
      "planner.objective": "Objetivo / cota",
      "planner.weighted": "Minutos ponderados por nacimiento",
      "planner.none": "Ninguna casa nueva elegida.",
      "planner.uncoverable": "{n} centro(s) poblado(s) fuera del alcance de todo candidato.",
      "planner.curve": "Curva de cobertura",
      "planner.axis": "k: casas nuevas abiertas",
      "planner.curve.covered": "nacimientos cubiertos con las primeras k casas",
      "planner.curve.minutes": "nacimientos × minutos con las primeras k casas (menos es mejor)",
      "planner.chart": "Curva de cobertura: {points}",
      "planner.col.rank": "n.º",
      "planner.col.home": "casa",
      "planner.col.value": "total",
      "planner.col.gain": "aporte",
      "planner.download": "Descargar:",
      "planner.download.homes": "casas (GeoJSON)",
      "planner.download.villages": "centros poblados (GeoJSON)",
      "planner.legend.home": "casa materna elegida (número: orden)",
      "planner.legend.existing": "casa materna existente",
      "planner.legend.covered": "centro poblado cubierto",
      "planner.legend.uncovered": "centro poblado no cubierto",
      "layer.chaski-planner-homes": "Casa materna (plan)",
      "layer.chaski-planner-villages": "Centro poblado (plan)",

      "monitoring.title": "Seguimiento por ronda",
      "monitoring.help":
        "Indicadores de las encuestas por comunidad: elija el indicador y mueva la ronda. Sin token de ACS, establecimiento o administrador, cifras protegidas (las celdas de menos de 5 hogares no se muestran).",
      "monitoring.indicator": "indicador",
      "monitoring.round": "ronda",
      "monitoring.mode": "mostrar",
      "monitoring.mode.value": "proporción en la ronda",
      "monitoring.mode.change": "cambio por grupo (línea de base → final)",
      "monitoring.show": "Mostrar en el mapa",
      "monitoring.hide": "Quitar del mapa",
      "monitoring.none": "Sin rondas de encuesta en los datos.",
      "monitoring.shown": "{indicator}, ronda {round}: {n} comunidades en pantalla",
      "monitoring.shownChange": "{indicator}, cambio de la ronda {baseline} a la {endline}: {n} comunidades en pantalla",
      "monitoring.error": "Error ({status}): {msg}",
      "monitoring.legend.value": "proporción de hogares (gris: celda protegida)",
      "monitoring.legend.intervention": "intervención",
      "monitoring.legend.control": "control",
      "monitoring.legend.other": "sin grupo o cambio protegido",
      "monitoring.legend.size": "tamaño: cuánto cambió; borde negro: subió, blanco: bajó",
      "print.title": "Imprimir mapa de riesgo",
      "print.help":
        "Mapa en papel para el ACS: de la comunidad elegida (clic en un centro poblado) o, si no, " +
        "de la más cercana al centro de la vista. Con un token de ACS, establecimiento o " +
        "administrador muestra los hogares de su ámbito; sin él, solo cifras agregadas.",
      "print.community": "comunidad",
      "print.view": "vista actual",
      "print.size": "papel",
      "print.orientation": "orientación",
      "print.portrait": "vertical",
      "print.landscape": "horizontal",
      "print.lang": "idioma del mapa",
      "print.format": "formato",
      "print.run": "Imprimir",
      "print.printing": "preparando el mapa de {code}…",
      "print.done": "mapa de {code} descargado ({size} kB)",
      "print.none": "Ningún centro poblado en la vista: acerque el mapa o haga clic en uno.",
      "print.error": "Error ({status}): {msg}",

      "note":
        "Teselas y biblioteca de mapas servidas por este servidor chaski; funciona sin " +
        'conexión. MapLibre GL JS, <a href="/viewer/maplibre-gl-LICENSE.txt">BSD-3-Clause</a>. ' +
        'API: <a href="/api">/api</a>.',
    },
    en: {
      "lang.group": "Language",
      "status.loading": "loading…",
      "status.features": "{n} features on screen",
      "err.map": "could not load the map: {msg}",
      "err.style": "style: HTTP {status}",
      "err.catalog": "catalog: HTTP {status}",
      "err.server": "Server error: {msg}",
      "panel.layers": "Layers",
      "panel.legend": "Legend",

      "layer.communities": "Communities (villages)",
      "layer.facilities": "Health facilities",
      "layer.water_systems": "Water systems (JASS)",
      "layer.districts": "Districts",
      "layer.boundaries": "Boundaries",
      "layer.rivers": "Rivers and streams",
      "layer.roads": "Roads",
      "layer.paths": "Paths",
      "layer.travel_time": "Minutes on foot",
      "layer.catchments": "Catchments",
      "layer.underserved": "Villages far from birth care",
      "layer.households": "Households",
      "layer.clusters": "At-risk clusters",
      "layer.whatif_edits": "What-if edits",

      "legend.boundaries-fill": "District",
      "legend.districts-fill": "District",
      "legend.travel-time": "Minutes on foot to care (0–30, 30–60, 60–120, 120–240, more)",
      "legend.catchments": "Facility catchment (who reaches it first)",
      "legend.underserved": "Village beyond 2 h on foot of a facility with birth care",
      "legend.boundaries-line": "Boundary",
      "legend.districts-line": "District limit",
      "legend.rivers": "River / stream",
      "legend.roads": "Road",
      "legend.paths": "Footpath (bridge, ford)",
      "legend.water-systems": "Water system (operational, partial, down)",
      "legend.communities": "Community (size: population; grouped when zoomed out)",
      "legend.facilities": "Health facility (I-1/I-2, I-3/I-4, hospital)",
      "legend.facility-clusters": "Group of facilities (number; zoom in to see them)",

      "popup.grouped": "{n} features grouped: zoom in to see them one by one",
      "access.loading": "travel time…",
      "access.minutes": "<b>{min} min</b> on foot to {name}",
      "access.care": "care",
      "access.unreachable": "not reachable on foot ({status})",
      "access.unreachableShort": "not reachable",
      "access.without": "without the what-if: {value}",
      "access.outside": "This point is outside the travel-time surface (off the elevation model or without data).",
      "access.nosurface": "No travel-time surface",
      "reason.reached": "reached",
      "reason.outside the surface": "outside the surface",
      "reason.on an impassable cell": "on an impassable cell",
      "reason.not reached": "not reached",

      "private.title": "Private layers",
      "private.help":
        "Households and at-risk clusters, for CHA, facility, analyst and admin tokens " +
        "(<code>chaski tokens create</code>). The token stays in this browser tab only.",
      "private.use": "Use token",
      "private.forget": "Forget",
      "private.checking": "checking the token…",
      "private.none": "no private layers for this token (wrong or revoked, or a public role)",
      "private.showing.households": "showing households (risk: red alto, orange medio, green bajo)",
      "private.showing.clusters": "showing at-risk clusters",
      "private.showing.both":
        "showing households and at-risk clusters (risk: red alto, orange medio, green bajo)",

      "whatif.title": "What if…",
      "whatif.help":
        "Draw a path, a bridge or a new health post, then compute: travel times and " +
        "catchments on the map, and clicks, show the change.",
      "whatif.path": "Path",
      "whatif.bridge": "Bridge",
      "whatif.facility": "Health post",
      "whatif.class": "class",
      "whatif.category": "category",
      "whatif.scenario": "scenario",
      "whatif.run": "Compute",
      "whatif.clear": "Clear",
      "whatif.computing": "computing…",
      "whatif.failed": "the what-if failed",
      "whatif.count": "{n} edit(s) drawn",
      "whatif.newpost": "new health post {n}",
      "whatif.changed": "<b>{n}</b> villages change ({scenario}, {direction}).",
      "whatif.population": "population",
      "whatif.beforeafter": "before → after",
      "whatif.within": "within {m} min",
      "hint.path": "Click along the new path; click Path again to finish.",
      "hint.bridge": "Click either side of the river; click Bridge again to finish.",
      "hint.facility": "Click where the new health post would be.",
      "class.footpath": "footpath",
      "class.mule_track": "mule track",
      "class.track_road": "track road",
      "class.gravel_road": "gravel road",
      "class.paved_road": "paved road",
      "scenario.walking": "walking",
      "scenario.rainy": "rainy season",
      "scenario.rainy_season": "rainy season",
      "scenario.pregnant": "pregnant woman",
      "scenario.pregnant_woman": "pregnant woman",
      "scenario.stretcher": "stretcher",
      "scenario.motorised": "motorised",
      "direction.to the facility": "to the facility",
      "direction.from the facility": "from the facility",

      "planner.title": "Maternity waiting homes",
      "planner.help":
        "Where to open maternity waiting homes: choose the model and compute. The map shows " +
        "the chosen homes (number: rank) and the villages covered or not.",
      "planner.model": "model",
      "planner.homes": "number of homes",
      "planner.minutes": "threshold (minutes)",
      "planner.candidates": "candidates",
      "planner.scenario": "travel scenario",
      "planner.birthRate": "birth rate (births per inhabitant a year)",
      "planner.beds": "beds per home",
      "planner.run": "Compute",
      "planner.computing": "computing…",
      "planner.failed": "the plan failed",
      "planner.missing": "Enter a number in “{field}”.",
      "planner.error": "Error ({status}): {msg}",
      "model.covering": "maximal covering",
      "model.p-median": "p-median (fewest minutes)",
      "model.set-covering": "cover all (fewest homes)",
      "model.capacitated": "with beds (capacitated)",
      "candidates.birth-care": "facilities with birth care",
      "candidates.facilities": "any facility",
      "candidates.villages": "villages",
      "planner.status": "Status",
      "solve.optimal": "optimal",
      "solve.gap_limit": "within the gap tolerance",
      "solve.time_limit": "time limit reached",
      "solve.heuristic_only": "heuristic only",
      "planner.births": "Births a year within {m} min",
      "planner.before": "before",
      "planner.after": "after",
      "planner.ofTotal": "of {total} ({share})",
      "planner.gap": "Gap",
      "planner.objective": "Objective / bound",
      "planner.weighted": "Birth-weighted minutes",
      "planner.none": "No new home chosen.",
      "planner.uncoverable": "{n} village(s) beyond the reach of every candidate.",
      "planner.curve": "Coverage curve",
      "planner.axis": "k: new homes opened",
      "planner.curve.covered": "births covered with the first k homes",
      "planner.curve.minutes": "births × minutes with the first k homes (lower is better)",
      "planner.chart": "Coverage curve: {points}",
      "planner.col.rank": "#",
      "planner.col.home": "home",
      "planner.col.value": "total",
      "planner.col.gain": "gain",
      "planner.download": "Download:",
      "planner.download.homes": "homes (GeoJSON)",
      "planner.download.villages": "villages (GeoJSON)",
      "planner.legend.home": "chosen maternity waiting home (number: rank)",
      "planner.legend.existing": "existing maternity waiting home",
      "planner.legend.covered": "village covered",
      "planner.legend.uncovered": "village not covered",
      "layer.chaski-planner-homes": "Maternity waiting home (plan)",
      "layer.chaski-planner-villages": "Village (plan)",

      "monitoring.title": "Monitoring by round",
      "monitoring.help":
        "Survey indicators by community: choose the indicator and move the round. Without a CHA, facility or admin token, protected figures (cells under 5 households are not shown).",
      "monitoring.indicator": "indicator",
      "monitoring.round": "round",
      "monitoring.mode": "show",
      "monitoring.mode.value": "proportion in the round",
      "monitoring.mode.change": "change by group (baseline → endline)",
      "monitoring.show": "Show on the map",
      "monitoring.hide": "Remove from the map",
      "monitoring.none": "No survey rounds in the data.",
      "monitoring.shown": "{indicator}, round {round}: {n} communities in view",
      "monitoring.shownChange": "{indicator}, change from round {baseline} to {endline}: {n} communities in view",
      "monitoring.error": "Error ({status}): {msg}",
      "monitoring.legend.value": "share of households (grey: protected cell)",
      "monitoring.legend.intervention": "intervention",
      "monitoring.legend.control": "control",
      "monitoring.legend.other": "no group or change protected",
      "monitoring.legend.size": "size: how much it changed; black edge: rose, white: fell",
      "print.title": "Print risk map",
      "print.help":
        "A paper map for the CHA: of the community chosen (click a village) or else the one " +
        "nearest the centre of the view. With a CHA, facility or admin token it shows the " +
        "households of the token's scope; without one, aggregates only.",
      "print.community": "community",
      "print.view": "current view",
      "print.size": "paper",
      "print.orientation": "orientation",
      "print.portrait": "portrait",
      "print.landscape": "landscape",
      "print.lang": "map language",
      "print.format": "format",
      "print.run": "Print",
      "print.printing": "preparing the map of {code}…",
      "print.done": "map of {code} downloaded ({size} kB)",
      "print.none": "No village in view: zoom in or click one.",
      "print.error": "Error ({status}): {msg}",

      "note":
        "Tiles and map library served by this chaski server; works offline. " +
        'MapLibre GL JS, <a href="/viewer/maplibre-gl-LICENSE.txt">BSD-3-Clause</a>. ' +
        'API: <a href="/api">/api</a>.',
    },
  };
  const STORAGE = "chaski.lang";
  const stored = sessionStorage.getItem(STORAGE);
  let lang = stored in dict ? stored : "es";
  const listeners = [];

  const locale = () => (lang === "es" ? "es-PE" : "en");
  const show = (v) => (typeof v === "number" ? v.toLocaleString(locale()) : String(v));

  // The text of `key` in the current language with {name} placeholders filled
  // from `vars` (numbers written the language's way); `fallback` (else the key
  // itself) when the key is unknown.
  function t(key, vars, fallback) {
    let s = dict[lang][key];
    if (s === undefined) s = fallback === undefined || fallback === null ? key : fallback;
    return vars ? s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? show(vars[k]) : m)) : s;
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // As t, for markup: the dictionary's text as is, the values of `vars` escaped.
  function html(key, vars, fallback) {
    const safe = {};
    for (const k in vars || {}) safe[k] = typeof vars[k] === "number" ? vars[k] : esc(vars[k]);
    return t(key, safe, fallback === undefined ? undefined : esc(fallback));
  }

  // Give `el` the text of `key` now and after every switch.
  function label(el, key, vars, fallback) {
    el.dataset.i18n = key;
    if (vars) el.dataset.i18nVars = JSON.stringify(vars);
    else delete el.dataset.i18nVars;
    if (fallback !== undefined && fallback !== null) el.dataset.i18nFallback = fallback;
    else delete el.dataset.i18nFallback;
    el.textContent = t(key, vars, fallback);
    return el;
  }

  // Empty `el` and forget its key (so a switch leaves it empty).
  function clear(el) {
    delete el.dataset.i18n;
    delete el.dataset.i18nVars;
    delete el.dataset.i18nFallback;
    el.textContent = "";
  }

  function apply() {
    document.documentElement.lang = lang;
    for (const el of document.querySelectorAll("[data-i18n]")) {
      const vars = el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : null;
      el.textContent = t(el.dataset.i18n, vars, el.dataset.i18nFallback);
    }
    for (const el of document.querySelectorAll("[data-i18n-html]")) el.innerHTML = t(el.dataset.i18nHtml);
    for (const [attr, data] of [["placeholder", "i18nPlaceholder"], ["aria-label", "i18nAriaLabel"], ["title", "i18nTitle"]]) {
      for (const el of document.querySelectorAll("[data-i18n-" + attr + "]")) el.setAttribute(attr, t(el.dataset[data]));
    }
    for (const b of document.querySelectorAll("#lang button[data-lang]")) {
      b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
    }
    for (const fn of listeners) fn(lang);
  }

  function set(l) {
    if (!(l in dict) || l === lang) return;
    lang = l;
    sessionStorage.setItem(STORAGE, l);
    apply();
  }

  window.chaskiI18n = {
    dict, t, html, esc, label, clear, set,
    lang: () => lang,
    locale,
    // Call `fn` after every switch (for texts built as HTML: popups, summaries).
    onChange: (fn) => listeners.push(fn),
  };

  document.addEventListener("DOMContentLoaded", () => {
    for (const b of document.querySelectorAll("#lang button[data-lang]")) {
      b.addEventListener("click", () => set(b.dataset.lang));
    }
    apply();
  });
})();
