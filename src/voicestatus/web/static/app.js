// voicestatus UI: progressive enhancement only; every page works without it
// except uploading and recording, which need the browser's file and media APIs.
"use strict";

function localTimes() {
  document.querySelectorAll("time[datetime]").forEach((el) => {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      el.title = el.textContent;
      el.textContent = d.toLocaleString(document.documentElement.lang, {
        year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      });
    }
  });
}

function confirmDeletes() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (e.submitter && e.submitter.value === "delete" && !window.confirm(form.dataset.confirm)) {
        e.preventDefault();
      }
    });
  });
}

function expiryOffsets() {
  document.querySelectorAll("input[data-tz-offset]").forEach((field) => {
    field.form.addEventListener("submit", () => {
      const local = field.form.querySelector("input[type=datetime-local]");
      const when = local && local.value ? new Date(local.value) : new Date();
      field.value = String(when.getTimezoneOffset());
    });
  });
}

function openExtension() {
  const form = document.querySelector("form[data-open-extension]");
  if (!form) return;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = form.querySelector("input");
    const ext = input.value.trim();
    // The input's pattern is the server's extension rule (services/extensions.py).
    if (new RegExp("^(?:" + input.pattern + ")$").test(ext)) window.location.href = "/operators/" + ext;
  });
}

class Uploader {
  constructor(root) {
    this.root = root;
    this.url = root.dataset.uploadUrl;
    this.csrf = root.dataset.csrf;
    this.maxBytes = Number(root.dataset.maxBytes);
    this.errors = JSON.parse(root.dataset.errors || "{}");
    this.q = (sel) => root.querySelector(sel);
    this.progress = this.q("[data-progress]");
    this.status = this.q("[data-status-text]");
    this.blob = null;
    this.q("[data-upload]").addEventListener("click", () => this.uploadFile());
    this.q("[data-record]").addEventListener("click", () => this.startRecording());
    this.q("[data-stop]").addEventListener("click", () => this.stopRecording());
    this.q("[data-save]").addEventListener("click", () => this.blob && this.send(this.blob, "recording.webm"));
    this.q("[data-discard]").addEventListener("click", () => this.discard());
  }

  say(text, kind) {
    this.status.textContent = text;
    this.status.className = "upload-status" + (kind ? " " + kind : "");
  }

  uploadFile() {
    const input = this.q("[data-file]");
    const file = input.files && input.files[0];
    if (!file) { input.focus(); return; }
    if (file.size > this.maxBytes) { this.say(this.root.dataset.tTooLarge, "error"); return; }
    this.send(file, file.name);
  }

  send(blob, name) {
    const form = new FormData();
    form.append("file", blob, name);
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", this.url);
    xhr.setRequestHeader("X-CSRF-Token", this.csrf);
    xhr.setRequestHeader("Accept", "application/json");
    this.progress.hidden = false;
    this.progress.value = 0;
    this.setBusy(true);
    this.say(this.root.dataset.tUploading);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) this.progress.value = Math.round((100 * e.loaded) / e.total);
    });
    xhr.upload.addEventListener("load", () => { this.progress.value = 100; this.say(this.root.dataset.tProcessing); });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        window.location.href = window.location.pathname + "?done=upload";
        return;
      }
      let message = this.root.dataset.tFailed + " (HTTP " + xhr.status + ")";
      try {
        const body = JSON.parse(xhr.responseText);
        message = (this.errors[body.error_id] || this.root.dataset.tFailed) + " " + (body.message || "");
      } catch (err) { /* not JSON: keep the generic text */ }
      this.fail(message.trim());
    });
    xhr.addEventListener("error", () => this.fail(this.root.dataset.tFailed));
    xhr.send(form);
  }

  fail(message) {
    this.progress.hidden = true;
    this.setBusy(false);
    this.say(message, "error");
  }

  setBusy(busy) {
    this.root.querySelectorAll("button").forEach((b) => { b.disabled = busy; });
  }

  async startRecording() {
    if (!navigator.mediaDevices || !window.MediaRecorder) { this.say(this.root.dataset.tMic, "error"); return; }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      this.say(this.root.dataset.tMic, "error");
      return;
    }
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find(
      (t) => MediaRecorder.isTypeSupported(t)) || "";
    this.chunks = [];
    this.recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    this.recorder.addEventListener("dataavailable", (e) => { if (e.data.size) this.chunks.push(e.data); });
    this.recorder.addEventListener("stop", () => {
      stream.getTracks().forEach((t) => t.stop());
      this.blob = new Blob(this.chunks, { type: this.recorder.mimeType || "audio/webm" });
      const audio = this.q("[data-review-audio]");
      if (audio.src) URL.revokeObjectURL(audio.src);
      audio.src = URL.createObjectURL(this.blob);
      // MediaRecorder's WebM carries no duration, so the player alone would show 0:00.
      this.q("[data-review-length]").textContent = clock(this.stopped - this.started);
      this.q("[data-review]").hidden = false;
      this.say("");
    });
    this.recorder.start(250);
    this.started = Date.now();
    this.q("[data-record]").hidden = true;
    this.q("[data-stop]").hidden = false;
    this.root.classList.add("recording");
    this.say(this.root.dataset.tRecording);
    const time = this.q("[data-rec-time]");
    this.timer = setInterval(() => { time.textContent = clock(Date.now() - this.started); }, 250);
  }

  stopRecording() {
    clearInterval(this.timer);
    this.stopped = Date.now();
    this.q("[data-rec-time]").textContent = "";
    this.root.classList.remove("recording");
    this.q("[data-record]").hidden = false;
    this.q("[data-stop]").hidden = true;
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
  }

  discard() {
    this.blob = null;
    const audio = this.q("[data-review-audio]");
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.removeAttribute("src");
    this.q("[data-review]").hidden = true;
  }
}

function clock(ms) {
  const s = Math.floor(ms / 1000);
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes();
  confirmDeletes();
  expiryOffsets();
  openExtension();
  document.querySelectorAll("[data-upload-url]").forEach((root) => new Uploader(root));
});
