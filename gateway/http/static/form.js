// The citizen form, made better when JavaScript runs (it works without: a plain POST).
// - the error summary takes the focus, so it is read out first;
// - photos are checked on choosing them (type, size, count) and refused ones are taken out of the
//   selection, each named; the server's checks stay the truth;
// - the address field suggests addresses from /api/v1/addresses (an ARIA 1.2 combobox: arrows,
//   Enter, Escape) and fills the hidden street/number/postcode/lat/lon fields;
// - a Leaflet map (served by the gateway) sets lat/lon with a pin; when its tiles do not load it
//   says so, and the address field still works.
"use strict";

(function () {
  const form = document.getElementById("melding-form");
  if (!form) return;
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));

  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();

  // --- photos -------------------------------------------------------------------------------
  const photos = document.getElementById("photos");
  const photoCheck = document.getElementById("photos-check");
  function checkPhotos() {
    const accepted = photos.accept.split(",").map((t) => t.trim().toLowerCase());
    const maxBytes = Number(photos.dataset.maxBytes);
    const maxFiles = Number(photos.dataset.maxFiles);
    const kept = new DataTransfer();
    const messages = [];
    for (const file of photos.files) {
      if (!accepted.includes((file.type || "").toLowerCase())) {
        messages.push(fill(form.dataset.msgPhotoType, { name: file.name }));
      } else if (file.size > maxBytes) {
        messages.push(fill(form.dataset.msgPhotoLarge, { name: file.name }));
      } else if (kept.files.length >= maxFiles) {
        messages.push(form.dataset.msgPhotoMany);
        break;
      } else {
        kept.items.add(file);
      }
    }
    photoCheck.replaceChildren(
      ...messages.map((m) => Object.assign(document.createElement("li"), { textContent: m })),
    );
    if (messages.length) photos.files = kept.files;
  }
  if (photos && photoCheck) photos.addEventListener("change", checkPhotos);

  // --- the pin and the hidden place fields ----------------------------------------------------
  const hidden = (name) => document.getElementById(name);
  let placeFromSuggestion = false; // lat/lon of a chosen address, not of a pin the citizen set
  function setPlace(place) {
    const names = ["street", "house_number", "postcode"];
    if (place || placeFromSuggestion) names.push("lat", "lon");
    for (const name of names) {
      const key = name === "house_number" ? "number" : name;
      hidden(name).value = place && place[key] != null ? place[key] : "";
    }
    placeFromSuggestion = Boolean(place && place.lat != null);
  }

  let map = null;
  let marker = null;
  function pin(lat, lon, announce) {
    if (!map) return;
    if (marker) marker.setLatLng([lat, lon]);
    else {
      marker = L.marker([lat, lon], { draggable: true, keyboard: false }).addTo(map);
      marker.on("dragend", () => {
        const p = marker.getLatLng();
        pin(p.lat, p.lng, true);
      });
    }
    hidden("lat").value = lat.toFixed(6);
    hidden("lon").value = lon.toFixed(6);
    if (announce) placeFromSuggestion = false;
    if (announce) document.getElementById("map-status").textContent = document.getElementById("map-block").dataset.msgPinned;
  }

  function startMap() {
    const block = document.getElementById("map-block");
    if (!block || typeof L === "undefined") return;
    block.hidden = false;
    const status = document.getElementById("map-status");
    L.Icon.Default.imagePath = "/static/vendor/leaflet/images/";
    map = L.map("map", { keyboard: true }).setView([Number(block.dataset.lat), Number(block.dataset.lon)], 14);
    let failed = false;
    L.tileLayer(block.dataset.tiles, { maxZoom: 19, attribution: block.dataset.attribution })
      .on("tileerror", () => {
        if (failed) return;
        failed = true;
        status.textContent = block.dataset.msgTilesFailed;
      })
      .addTo(map);
    map.on("click", (e) => pin(e.latlng.lat, e.latlng.lng, true));
    document.getElementById("map-pin").addEventListener("click", () => {
      const c = map.getCenter();
      pin(c.lat, c.lng, true);
    });
    const lat = Number(hidden("lat").value);
    const lon = Number(hidden("lon").value);
    if (hidden("lat").value && hidden("lon").value) pin(lat, lon, false);
  }

  // --- address suggestions (combobox) ---------------------------------------------------------
  const input = document.getElementById("address");
  const list = document.getElementById("address-list");
  const status = document.getElementById("address-status");
  let found = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function show(suggestions) {
    found = suggestions;
    list.replaceChildren(
      ...suggestions.map((s, i) => {
        const li = document.createElement("li");
        li.id = "address-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = s.label;
        li.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus in the field
        li.addEventListener("click", () => choose(i));
        return li;
      }),
    );
    status.textContent = suggestions.length
      ? fill(form.dataset.msgSuggestions, { count: suggestions.length })
      : form.dataset.msgNoSuggestions;
    if (!suggestions.length) return close();
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(i) {
    const options = list.querySelectorAll("[role=option]");
    options.forEach((o, n) => o.setAttribute("aria-selected", n === i ? "true" : "false"));
    active = i;
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({ block: "nearest" });
    }
  }

  function choose(i) {
    const s = found[i];
    input.value = s.label;
    setPlace(s);
    if (s.lat != null && s.lon != null && map) {
      pin(s.lat, s.lon, false);
      map.setView([s.lat, s.lon], 17);
    }
    close();
  }

  async function suggest() {
    const q = input.value.trim();
    if (q.length < 2) return close();
    const mine = ++asked;
    try {
      const r = await fetch("/api/v1/addresses?limit=8&q=" + encodeURIComponent(q), {
        headers: { Accept: "application/json" },
      });
      if (!r.ok || mine !== asked) return;
      show(await r.json());
    } catch (e) {
      close(); // no suggestions: the typed address is sent as it is
    }
  }

  if (input && list) {
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", "address-list");
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => {
      setPlace(null); // what was typed no longer matches a chosen suggestion
      clearTimeout(timer);
      timer = setTimeout(suggest, 200);
    });
    input.addEventListener("keydown", (e) => {
      if (list.hidden) return;
      if (e.key === "ArrowDown") highlight(Math.min(active + 1, found.length - 1));
      else if (e.key === "ArrowUp") highlight(Math.max(active - 1, 0));
      else if (e.key === "Enter" && active >= 0) choose(active);
      else if (e.key === "Escape") close();
      else return;
      e.preventDefault();
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  startMap();
})();
