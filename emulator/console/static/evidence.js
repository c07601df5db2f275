// HealthScribe details: a clinical note sentence shows the transcript segments its
// EvidenceLinks name (data-evidence: SegmentIds, space-separated). Hovering highlights them
// while the pointer (or the keyboard focus) is there; a click (or Enter) keeps them
// highlighted and scrolls to the first.
(function () {
  "use strict";
  const sentences = document.querySelectorAll(".note-sentence[data-evidence]");
  if (!sentences.length) return;
  const segmentsOf = (sentence) => sentence.dataset.evidence.split(" ").filter(Boolean)
    .map((id) => document.querySelector(`[data-segment="${CSS.escape(id)}"]`)).filter(Boolean);
  const mark = (className, sentence) => {
    document.querySelectorAll("." + className).forEach((el) => el.classList.remove(className));
    if (sentence) segmentsOf(sentence).forEach((el) => el.classList.add(className));
  };
  sentences.forEach((sentence) => {
    sentence.addEventListener("mouseenter", () => mark("evidence-hover", sentence));
    sentence.addEventListener("mouseleave", () => mark("evidence-hover", null));
    sentence.addEventListener("focus", () => mark("evidence-hover", sentence));  // keyboard users see it too
    sentence.addEventListener("blur", () => mark("evidence-hover", null));
    sentence.addEventListener("click", () => {
      sentences.forEach((s) => s.setAttribute("aria-pressed", String(s === sentence)));
      mark("evidence", sentence);
      const first = segmentsOf(sentence)[0];
      if (first) first.scrollIntoView({ block: "nearest", behavior: "smooth" });
    });
  });
})();
