// Attachments in the thread: image previews that open an in-app viewer (zoom, ←/→ through the
// thread's images, Save, Esc), inline players for audio and voice notes (seek, duration, 1×/1.5×/2×)
// and for video where WebKit's GStreamer can play it, and a file card (an icon by kind, the name, the
// size in local units, Open and Save) for everything else or whatever cannot play. The core downloads
// each file (its size cap, its cache); the page gets the bytes through a command and shows them from
// a blob: URL, so it never loads a remote address (Ogg voice notes decoded to WAV first: see
// oggAsWav). A file that cannot download (over the cap, offline) keeps its card, with a plain line
// saying why. File names are set with textContent only.

import { invoke } from "./ipc.js";
import { element, size } from "./dom.js";
import { plainError } from "./errors.js";
import { language, t } from "./i18n.js";

/** What a MIME type says about how to show a file. */
const KIND_BY_MIME = [
  [/^image\/(png|jpeg|gif|webp)$/, "image"],
  [/^audio\//, "audio"],
  [/^video\/(mp4|webm|ogg|quicktime|x-m4v)$/, "video"],
];
/** The same by file extension (servers often send application/octet-stream), with the blob type. */
const BY_EXTENSION = {
  png: ["image", "image/png"], jpg: ["image", "image/jpeg"], jpeg: ["image", "image/jpeg"],
  gif: ["image", "image/gif"], webp: ["image", "image/webp"],
  ogg: ["audio", "audio/ogg"], oga: ["audio", "audio/ogg"], opus: ["audio", "audio/ogg"],
  mp3: ["audio", "audio/mpeg"], m4a: ["audio", "audio/mp4"], aac: ["audio", "audio/aac"],
  wav: ["audio", "audio/wav"], mp4: ["video", "video/mp4"], m4v: ["video", "video/mp4"],
  webm: ["video", "video/webm"], mov: ["video", "video/quicktime"],
};
/** The card's icon by what the file is. */
const ICONS = {
  image: "🖼️", audio: "🎵", video: "🎬", pdf: "📕", archive: "🗜️", sheet: "📊", text: "📄", file: "📎",
};
const DOCUMENT_EXTENSIONS = {
  pdf: "pdf", zip: "archive", rar: "archive", "7z": "archive", gz: "archive", tar: "archive",
  xls: "sheet", xlsx: "sheet", csv: "sheet", ods: "sheet",
  txt: "text", log: "text", md: "text", doc: "text", docx: "text", odt: "text", rtf: "text",
};
/** Playback speeds the players cycle through. */
const SPEEDS = [1, 1.5, 2];
/** Zoom steps of the image viewer. */
const ZOOM_STEP = 1.25;
const ZOOM_MIN = 0.25;
const ZOOM_MAX = 8;

const $ = (id) => document.getElementById(id);

const media = {
  /** Blob URLs by attachment key (`where` as JSON), revoked when the thread changes. */
  urls: new Map(),
  /** Bumped when the thread changes, so late downloads are dropped. */
  generation: 0,
  /** The thread's images, in order: `{ where, name }`, and the one the viewer shows. */
  images: [],
  shown: -1,
  zoom: 1,
  /** The image's width when fitted (zoom 1), the base the other zoom steps scale. */
  fitWidth: 0,
  onError: () => {},
};

const loader = new IntersectionObserver(loadVisible, { root: null, rootMargin: "300px" });

/** Wires the image viewer; `onError` shows a failed Open or Save. */
export function initMedia(onError) {
  media.onError = onError;
  $("viewer-close").addEventListener("click", () => $("viewer").close());
  $("viewer-previous").addEventListener("click", () => showImage(media.shown - 1));
  $("viewer-next").addEventListener("click", () => showImage(media.shown + 1));
  $("viewer-zoom-in").addEventListener("click", () => setZoom(media.zoom * ZOOM_STEP));
  $("viewer-zoom-out").addEventListener("click", () => setZoom(media.zoom / ZOOM_STEP));
  $("viewer-fit").addEventListener("click", () => setZoom(1));
  $("viewer-save").addEventListener("click", () => {
    const image = media.images[media.shown];
    if (image) invoke("attachments_save", image.where).catch(media.onError);
  });
  // On the document: wherever the focus is while the viewer is open, its keys are the viewer's.
  document.addEventListener("keydown", (event) => {
    if ($("viewer").open) onViewerKey(event);
  });
  $("viewer-stage").addEventListener("wheel", (event) => {
    event.preventDefault();
    setZoom(event.deltaY < 0 ? media.zoom * ZOOM_STEP : media.zoom / ZOOM_STEP);
  }, { passive: false });
}

/** Forgets the previous thread's downloads (their blob URLs are revoked). */
export function forgetMedia() {
  media.generation += 1;
  loader.disconnect();
  for (const url of media.urls.values()) URL.revokeObjectURL(url);
  media.urls.clear();
  media.images = [];
}

/**
 * Notes the thread's images in order, for the viewer's ←/→; `attachments` are `{ where, name }`
 * of every image attachment of the shown messages, oldest first.
 */
export function setThreadImages(attachments) {
  media.images = attachments;
}

/** How a file is shown: `image`, `audio`, `video` or `file`, and the type its blob gets. */
export function kindOf(attachment) {
  const mime = (attachment.mime ?? "").toLowerCase().split(";")[0].trim();
  const byExtension = BY_EXTENSION[extensionOf(attachment.name)];
  for (const [pattern, kind] of KIND_BY_MIME) {
    if (pattern.test(mime)) return { kind, type: mime };
  }
  return byExtension ? { kind: byExtension[0], type: byExtension[1] } : { kind: "file", type: "" };
}

function extensionOf(name) {
  const match = /\.([a-z0-9]{1,5})$/i.exec(name ?? "");
  return match ? match[1].toLowerCase() : "";
}

function iconOf(attachment, kind) {
  if (kind !== "file") return ICONS[kind];
  return ICONS[DOCUMENT_EXTENSIONS[extensionOf(attachment.name)] ?? "file"];
}

/**
 * The attachment as it shows in a message. `where` (`{ account, id, messageId, position }`) is
 * null while the message is only in the outbox: then it is a card without buttons.
 */
export function renderAttachment(attachment, where) {
  const { kind, type } = kindOf(attachment);
  const box = element("div", `message__file message__file--${kind}`);
  box.append(fileLine(attachment, kind));
  if (!where) return box;
  box.append(fileButton(t("message.open"), "attachments_open", where, box), fileButton(t("message.save"), "attachments_save", where, box));
  if (kind === "image") box.append(imagePreview(attachment, where));
  if (kind === "audio" || kind === "video") box.append(player(kind, type, where, box));
  return box;
}

/** Icon, name and size: no MIME type, no path. */
function fileLine(attachment, kind) {
  const line = element("span", "message__file-name");
  const icon = element("span", "message__file-icon", iconOf(attachment, kind));
  icon.setAttribute("aria-hidden", "true");
  const name = element("span", "", attachment.name ?? t("message.file"));
  name.dir = "auto";
  line.append(icon, name);
  const bytes = size(attachment.size);
  if (bytes) line.append(element("span", "message__file-size", bytes));
  return line;
}

function fileButton(label, command, where, box) {
  const button = element("button", "message__file-action secondary", label);
  button.type = "button";
  button.addEventListener("click", () => invoke(command, where).catch((error) => {
    media.onError(error);
    // Over the download cap it stays so: the card says it too, where the agent looks.
    if (error?.code === "too_large") noteFailure(box, error);
  }));
  return button;
}

/** A download failed: the card keeps its name, size and buttons, with a plain line saying why. */
function noteFailure(box, error) {
  let note = box.querySelector(".message__file-error");
  if (!note) {
    note = element("p", "hint message__file-error");
    note.setAttribute("role", "status");
    box.append(note);
  }
  note.textContent = plainError(error);
}

function imagePreview(attachment, where) {
  const image = element("img", "message__preview");
  image.alt = attachment.name ?? "";
  image.dataset.where = JSON.stringify(where);
  image.dataset.command = "attachments_preview";
  image.tabIndex = 0;
  image.title = t("viewer.open");
  const known = media.urls.get(image.dataset.where);
  if (known) image.src = known;
  else loader.observe(image);
  const open = () => openViewer(image.dataset.where);
  image.addEventListener("click", open);
  image.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open();
    }
  });
  return image;
}

/**
 * An inline player: play/pause, a seek bar, the position and duration, and a 1×/1.5×/2× button.
 * Audio has our own controls (the same look on every platform); video keeps the native ones too.
 */
function player(kind, type, where, box) {
  const wrap = element("div", `message__player message__player--${kind}`);
  const playing = element(kind, "message__media");
  playing.preload = "metadata";
  playing.controls = kind === "video";
  playing.dataset.where = JSON.stringify(where);
  playing.dataset.command = "attachments_media";
  playing.dataset.type = type;
  const toggle = element("button", "message__play secondary", "▶");
  toggle.type = "button";
  toggle.setAttribute("aria-label", t("media.play"));
  toggle.addEventListener("click", () => {
    if (playing.paused) playing.play().catch(() => cannotPlay(wrap, box));
    else playing.pause();
  });
  const seek = element("input", "message__seek");
  seek.type = "range";
  seek.min = "0";
  seek.step = "0.1";
  seek.value = "0";
  seek.setAttribute("aria-label", t("media.seek"));
  seek.addEventListener("input", () => {
    playing.currentTime = Number(seek.value);
  });
  const time = element("span", "message__time", "");
  const duration = element("span", "message__duration", "");
  const speed = speedButton(playing);
  const showDuration = () => {
    const known = Number.isFinite(playing.duration) && playing.duration > 0;
    duration.textContent = known ? clock(playing.duration) : "";
    seek.max = known ? String(playing.duration) : "0";
  };
  playing.addEventListener("loadedmetadata", () => {
    showDuration();
    time.textContent = clock(0);
  });
  // WebKit learns some lengths after the metadata (an MP3's, from its size and bitrate), at times
  // without a durationchange: the bar and the label follow whichever event comes.
  for (const event of ["durationchange", "loadeddata", "canplay", "progress"]) {
    playing.addEventListener(event, showDuration);
  }
  playing.addEventListener("timeupdate", () => {
    seek.value = String(playing.currentTime);
    time.textContent = clock(playing.currentTime);
  });
  const showState = () => {
    toggle.textContent = playing.paused ? "▶" : "❚❚";
    toggle.setAttribute("aria-label", playing.paused ? t("media.play") : t("media.pause"));
  };
  playing.addEventListener("play", showState);
  playing.addEventListener("pause", showState);
  playing.addEventListener("ended", showState);
  playing.addEventListener("error", () => cannotPlay(wrap, box));
  if (kind === "audio") wrap.append(playing, toggle, seek, time, element("span", "message__time-of", "/"), duration, speed);
  else wrap.append(playing, duration, speed);
  const known = media.urls.get(playing.dataset.where);
  if (known) playing.src = known;
  // The wrap is watched, not the player: a hidden <audio> never scrolls into view.
  else loader.observe(wrap);
  return wrap;
}

/** The 1× → 1.5× → 2× button of a player. */
function speedButton(playing) {
  const speed = element("button", "message__speed secondary", "1×");
  speed.type = "button";
  speed.setAttribute("aria-label", t("media.speed", { speed: "1×" }));
  speed.addEventListener("click", () => {
    const next = SPEEDS[(SPEEDS.indexOf(playing.playbackRate) + 1) % SPEEDS.length] ?? 1;
    playing.playbackRate = next;
    playing.defaultPlaybackRate = next;
    speed.textContent = `${next}×`;
    speed.setAttribute("aria-label", t("media.speed", { speed: `${next}×` }));
  });
  return speed;
}

/** WebKit could not play it (no decoder, a broken file): the file card stays, with a plain line. */
function cannotPlay(wrap, box) {
  wrap.remove();
  if (!box.querySelector(".message__cannot-play")) {
    box.append(element("p", "hint message__cannot-play", t("media.cannotPlay")));
  }
}

/** m:ss (h:mm:ss from an hour). */
function clock(seconds) {
  const whole = Math.floor(seconds);
  const parts = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const [hours, minutes, rest] = parts;
  const two = (n) => String(n).padStart(2, "0");
  return hours > 0 ? `${hours}:${two(minutes)}:${two(rest)}` : `${minutes}:${two(rest)}`;
}

/** Downloads (once) what scrolled near the view: previews and players. */
function loadVisible(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    loader.unobserve(entry.target);
    const node = entry.target.querySelector(".message__media") ?? entry.target;
    const box = entry.target.closest(".message__file");
    load(node.dataset.where, node.dataset.command, node.dataset.type)
      .then((url) => {
        if (url) node.src = url;
      })
      .catch((error) => {
        // invalid_input: the app would not preview or play this file here (too large to show
        // inline, not an image): the card's Open is the way. Anything else kept the file from
        // downloading at all (over the cap, offline, gone from the server): the card says why.
        const refusedHere = error?.code === "invalid_input";
        if (node instanceof HTMLImageElement) node.remove();
        else if (refusedHere) node.dispatchEvent(new Event("error"));
        else entry.target.remove();
        if (!refusedHere && box) noteFailure(box, error);
      });
  }
}

/** The blob URL of an attachment's bytes, downloaded through the core once per thread. */
async function load(key, command, type = "") {
  const known = media.urls.get(key);
  if (known) return known;
  const generation = media.generation;
  let bytes = await invoke(command, JSON.parse(key));
  if (generation !== media.generation) return null;
  if (type === "audio/ogg" || type === "audio/opus") {
    const wav = await oggAsWav(bytes);
    if (generation !== media.generation) return null;
    if (wav) [bytes, type] = [wav, "audio/wav"];
  }
  const url = URL.createObjectURL(new Blob([bytes], type ? { type } : {}));
  media.urls.set(key, url);
  return url;
}

/** The largest Ogg file played as decoded PCM (about 8 minutes of a 32 kbit/s voice note). */
const OGG_AS_WAV_MAX_BYTES = 2 * 1024 * 1024;
/** The rate it is decoded at: plenty for speech, a quarter of 48 kHz float's memory. */
const OGG_AS_WAV_RATE = 24000;

/**
 * An Ogg file (a voice note: Opus or Vorbis) decoded to 16-bit PCM WAV, or null to play it as it
 * is (too large, or no Web Audio). WebKitGTK's GStreamer reads a blob: URL in push mode, where
 * oggdemux finds no length (the player says 0:00) and every seek lands at 0; WAV has neither
 * problem. Web Audio's decoder reads the whole file, so the length is exact.
 */
async function oggAsWav(bytes) {
  const Offline = window.OfflineAudioContext ?? window.webkitOfflineAudioContext;
  if (!Offline || !(bytes?.byteLength > 0) || bytes.byteLength > OGG_AS_WAV_MAX_BYTES) return null;
  try {
    const context = new Offline(1, 1, OGG_AS_WAV_RATE);
    // decodeAudioData takes the buffer over: give it a copy, so the original stays usable.
    const decoded = await context.decodeAudioData(bytes.slice(0));
    return wavOf(decoded);
  } catch {
    return null;
  }
}

/** An AudioBuffer as a WAV file (RIFF, 16-bit PCM, its channels interleaved; at most two). */
function wavOf(audio) {
  const channels = Math.min(audio.numberOfChannels, 2);
  const frames = audio.length;
  const dataBytes = frames * channels * 2;
  const out = new DataView(new ArrayBuffer(44 + dataBytes));
  const text = (at, value) => [...value].forEach((c, i) => out.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  out.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVEfmt ");
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true);
  out.setUint16(22, channels, true);
  out.setUint32(24, audio.sampleRate, true);
  out.setUint32(28, audio.sampleRate * channels * 2, true);
  out.setUint16(32, channels * 2, true);
  out.setUint16(34, 16, true);
  text(36, "data");
  out.setUint32(40, dataBytes, true);
  const data = Array.from({ length: channels }, (_, c) => audio.getChannelData(c));
  let at = 44;
  for (let frame = 0; frame < frames; frame += 1) {
    for (let c = 0; c < channels; c += 1) {
      const sample = Math.max(-1, Math.min(1, data[c][frame]));
      out.setInt16(at, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
      at += 2;
    }
  }
  return out.buffer;
}

/** Opens the viewer on the image whose `where` is `key`. */
function openViewer(key) {
  const index = media.images.findIndex((image) => JSON.stringify(image.where) === key);
  if (index < 0) return;
  $("viewer").showModal();
  showImage(index);
  // showModal focused the first button, which showImage may just have disabled (← on the first
  // image), leaving the focus nowhere: the image's stage takes it, where the keys act.
  $("viewer-stage").focus();
}

function showImage(index) {
  if (index < 0 || index >= media.images.length) return;
  media.shown = index;
  const image = media.images[index];
  const shown = $("viewer-image");
  shown.alt = image.name ?? "";
  shown.removeAttribute("src");
  media.fitWidth = 0;
  media.zoom = 1;
  $("viewer-title").textContent = image.name ?? t("message.file");
  $("viewer-position").textContent = t("viewer.position", { n: index + 1, total: media.images.length });
  $("viewer-previous").disabled = index === 0;
  $("viewer-next").disabled = index === media.images.length - 1;
  setZoom(1);
  load(JSON.stringify(image.where), "attachments_preview")
    .then((url) => {
      if (url && media.shown === index) shown.src = url;
    })
    .catch(media.onError);
}

/** Zooms the viewer's image: 1 fits it in the window; above that it grows and the stage scrolls. */
function setZoom(zoom) {
  const image = $("viewer-image");
  if (media.zoom === 1 && image.complete && image.naturalWidth > 0) {
    media.fitWidth = image.getBoundingClientRect().width || media.fitWidth;
  }
  media.zoom = Math.min(Math.max(zoom, ZOOM_MIN), ZOOM_MAX);
  const fitted = media.zoom === 1;
  image.classList.toggle("viewer__image--zoomed", !fitted);
  image.style.width = fitted ? "" : `${Math.round((media.fitWidth || image.naturalWidth || 1) * media.zoom)}px`;
  $("viewer-zoom").textContent = new Intl.NumberFormat(language(), { style: "percent" }).format(media.zoom);
}

/** ←/→ through the thread's images, + and − zoom, 0 fits; Esc closes (the dialog's own). */
function onViewerKey(event) {
  const keys = {
    ArrowLeft: () => showImage(media.shown - 1),
    ArrowRight: () => showImage(media.shown + 1),
    "+": () => setZoom(media.zoom * ZOOM_STEP),
    "=": () => setZoom(media.zoom * ZOOM_STEP),
    "-": () => setZoom(media.zoom / ZOOM_STEP),
    0: () => setZoom(1),
  };
  const action = keys[event.key];
  if (!action) return;
  event.preventDefault();
  action();
}
