// Real-time transcription page: microphone -> 16 kHz PCM -> AudioEvent frames over the
// emulator's presigned WebSocket; TranscriptEvent / UtteranceEvent / CategoryEvent frames back
// into #transcript (partials light, replaced by finals). Protocol: AWS's "Setting up a WebSocket
// stream" (docs.aws.amazon.com/transcribe/latest/dg/streaming-websocket.html) and the Call
// Analytics streaming API reference (ConfigurationEvent first, UtteranceEvent / CategoryEvent).
(function () {
  "use strict";
  const form = document.getElementById("realtime-form");
  if (!form || !window.EventStream) return;
  const ES = window.EventStream;
  const $ = (id) => document.getElementById(id);
  const startButton = $("start"), stopButton = $("stop"), downloadButton = $("download");
  const statusLine = $("stream-status"), errorBox = $("stream-error");
  const transcriptBox = $("transcript"), categoriesBox = $("categories");
  const TARGET_RATE = Number(form.dataset.sampleRate) || 16000;
  const CHUNK_SAMPLES = TARGET_RATE / 10; // 100 ms of audio a frame
  const FINISH_TIMEOUT_MS = 180000; // after Stop: how long the server may take to send its last results
  const AUDIO_HEADERS = { ":message-type": "event", ":event-type": "AudioEvent", ":content-type": "application/octet-stream" };

  let session = null; // the stream in progress or last finished

  function setStatus(state, text) {
    // The settings are the stream's: fixed from Start until the stream has ended.
    const locked = state !== "idle" && state !== "done";
    form.querySelectorAll("input, select").forEach((el) => { el.disabled = locked; });
    statusLine.dataset.state = state;
    statusLine.textContent = text;
  }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.classList.toggle("hidden", !text);
  }

  // --- settings -> the stream's query parameters (AWS short names) -------------------------

  const value = (name) => {
    const el = form.elements.namedItem(name);
    if (!el) return "";
    if (el instanceof RadioNodeList) return el.value;
    if (el.type === "checkbox") return el.checked ? el.value : "";
    return el.value;
  };
  const checkedValues = (name) => [...form.querySelectorAll(`[name="${name}"]:checked`)].map((el) => el.value);
  const selectedValues = (name) => [...form.elements.namedItem(name).selectedOptions].map((o) => o.value);

  function streamSettings(mode) {
    const s = {};
    if (mode === "medical") {
      s["language-code"] = value("medical-language-code");
      s.specialty = value("specialty");
      s.type = value("type");
      s["vocabulary-name"] = value("medical-vocabulary-name");
      s["show-speaker-label"] = value("show-speaker-label");
      s["content-identification-type"] = value("phi");
    } else {
      if (value("language_mode") === "identify") {
        s["identify-language"] = "true";
        s["language-options"] = selectedValues("language-options").join(",");
        s["preferred-language"] = value("preferred-language");
      } else {
        s["language-code"] = value("language-code");
      }
      if (mode === "standard") s["show-speaker-label"] = value("show-speaker-label");
      s["enable-partial-results-stabilization"] = value("enable-partial-results-stabilization");
      if (s["enable-partial-results-stabilization"]) s["partial-results-stability"] = value("partial-results-stability");
      s["vocabulary-name"] = value("vocabulary-name");
      s["vocabulary-filter-name"] = value("vocabulary-filter-name");
      if (s["vocabulary-filter-name"]) s["vocabulary-filter-method"] = value("vocabulary-filter-method");
      s["language-model-name"] = value("language-model-name");
      const pii = value("pii");
      if (pii === "identification") s["content-identification-type"] = "PII";
      if (pii === "redaction") s["content-redaction-type"] = "PII";
      if (pii) s["pii-entity-types"] = checkedValues("pii-entity-types").join(",");
    }
    s["session-id"] = crypto.randomUUID();
    for (const k of Object.keys(s)) if (!s[k]) delete s[k];
    return s;
  }

  async function presign(mode, settings) {
    const r = await fetch(form.dataset.presign, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": document.body.dataset.csrf || "" },
      body: JSON.stringify({ mode, settings }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error || `The presign request failed (HTTP ${r.status}).`);
    return body.url;
  }

  // --- microphone -> PCM chunks ----------------------------------------------------------------

  async function openMicrophone(onChunk) {
    if (!navigator.mediaDevices || !window.AudioWorkletNode) {
      // getUserMedia exists only on secure pages: loopback over http, or https.
      throw new Error("This browser offers no microphone to this page: open the console at http://127.0.0.1 or " +
        "http://localhost, or over https on the TLS port with the emulator's local CA trusted (README, Streaming).");
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    const context = new AudioContext();
    await context.audioWorklet.addModule(form.dataset.worklet);
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-16k", {
      processorOptions: { targetRate: TARGET_RATE, chunkSamples: CHUNK_SAMPLES },
    });
    node.port.onmessage = (event) => onChunk(new Int16Array(event.data));
    const mute = context.createGain(); // a node must reach the destination to be processed
    mute.gain.value = 0;
    source.connect(node).connect(mute).connect(context.destination);
    if (context.state === "suspended") await context.resume();
    return {
      rate: context.sampleRate,
      async close() {
        node.port.postMessage("flush");
        await new Promise((resolve) => setTimeout(resolve, 50)); // let the flushed chunk arrive
        node.port.onmessage = null;
        source.disconnect();
        node.disconnect();
        stream.getTracks().forEach((t) => t.stop());
        await context.close();
      },
    };
  }

  // s16le bytes; with `channels` 2 the samples go to channel 0 and channel 1 is silence.
  function toLittleEndian(samples, channels) {
    const out = new Uint8Array(samples.length * 2 * channels);
    const view = new DataView(out.buffer);
    samples.forEach((v, i) => view.setInt16(i * 2 * channels, v, true));
    return out;
  }

  // --- results ---------------------------------------------------------------------------------

  class Transcript {
    constructor(mode, settings) {
      this.mode = mode;
      this.settings = settings;
      this.entries = new Map(); // ResultId / UtteranceId -> latest result
      this.finals = []; // final results / utterances as the service sent them
      this.categories = [];
      this.startedAt = new Date().toISOString();
    }

    // A TranscriptEvent's results (standard, medical).
    addResults(results) {
      for (const r of results || []) {
        const alt = (r.Alternatives || [])[0] || {};
        const speaker = (alt.Items || []).map((i) => i.Speaker).find((s) => s !== undefined);
        this.put(r.ResultId, r, alt.Transcript || "", !!r.IsPartial, speaker !== undefined ? `Speaker ${speaker}` : "", alt.Entities);
      }
    }

    // A Call Analytics UtteranceEvent.
    addUtterance(u) {
      const role = u.ParticipantRole ? u.ParticipantRole.charAt(0) + u.ParticipantRole.slice(1).toLowerCase() : "";
      const sentiment = !u.IsPartial && u.Sentiment ? ` (${u.Sentiment.toLowerCase()})` : "";
      this.put(u.UtteranceId, u, u.Transcript || "", !!u.IsPartial, role + sentiment, u.Entities);
    }

    addCategories(event) {
      this.categories.push(event);
      const names = new Set(this.categories.flatMap((e) => e.MatchedCategories || []));
      categoriesBox.textContent = "Categories matched: " + [...names].join(", ");
      categoriesBox.classList.toggle("hidden", names.size === 0);
    }

    put(id, raw, text, partial, label, entities) {
      const key = id || `anon-${this.entries.size}`;
      let entry = this.entries.get(key);
      if (!entry) {
        entry = { element: document.createElement("p") };
        this.entries.set(key, entry);
        transcriptBox.appendChild(entry.element);
      }
      Object.assign(entry, { raw, text, partial });
      if (!partial) this.finals.push(raw);
      const el = entry.element;
      el.className = "segment " + (partial ? "partial" : "final");
      el.dataset.resultId = key;
      el.dataset.text = text;
      el.textContent = "";
      if (label) {
        const who = document.createElement("span");
        who.className = "speaker";
        who.textContent = label + ": ";
        el.appendChild(who);
      }
      appendMarked(el, text, entities || []);
      transcriptBox.scrollTop = transcriptBox.scrollHeight;
    }

    finalText() {
      return [...this.entries.values()].filter((e) => !e.partial).map((e) => e.text).join(" ");
    }

    // The download: what was asked, the final text and the final results as AWS sent them.
    toJSON() {
      const doc = {
        Mode: this.mode,
        SessionId: this.settings["session-id"],
        StartTime: this.startedAt,
        Settings: this.settings,
        Transcript: this.finalText(),
      };
      if (this.mode === "call-analytics") {
        doc.UtteranceEvents = this.finals;
        doc.CategoryEvents = this.categories;
      } else {
        doc.Results = this.finals;
      }
      return doc;
    }
  }

  // The text with each identified entity (PII, PHI) in a <mark> titled with its type.
  function appendMarked(el, text, entities) {
    let from = 0;
    for (const entity of entities) {
      const at = entity.Content ? text.indexOf(entity.Content, from) : -1;
      if (at < 0) continue;
      el.appendChild(document.createTextNode(text.slice(from, at)));
      const mark = document.createElement("mark");
      mark.className = "entity";
      mark.title = [entity.Category, entity.Type].filter(Boolean).join(": ");
      mark.textContent = entity.Content;
      el.appendChild(mark);
      from = at + entity.Content.length;
    }
    el.appendChild(document.createTextNode(text.slice(from)));
  }

  function onMessage(message) {
    const h = message.headers;
    const body = message.payload.length ? JSON.parse(new TextDecoder().decode(message.payload)) : {};
    if (h[":message-type"] === "exception") {
      showError(`${h[":exception-type"] || "Error"}: ${body.Message || body.message || ""}`);
      return;
    }
    switch (h[":event-type"]) {
      case "TranscriptEvent": session.transcript.addResults((body.Transcript || {}).Results); break;
      case "UtteranceEvent": session.transcript.addUtterance(body); break;
      case "CategoryEvent": session.transcript.addCategories(body); break;
      default: break; // events this page does not show
    }
  }

  // --- start / stop ----------------------------------------------------------------------------

  // Call Analytics defines two channels (ConfigurationEvent.ChannelDefinitions has exactly two),
  // so its audio is stereo: the microphone on channel 0, silence on channel 1.
  const channelsOf = (mode) => (mode === "call-analytics" ? 2 : 1);

  // Audio captured before the socket opens waits in `pending` (the first words are not lost).
  function sendAudio(samples) {
    const current = session;
    if (!current || current.ended) return;
    const frame = ES.encode(AUDIO_HEADERS, toLittleEndian(samples, channelsOf(current.mode)));
    if (current.socket && current.socket.readyState === WebSocket.OPEN && current.pending === null) current.socket.send(frame);
    else if (current.pending !== null) current.pending.push(frame);
  }

  async function start() {
    const mode = value("mode");
    const settings = streamSettings(mode);
    showError("");
    transcriptBox.textContent = "";
    categoriesBox.textContent = "";
    categoriesBox.classList.add("hidden");
    startButton.disabled = true;
    downloadButton.disabled = true;
    setStatus("connecting", "Opening the microphone…");
    const current = { mode, transcript: new Transcript(mode, settings), ended: false, socket: null, microphone: null, pending: [] };
    session = current;
    try {
      current.microphone = await openMicrophone(sendAudio);
      setStatus("connecting", "Connecting…");
      const url = await presign(mode, settings);
      current.socket = await connect(url, current);
    } catch (error) {
      if (current.microphone) await current.microphone.close();
      showError(error.message || String(error));
      setStatus("idle", "Not streaming.");
      startButton.disabled = false;
      return;
    }
    if (current.ended) return; // refused at once (an exception frame, then the close)
    if (mode === "call-analytics") {
      const own = value("channel-role");
      const other = own === "AGENT" ? "CUSTOMER" : "AGENT";
      const configuration = { ChannelDefinitions: [{ ChannelId: 0, ParticipantRole: own }, { ChannelId: 1, ParticipantRole: other }] };
      current.socket.send(ES.encode(
        { ":message-type": "event", ":event-type": "ConfigurationEvent", ":content-type": "application/json" },
        new TextEncoder().encode(JSON.stringify(configuration)),
      ));
    }
    current.pending.forEach((frame) => current.socket.send(frame));
    current.pending = null;
    stopButton.disabled = false;
    setStatus("streaming", `Streaming (microphone at ${current.microphone.rate} Hz, sent at ${TARGET_RATE} Hz)… speak now.`);
  }

  function connect(url, current) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      const decoder = new ES.Decoder();
      let opened = false;
      socket.onopen = () => { opened = true; resolve(socket); };
      socket.onmessage = (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        try {
          decoder.push(new Uint8Array(event.data)).forEach(onMessage);
        } catch (error) {
          showError("A message from the server could not be read: " + error.message);
        }
      };
      socket.onerror = () => { if (!opened) reject(new Error("The WebSocket connection was refused (see the server log).")); };
      socket.onclose = (event) => {
        if (!opened) { reject(new Error("The WebSocket connection was refused (see the server log).")); return; }
        // 1000: the server's close after its last results (or after an exception frame, shown already).
        if (event.code !== 1000 && !errorBox.textContent) showError(`The stream was cut off (WebSocket close ${event.code}).`);
        finished(current);
      };
    });
  }

  async function finished(current) {
    current.ended = true;
    clearTimeout(current.finishTimer);
    if (current.microphone) await current.microphone.close().catch(() => {});
    current.microphone = null;
    if (session !== current) return;
    stopButton.disabled = true;
    startButton.disabled = false;
    downloadButton.disabled = current.transcript.finals.length === 0 && current.transcript.categories.length === 0;
    setStatus("done", "Stream ended.");
  }

  async function stop() {
    const current = session;
    if (!current || current.ended) return;
    stopButton.disabled = true;
    setStatus("finishing", "Finishing: waiting for the last results…");
    if (current.microphone) {
      const microphone = current.microphone;
      current.microphone = null;
      await microphone.close(); // sends the last buffered chunk first
    }
    current.ended = true;
    // The end of the audio: an empty AudioEvent. The server sends its last results, then closes.
    if (current.socket.readyState === WebSocket.OPEN) current.socket.send(ES.encode(AUDIO_HEADERS, new Uint8Array(0)));
    current.finishTimer = setTimeout(() => current.socket.close(1000), FINISH_TIMEOUT_MS);
  }

  function download() {
    if (!session) return;
    const blob = new Blob([JSON.stringify(session.transcript.toJSON(), null, 2)], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `realtime-transcript-${session.transcript.settings["session-id"]}.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  downloadButton.addEventListener("click", download);
})();
