// Transcribe emulator console: progressive enhancements only; every page works without them.
(function () {
  "use strict";
  const csrf = () => document.body.dataset.csrf || "";

  // Positions and widths in percent (timeline spans, progress bars): set here, since the
  // pages' Content-Security-Policy allows no inline style attributes.
  document.querySelectorAll("[data-left], [data-width]").forEach((el) => {
    if (el.dataset.left !== undefined) el.style.left = el.dataset.left + "%";
    if (el.dataset.width !== undefined) el.style.width = el.dataset.width + "%";
  });

  // Show or hide parts of a form by the value of another field: data-show-when="name=v1,v2".
  function applyShowWhen(form) {
    form.querySelectorAll("[data-show-when]").forEach((el) => {
      const [name, wanted] = el.dataset.showWhen.split("=");
      const inputs = form.querySelectorAll(`[name="${name}"]`);
      let current = [];
      inputs.forEach((i) => {
        if ((i.type === "radio" || i.type === "checkbox") ? i.checked : true) current.push(i.value);
      });
      const show = wanted.split(",").some((w) => current.includes(w));
      el.classList.toggle("hidden", !show);
    });
  }
  document.querySelectorAll("form").forEach((form) => {
    if (!form.querySelector("[data-show-when]")) return;
    applyShowWhen(form);
    form.addEventListener("change", () => applyShowWhen(form));
  });

  // Confirm before destructive posts.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => { if (!confirm(form.dataset.confirm)) e.preventDefault(); });
  });

  // Live job list: re-fetch the table body every 2 s while a job is queued or running.
  const rows = document.querySelector("[data-live]");
  if (rows) {
    const refresh = async () => {
      try {
        const r = await fetch(rows.dataset.live, { headers: { Accept: "text/html" } });
        if (r.ok) rows.innerHTML = await r.text();
      } catch (e) { /* server restarting: try again */ }
      const running = rows.querySelector('[data-status="IN_PROGRESS"], [data-status="QUEUED"]');
      if (running) setTimeout(refresh, 2000);
    };
    setTimeout(refresh, 2000);
  }

  // Job details: poll the status while it runs (moving the progress bar), reload once it changes.
  const statusPanel = document.querySelector("[data-poll]");
  if (statusPanel) {
    const showProgress = (fraction) => {
      const bar = document.getElementById("job-progress");
      const text = document.getElementById("progress-percent");
      if (typeof fraction !== "number" || !bar) return;
      const percent = Math.floor(fraction * 100);
      bar.setAttribute("aria-valuenow", String(percent));
      bar.firstElementChild.style.width = percent + "%";
      if (text) text.textContent = percent + "%";
    };
    const poll = async () => {
      try {
        const r = await fetch(statusPanel.dataset.poll);
        const body = await r.json();
        if (body.status && body.status !== statusPanel.dataset.status) { location.reload(); return; }
        showProgress(body.progress);
      } catch (e) { /* try again */ }
      setTimeout(poll, 1500);
    };
    setTimeout(poll, 1500);
  }

  // S3 picker: buckets, then keys; choosing one fills the s3:// field.
  const dialog = document.getElementById("s3-picker");
  let pickerTarget = null;
  async function showBuckets() {
    const list = dialog.querySelector("[data-picker-list]");
    dialog.querySelector("[data-picker-path]").textContent = "s3://";
    list.innerHTML = "<li>Loading…</li>";
    const body = await (await fetch(document.body.dataset.base + "/s3/buckets")).json();
    list.innerHTML = "";
    (body.buckets || []).forEach((b) => addItem(list, b + "/", () => showKeys(b)));
    if (!(body.buckets || []).length) list.innerHTML = "<li>No buckets yet: upload a file to create one.</li>";
  }
  async function showKeys(bucket) {
    const list = dialog.querySelector("[data-picker-list]");
    dialog.querySelector("[data-picker-path]").textContent = "s3://" + bucket + "/";
    list.innerHTML = "<li>Loading…</li>";
    const body = await (await fetch(document.body.dataset.base + "/s3/objects?bucket=" + encodeURIComponent(bucket))).json();
    list.innerHTML = "";
    addItem(list, "‹ all buckets", showBuckets);
    (body.keys || []).forEach((k) => addItem(list, k, () => {
      pickerTarget.value = "s3://" + bucket + "/" + k;
      pickerTarget.dispatchEvent(new Event("change", { bubbles: true }));
      dialog.close();
    }));
    if (body.error) addItem(list, body.error, () => {});
  }
  function addItem(list, text, onClick) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button"; b.textContent = text; b.addEventListener("click", onClick);
    li.appendChild(b); list.appendChild(li);
  }
  document.querySelectorAll("[data-s3-browse]").forEach((button) => {
    if (!dialog || !dialog.showModal) { button.hidden = true; return; }
    button.addEventListener("click", () => {
      pickerTarget = document.getElementById(button.dataset.s3Browse);
      dialog.showModal();
      showBuckets().catch((e) => { dialog.querySelector("[data-picker-list]").textContent = String(e); });
    });
  });

  // Upload a local file into a bucket, then fill the s3:// field with its URI.
  document.querySelectorAll("[data-upload-for]").forEach((box) => {
    const target = document.getElementById(box.dataset.uploadFor);
    const status = box.querySelector("[data-upload-status]");
    box.querySelector("[data-upload-button]").addEventListener("click", async () => {
      const file = box.querySelector("[data-upload-file]").files[0];
      status.classList.remove("error");
      if (!file) { status.textContent = "Choose a file first."; status.classList.add("error"); return; }
      const data = new FormData();
      data.append("file", file);
      data.append("bucket", box.querySelector("[data-upload-bucket]").value.trim());
      data.append("key", box.querySelector("[data-upload-key]").value.trim());
      status.textContent = "Uploading " + file.name + "…";
      try {
        const r = await fetch(document.body.dataset.base + "/s3/upload", { method: "POST", body: data, headers: { "X-CSRF-Token": csrf() } });
        const body = (r.headers.get("content-type") || "").includes("json") ? await r.json() : { error: await r.text() };
        if (!r.ok) throw new Error(body.error || r.statusText);
        target.value = body.uri;
        target.dispatchEvent(new Event("change", { bubbles: true }));
        status.textContent = "Uploaded " + body.uri + " (" + body.size + " bytes).";
      } catch (e) {
        status.textContent = "Upload failed: " + e.message;
        status.classList.add("error");
      }
    });
  });

  // Audio player: highlight the word being spoken; click a word, a turn or the timeline to seek.
  const player = document.getElementById("player");
  const words = Array.from(document.querySelectorAll(".w[data-s]"));
  if (player && words.length) {
    const starts = words.map((w) => parseFloat(w.dataset.s));
    const ends = words.map((w) => parseFloat(w.dataset.e));
    const timeline = document.getElementById("timeline");
    const playhead = document.getElementById("playhead");
    const duration = timeline ? parseFloat(timeline.dataset.duration) : 0;
    let current = null;
    const update = () => {
      const t = player.currentTime;
      let lo = 0, hi = starts.length - 1, found = -1;
      while (lo <= hi) { const mid = (lo + hi) >> 1; if (starts[mid] <= t) { found = mid; lo = mid + 1; } else hi = mid - 1; }
      const next = found >= 0 && t <= ends[found] + 0.05 ? words[found] : null;
      if (next !== current) {
        if (current) current.classList.remove("current");
        if (next) { next.classList.add("current"); next.scrollIntoView({ block: "nearest" }); }
        current = next;
      }
      if (playhead && duration) {
        playhead.style.display = "block";
        playhead.style.left = Math.min(100, (100 * t) / Math.max(duration, player.duration || 0)) + "%";
      }
    };
    player.addEventListener("timeupdate", update);
    // timeupdate fires about 4 times a second: follow each frame while playing.
    const follow = () => { update(); if (!player.paused) requestAnimationFrame(follow); };
    player.addEventListener("play", () => requestAnimationFrame(follow));
    player.addEventListener("seeked", update);
    const seek = (t) => { player.currentTime = t; player.play().catch(() => {}); };
    words.forEach((w) => w.addEventListener("click", () => seek(parseFloat(w.dataset.s))));
    document.querySelectorAll("[data-seek]").forEach((el) => el.addEventListener("click", () => seek(parseFloat(el.dataset.seek))));
  }
})();
