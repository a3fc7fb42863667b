// Presenting the deck: one slide at a time. Keys: → ↓ PageDown Space next, ← ↑ PageUp
// previous, Home/End first/last, N notes; swipe left or right on a touch screen; the buttons.
// A slide taller than the screen scrolls first: ↓ PageDown Space reach its end before the
// next slide, ↑ PageUp its top before the previous one (→ and ← always turn the page).
// The URL's #fragment names the slide shown (or anything inside it), so a link or a reload
// keeps the place.
(function () {
  const slides = Array.from(document.querySelectorAll(".slide"));
  if (!slides.length) return;
  document.documentElement.classList.add("deck");
  const bar = document.querySelector(".progress-bar");
  const progress = document.querySelector(".progress");
  const counter = document.querySelector(".deck-counter");
  const notesButton = document.querySelector(".deck-notes");
  let current = 0;

  function show(index, focus) {
    current = Math.max(0, Math.min(slides.length - 1, index));
    slides.forEach((slide, i) => { slide.hidden = i !== current; });
    const label = `Slide ${current + 1} of ${slides.length}`;
    counter.textContent = label;
    bar.style.width = `${(100 * (current + 1)) / slides.length}%`;
    progress.setAttribute("aria-valuenow", String(current + 1));
    if (location.hash.slice(1) !== slides[current].id) {
      history.replaceState(null, "", `#${slides[current].id}`);
    }
    slides[current].scrollTop = 0;
    if (focus) slides[current].focus();
  }

  // Scrolls the slide shown by a line (arrows) or a screen (pages), if it has room that way.
  function scrolled(down, line) {
    const slide = slides[current];
    const room = down ? slide.scrollHeight - slide.clientHeight - slide.scrollTop
      : slide.scrollTop;
    if (room < 1) return false;
    const step = line ? 40 : 0.9 * slide.clientHeight;
    slide.scrollTop += down ? Math.min(step, room) : -Math.min(step, room);
    return true;
  }

  function fromHash() {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    const index = target ? slides.findIndex((slide) => slide.contains(target)) : -1;
    show(index < 0 ? 0 : index, false);
  }

  function toggleNotes() {
    const on = document.documentElement.classList.toggle("show-notes");
    notesButton.setAttribute("aria-pressed", String(on));
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select")) return;
    const next = ["ArrowRight", "ArrowDown", "PageDown"].includes(event.key)
      || (event.key === " " && !event.shiftKey);
    const previous = ["ArrowLeft", "ArrowUp", "PageUp"].includes(event.key)
      || (event.key === " " && event.shiftKey);
    const line = event.key === "ArrowDown" || event.key === "ArrowUp";
    const turning = event.key === "ArrowRight" || event.key === "ArrowLeft";
    if (next) { if (turning || !scrolled(true, line)) show(current + 1, true); }
    else if (previous) { if (turning || !scrolled(false, line)) show(current - 1, true); }
    else if (event.key === "Home") show(0, true);
    else if (event.key === "End") show(slides.length - 1, true);
    else if (event.key === "n" || event.key === "N") toggleNotes();
    else return;
    event.preventDefault();
  });
  let touchX = null;
  document.addEventListener("touchstart", (event) => { touchX = event.touches[0].clientX; },
    { passive: true });
  document.addEventListener("touchend", (event) => {
    if (touchX === null) return;
    const moved = event.changedTouches[0].clientX - touchX;
    touchX = null;
    if (Math.abs(moved) > 50) show(current + (moved < 0 ? 1 : -1), true);
  });
  document.querySelector(".deck-previous").addEventListener("click", () => show(current - 1, true));
  document.querySelector(".deck-next").addEventListener("click", () => show(current + 1, true));
  notesButton.addEventListener("click", toggleNotes);
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
