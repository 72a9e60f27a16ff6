// hudproxy inspector: progressive enhancement only; every page works without this file.
// 1. A timeline row fetches its call's details the first time it is opened (the page itself stays small).
// 2. A diff page scrolls to its first divergence.
"use strict";
document.addEventListener("toggle", async (event) => {
  const details = event.target;
  if (!(details instanceof HTMLDetailsElement) || !details.open || !details.dataset.src || details.dataset.loaded) {
    return;
  }
  details.dataset.loaded = "1";
  const target = details.querySelector(".expanded");
  try {
    const response = await fetch(details.dataset.src, { credentials: "same-origin" });
    if (response.ok) {
      target.innerHTML = await response.text();
    }
  } catch (error) {
    target.insertAdjacentText("beforeend", ` (could not load: ${error})`);
  }
}, true);
document.addEventListener("DOMContentLoaded", () => {
  const first = document.getElementById("first-divergence");
  if (first && !location.hash) {
    first.scrollIntoView({ block: "center" });
  }
});
