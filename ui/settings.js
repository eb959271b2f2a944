// The settings view (the sidebar's Settings… button, or Ctrl+,): the theme and notifications
// (preferences.js), the team (who "me" is and the teammates' names, team.js), the saved replies, each for one
// account or for all, listed with Edit and Remove, and a form to add or change one. `{name}` in a
// reply's text becomes the contact's name when it is inserted in the composer (after a `/`). Below them,
// "Copy diagnostics" puts the core's diagnostics text (no token, no message text) on the clipboard, or
// shows it to copy by hand where the clipboard cannot be written. Last, the running version and
// "Check for updates" (ui/updates.js).

import { invoke } from "./ipc.js";
import { plainError } from "./errors.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";
import { checkForUpdates, showUpdatesInSettings } from "./updates.js";
import { initPreferences, showPreferences } from "./preferences.js";
import { showTeamSettings } from "./team.js";

/** How much of a reply's text the list shows. */
const EXCERPT_CHARS = 120;

const $ = (id) => document.getElementById(id);

const settings = {
  /** The reply being edited, or null when the form adds a new one. */
  editing: null,
  /** The accounts (accounts_list's answer). */
  accounts: () => [],
  /** Runs after a reply was added, changed or removed. */
  onChanged: () => {},
  /** Runs after a teammate's name or the agent's own id changed. */
  onTeamChanged: () => {},
};

const accountNames = () => settings.accounts().map((account) => account.name);

/**
 * Wires the view. `accounts()` gives the accounts; `onChanged()` runs when the replies changed,
 * `onTeamChanged()` when a teammate's name or the agent's own id did.
 * @param {{ accounts: () => object[], onChanged: () => void, onTeamChanged: () => void }} hooks
 */
export function initSettings(hooks) {
  settings.accounts = hooks.accounts;
  settings.onChanged = hooks.onChanged;
  settings.onTeamChanged = hooks.onTeamChanged;
  $("settings-open").addEventListener("click", openSettings);
  $("settings-close").addEventListener("click", () => $("settings").close());
  $("reply-form").addEventListener("submit", saveReply);
  $("reply-cancel-edit").addEventListener("click", () => editReply(null));
  $("diagnostics-copy").addEventListener("click", copyDiagnostics);
  $("updates-check").addEventListener("click", checkForUpdates);
  initPreferences((error) => say(plainError(error)));
  $("reply-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.ctrlKey) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
}

/** Opens the settings view on the saved replies. */
export async function openSettings() {
  const box = $("settings");
  if (!box.open) box.showModal();
  fillAccounts();
  editReply(null);
  $("diagnostics-status").textContent = "";
  $("diagnostics-text").hidden = true;
  showUpdatesInSettings();
  showPreferences(accountNames()).catch(() => {});
  $("team-error").textContent = "";
  const teamError = (error) => { $("team-error").textContent = plainError(error); };
  showTeamSettings(settings.accounts(), () => settings.onTeamChanged(), teamError).catch(teamError);
  await loadReplies();
  // Opens at its top, on the first setting (the theme).
  box.scrollTop = 0;
  $("theme-choice").focus();
}

function say(text) {
  $("reply-error").textContent = text;
}

function fillAccounts() {
  const select = $("reply-account");
  const previous = select.value;
  const all = element("option", "", t("replies.allAccounts"));
  all.value = "";
  select.replaceChildren(all, ...accountNames().map((name) => {
    const node = element("option", "", name);
    node.value = name;
    return node;
  }));
  select.value = accountNames().includes(previous) ? previous : "";
}

/**
 * Copies the diagnostics text. WebKit lets a page write the clipboard only while the click is being
 * handled, so the write starts at once with the text still to come (a ClipboardItem of a promise);
 * where the clipboard cannot be written, the text shows selected in a read-only box instead.
 */
async function copyDiagnostics() {
  const status = $("diagnostics-status");
  const box = $("diagnostics-text");
  status.textContent = "";
  const asked = invoke("diagnostics_copy");
  const copied = writeClipboard(asked);
  let text;
  try {
    text = await asked;
  } catch (error) {
    status.textContent = plainError(error);
    return;
  }
  try {
    await copied;
    box.hidden = true;
    status.textContent = t("diagnostics.copied");
  } catch {
    box.value = text;
    box.hidden = false;
    box.focus();
    box.select();
    status.textContent = t("diagnostics.copyByHand");
  }
}

/** Puts the text `pending` resolves to on the clipboard; call it while a click is handled. */
export function writeClipboard(pending) {
  if (typeof ClipboardItem === "function" && navigator.clipboard?.write) {
    const blob = pending.then((text) => new Blob([text], { type: "text/plain" }));
    return navigator.clipboard.write([new ClipboardItem({ "text/plain": blob })]);
  }
  return pending.then((text) => navigator.clipboard.writeText(text));
}

async function loadReplies() {
  let replies;
  try {
    replies = await invoke("replies_list", { account: null });
  } catch (error) {
    say(plainError(error));
    return;
  }
  const list = $("replies-list");
  if (replies.length === 0) {
    list.replaceChildren(element("li", "replies__empty", t("replies.empty")));
    return;
  }
  list.replaceChildren(...replies.map(renderReply));
}

function renderReply(reply) {
  const item = element("li", "replies__item");
  item.dataset.replyId = String(reply.id);
  const text = reply.text.replace(/\s+/g, " ").trim();
  const head = element("div", "replies__head");
  head.append(
    element("span", "replies__title", reply.title),
    element("span", "replies__account", reply.account ?? t("replies.allAccounts")),
  );
  const edit = element("button", "secondary replies__action", t("replies.edit"));
  edit.type = "button";
  edit.setAttribute("aria-label", t("replies.editNamed", { title: reply.title }));
  edit.addEventListener("click", () => editReply(reply));
  const remove = element("button", "secondary replies__action", t("replies.remove"));
  remove.type = "button";
  remove.setAttribute("aria-label", t("replies.removeNamed", { title: reply.title }));
  remove.addEventListener("click", () => removeReply(reply));
  head.append(edit, remove);
  item.append(head, element("p", "replies__text", text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text));
  item.querySelector(".replies__text").dir = "auto";
  return item;
}

/** Fills the form with `reply` to change it, or (null) empties it for a new one. */
function editReply(reply) {
  settings.editing = reply;
  $("reply-title").value = reply?.title ?? "";
  $("reply-text").value = reply?.text ?? "";
  $("reply-account").value = reply?.account ?? "";
  $("reply-form-title").textContent = t(reply ? "replies.editTitle" : "replies.addTitle");
  $("reply-save").textContent = t(reply ? "replies.save" : "replies.add");
  $("reply-cancel-edit").hidden = !reply;
  say("");
  if (reply) $("reply-title").focus();
}

async function saveReply(event) {
  event.preventDefault();
  const fields = {
    title: $("reply-title").value.trim(),
    text: $("reply-text").value,
    account: $("reply-account").value || null,
  };
  if (!fields.title || !fields.text.trim()) {
    say(t("replies.needBoth"));
    return;
  }
  try {
    if (settings.editing) await invoke("replies_update", { id: settings.editing.id, ...fields });
    else await invoke("replies_add", fields);
  } catch (error) {
    say(plainError(error));
    return;
  }
  editReply(null);
  settings.onChanged();
  await loadReplies();
  // Opens at its top, on the first setting (the theme).
  box.scrollTop = 0;
  $("theme-choice").focus();
}

async function removeReply(reply) {
  try {
    await invoke("replies_remove", { id: reply.id });
  } catch (error) {
    say(plainError(error));
    return;
  }
  if (settings.editing?.id === reply.id) editReply(null);
  settings.onChanged();
  await loadReplies();
}
