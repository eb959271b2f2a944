// The composer: multi-line text (Ctrl+Enter sends), a draft per conversation kept in the core across
// restarts (saved shortly after typing stops), staged files with name, size and a remove button (picked,
// dropped, or pasted with Ctrl+V), links the server fetches itself (Attach link…, http(s) only), a quoted
// message to answer (shown above, with a remove button), saved replies picked after a `/` (replies.js),
// and sending through the outbox (so it also works offline).

import { invoke } from "./ipc.js";
import { clear, element, size } from "./dom.js";
import { t } from "./i18n.js";
import { initReplyPicker, showReplyPicker } from "./replies.js";

/** How much of a quoted message's text the composer shows. */
const QUOTE_CHARS = 80;
/** Wait after the last keystroke before the draft is saved. */
const DRAFT_DELAY_MS = 400;

const $ = (id) => document.getElementById(id);

const composer = {
  conversation: null,
  /** Why files cannot be attached in the open conversation ("" when they can). */
  noFilesReason: "",
  /** Why links cannot be attached in the open conversation ("" when they can). */
  noLinksReason: "",
  /** Staged files (`{ path, name, size }`) and links (`{ url, name }`) per conversation key. */
  staged: new Map(),
  /** The message being answered per conversation key: `{ id, text }`. */
  replies: new Map(),
  draftTimer: 0,
  /** The conversation a pending draft save belongs to. */
  draftFor: null,
  onSent: async () => {},
  onError: () => {},
};

function keyOf(conversation) {
  return `${conversation.account}/${conversation.id}`;
}

function stagedFiles() {
  if (!composer.conversation) return [];
  const key = keyOf(composer.conversation);
  if (!composer.staged.has(key)) composer.staged.set(key, []);
  return composer.staged.get(key);
}

/**
 * Wires the composer. `onSent()` runs after a message is queued (the thread reloads).
 * @param {{ onSent: () => Promise<void>, onError: (e: unknown) => void }} hooks
 */
export function initComposer(hooks) {
  composer.onSent = hooks.onSent;
  composer.onError = hooks.onError;
  $("composer").addEventListener("submit", send);
  const textarea = $("composer-text");
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) send(event);
  });
  textarea.addEventListener("input", scheduleDraftSave);
  textarea.addEventListener("paste", onPaste);
  initReplyPicker(textarea, hooks.onError);
  $("attach").addEventListener("click", pickFiles);
  $("attach-link").addEventListener("click", openLinkInput);
  $("link-add").addEventListener("click", addLink);
  $("link-cancel").addEventListener("click", closeLinkInput);
  $("link-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      // The box sits inside the composer's form: Enter adds the link, it does not send.
      event.preventDefault();
      addLink();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      closeLinkInput();
      textarea.focus();
    }
  });
  $("link-input").addEventListener("input", () => { $("link-error").textContent = ""; });
  $("composer-quote-remove").addEventListener("click", () => {
    if (composer.conversation) composer.replies.delete(keyOf(composer.conversation));
    renderQuote();
  });
  window.addEventListener("beforeunload", () => flushDraft());
}

/**
 * Switches the composer to `conversation`: saves the previous draft, loads this one's. `account`
 * (from accounts_list) says whether its provider takes files; where it does not, Attach is not
 * offered.
 */
export async function showComposer(conversation, account) {
  await flushDraft();
  composer.conversation = conversation;
  const textarea = $("composer-text");
  textarea.value = "";
  // What the provider cannot take is not offered (no sentence about its API); a file dropped or
  // pasted anyway gets one plain line.
  const filesOffered = account?.features?.attachments?.enabled !== false;
  composer.noFilesReason = filesOffered ? "" : t("composer.textOnly");
  const linksOffered = account?.features?.attach_url?.enabled !== false;
  composer.noLinksReason = linksOffered ? "" : t("composer.textOnly");
  for (const id of ["composer-text", "composer-send", "attach", "attach-link"]) $(id).disabled = false;
  $("attach").hidden = !filesOffered;
  $("attach-link").hidden = !linksOffered;
  $("composer-hint").textContent = "";
  $("composer-hint").hidden = true;
  closeLinkInput();
  showReplyPicker(conversation);
  renderStaged();
  renderQuote();
  try {
    const draft = await invoke("drafts_get", { account: conversation.account, id: conversation.id });
    // The user may have typed or switched while the draft loaded.
    if (composer.conversation === conversation && !textarea.value) textarea.value = draft ?? "";
  } catch (error) {
    composer.onError(error);
  }
}

/** Adds files to the open conversation's composer, skipping ones already staged. */
export function stageFiles(files) {
  if (!composer.conversation) {
    composer.onError({ message: t("composer.dropFirst") });
    return;
  }
  if (composer.noFilesReason) {
    composer.onError({ message: composer.noFilesReason });
    return;
  }
  const staged = stagedFiles();
  for (const file of files) {
    if (!staged.some((known) => known.path === file.path)) staged.push(file);
  }
  renderStaged();
}

/**
 * The open conversation got its server id (it was started here under a placeholder): its staged
 * files, quote and typed text stay with it under the new key.
 */
export function renameConversation(conversation) {
  const old = composer.conversation;
  if (!old) return;
  const [from, to] = [keyOf(old), keyOf(conversation)];
  for (const map of [composer.staged, composer.replies]) {
    if (map.has(from)) {
      map.set(to, map.get(from));
      map.delete(from);
    }
  }
  if (composer.draftFor === old) composer.draftFor = conversation;
  composer.conversation = conversation;
  showReplyPicker(conversation);
}

/** Images pasted so far (their clipboard names are generic: they are numbered instead). */
let pastedImages = 0;
const IMAGE_EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/bmp": "bmp" };

/**
 * Ctrl+V: files in the clipboard (an image copied from a page or a screenshot tool, files copied in a
 * file manager as a text/uri-list of file:// URIs) are staged like dropped ones; a paste with text
 * stays a normal text paste. Web views that keep images and file paths out of the paste event
 * (WebKitGTK) still give them to the async clipboard API during the user's paste, so that is read then.
 */
function onPaste(event) {
  const data = event.clipboardData;
  if (!data) return;
  // Read everything now: the clipboard data is gone once the handler returns.
  const paths = filePaths(data.getData("text/uri-list"));
  const names = new Set(paths.map((path) => path.slice(path.lastIndexOf("/") + 1)));
  const files = Array.from(data.files ?? []).filter((file) => !names.has(file.name));
  const types = Array.from(data.types ?? []);
  // What the view held back: an image (no types at all), or file URLs (a uri-list it reads as empty).
  const hidden = paths.length === 0 && files.length === 0
    && ((types.length === 0 && !data.getData("text/plain"))
      || (types.includes("text/uri-list") && !data.getData("text/uri-list"))
      || (types.includes("Files") && !data.getData("text/plain")));
  if (paths.length === 0 && files.length === 0 && !(hidden && navigator.clipboard?.read)) return;
  event.preventDefault();
  if (!composer.conversation) return;
  const textarea = event.target;
  const staging = hidden ? readClipboard() : Promise.resolve({ paths, files, text: "" });
  staging.then(({ paths: found, files: blobs, text }) => {
    if (found.length === 0 && blobs.length === 0) {
      // No file after all: the paste is the clipboard's text, as it would have been.
      if (text) textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
      if (text) textarea.dispatchEvent(new Event("input"));
      return undefined;
    }
    if (composer.noFilesReason) {
      composer.onError({ message: composer.noFilesReason });
      return undefined;
    }
    return stagePasted(found, blobs);
  }).catch(composer.onError);
}

/** Images, file:// URIs and the text from the async clipboard API, as `{ paths, files, text }`. */
async function readClipboard() {
  const paths = [];
  const files = [];
  let text = "";
  for (const item of await navigator.clipboard.read()) {
    const image = item.types.find((type) => type.startsWith("image/"));
    if (image) {
      const blob = await item.getType(image);
      files.push(new File([blob], "", { type: image }));
    } else if (item.types.includes("text/uri-list")) {
      paths.push(...filePaths(await (await item.getType("text/uri-list")).text()));
    }
    const plain = item.types.find((type) => type.startsWith("text/plain"));
    if (!text && plain) text = await (await item.getType(plain)).text();
  }
  return { paths, files, text };
}

/** The local paths of the file:// URIs in a text/uri-list (comments and other schemes left out). */
function filePaths(uriList) {
  return (uriList ?? "")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("file://"))
    .map((line) => {
      try {
        return decodeURIComponent(new URL(line).pathname);
      } catch {
        return "";
      }
    })
    .filter(Boolean);
}

async function stagePasted(paths, files) {
  const staged = paths.length > 0 ? await invoke("files_describe", { paths }) : [];
  for (const file of files) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const headers = { "Parley-File-Name": encodeURIComponent(pastedName(file)), "Parley-File-Type": file.type || "" };
    staged.push(await invoke("files_stage_pasted", bytes, { headers }));
  }
  stageFiles(staged);
}

/** A pasted file's name: its own, or "pasted-image-N.png" for an image the clipboard calls "image.png". */
function pastedName(file) {
  const generic = !file.name || /^image\.\w+$/i.test(file.name);
  if (!generic) return file.name;
  if (file.type.startsWith("image/")) {
    pastedImages += 1;
    return `pasted-image-${pastedImages}.${IMAGE_EXTENSIONS[file.type] ?? "png"}`;
  }
  return file.name || "pasted-file";
}

/** Attach link…: shows the inline box for a URL. */
function openLinkInput() {
  if (!composer.conversation || composer.noLinksReason) return;
  $("link-row").hidden = false;
  $("link-error").textContent = "";
  $("link-input").focus();
}

function closeLinkInput() {
  $("link-row").hidden = true;
  $("link-input").value = "";
  $("link-error").textContent = "";
}

/** The http(s) URL in `text`, or null. */
function parseLink(text) {
  try {
    const url = new URL(text.trim());
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname ? url : null;
  } catch {
    return null;
  }
}

/** The name a link's file goes by: its last path segment, else the host. */
function linkName(url) {
  const segment = url.pathname.split("/").filter(Boolean).pop() ?? "";
  try {
    return decodeURIComponent(segment) || url.hostname;
  } catch {
    return segment || url.hostname;
  }
}

/** Stages the link typed in the box (http and https only). */
function addLink() {
  const url = parseLink($("link-input").value);
  if (!url) {
    $("link-error").textContent = t("composer.linkInvalid");
    $("link-input").focus();
    return;
  }
  const staged = stagedFiles();
  if (!staged.some((known) => known.url === url.href)) staged.push({ url: url.href, name: linkName(url) });
  closeLinkInput();
  renderStaged();
  $("composer-text").focus();
}

/** Quotes `message` (a thread message with an id) in the open conversation's next send. */
export function stageReply(message) {
  if (!composer.conversation || !message.id) return;
  const text = message.text?.replace(/\s+/g, " ").trim() || t("message.file");
  const short = text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text;
  composer.replies.set(keyOf(composer.conversation), { id: message.id, text: short });
  renderQuote();
  $("composer-text").focus();
}

function renderQuote() {
  const reply = composer.conversation ? composer.replies.get(keyOf(composer.conversation)) : null;
  $("composer-quote").hidden = !reply;
  $("composer-quote-text").textContent = reply ? t("composer.replyingTo", { text: reply.text }) : "";
}

function renderStaged() {
  const list = $("staged-files");
  clear(list);
  stagedFiles().forEach((file, index, staged) => {
    const item = element("li", file.url ? "staged__file staged__file--link" : "staged__file");
    const name = element("span", "staged__name", file.name);
    name.title = file.url ?? file.name;
    item.append(name, element("span", "staged__size", file.url ? t("composer.link") : size(file.size)));
    const remove = element("button", "staged__remove secondary", "×");
    remove.type = "button";
    remove.title = t("composer.remove", { name: file.name });
    remove.setAttribute("aria-label", remove.title);
    remove.addEventListener("click", () => {
      staged.splice(index, 1);
      renderStaged();
    });
    item.append(remove);
    list.append(item);
  });
}

async function pickFiles() {
  try {
    stageFiles(await invoke("files_pick"));
  } catch (error) {
    composer.onError(error);
  }
}

function scheduleDraftSave() {
  clearTimeout(composer.draftTimer);
  composer.draftFor = composer.conversation;
  composer.draftTimer = setTimeout(flushDraft, DRAFT_DELAY_MS);
}

/** Saves a draft still waiting for its timer, now. */
async function flushDraft() {
  clearTimeout(composer.draftTimer);
  const conversation = composer.draftFor;
  composer.draftFor = null;
  if (!conversation) return;
  const text = $("composer-text").value;
  await saveDraft(conversation, text);
}

async function saveDraft(conversation, text) {
  try {
    await invoke("drafts_save", { account: conversation.account, id: conversation.id, text });
  } catch (error) {
    composer.onError(error);
  }
}

async function send(event) {
  event?.preventDefault();
  const conversation = composer.conversation;
  const textarea = $("composer-text");
  const text = textarea.value.trim();
  const staged = stagedFiles();
  if (!conversation || (!text && staged.length === 0)) return;
  const reply = composer.replies.get(keyOf(conversation));
  try {
    await invoke("messages_send", {
      account: conversation.account,
      id: conversation.id,
      text: text || null,
      files: staged.filter((file) => !file.url).map((file) => file.path),
      links: staged.filter((file) => file.url).map((file) => file.url),
      replyTo: reply?.id ?? null,
    });
    clearTimeout(composer.draftTimer);
    composer.draftFor = null;
    textarea.value = "";
    staged.length = 0;
    composer.replies.delete(keyOf(conversation));
    renderStaged();
    renderQuote();
    await saveDraft(conversation, "");
    await composer.onSent();
  } catch (error) {
    composer.onError(error);
  }
}
