// Conversation actions in the thread header: assign to a teammate by user id (with a list of the ids
// used recently, kept in the core's settings), edit the note, block or unblock Bitrix openlines, archive
// or unarchive, mark replied or unreplied. Each
// goes to the server through the core; success updates the header and the list row, failure shows the
// command's error message beside the controls. What the account's provider lacks (notes and Bitrix on
// VoIPbin, archive and replied on Pact p1) stays visible but disabled, with a one-line reason.

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t, unsupportedReason } from "./i18n.js";

/** The settings key holding the recently used assignee ids (a JSON array, newest first). */
const RECENT_KEY = "recent_assignees";
const RECENT_MAX = 10;

const $ = (id) => document.getElementById(id);

/** Each feature the header offers, with the controls it needs. */
const FEATURE_CONTROLS = {
  notes: ["note-input", "note-save"],
  bitrix: ["bitrix-toggle"],
  unassign: ["unassign"],
  archive: ["archive-toggle"],
  replied: ["replied-toggle"],
};

const actions = {
  conversation: null,
  /** The conversation's account (its `features` say what the provider offers). */
  account: null,
  /** Called with the changed conversation after a successful action. */
  onChanged: () => {},
};

/** Wires the header forms. `onChanged(conversation)` runs after each successful action. */
export function initActions(onChanged) {
  actions.onChanged = onChanged;
  $("assign-form").addEventListener("submit", assign);
  $("note-form").addEventListener("submit", saveNote);
  $("bitrix-toggle").addEventListener("change", toggleBitrix);
  $("unassign").addEventListener("click", unassign);
  $("archive-toggle").addEventListener("click", toggleArchived);
  $("replied-toggle").addEventListener("click", toggleReplied);
  loadRecent();
}

/**
 * Shows the controls for `conversation` with its current assignee, note and Bitrix flag; `account`
 * (from accounts_list) says which features its provider offers.
 */
export function showActions(conversation, account) {
  actions.conversation = conversation;
  actions.account = account ?? null;
  $("thread-actions").hidden = false;
  $("assign-input").value = conversation.assignee_id ?? "";
  $("note-input").value = conversation.note ?? "";
  $("bitrix-toggle").checked = conversation.bitrix_openlines === true;
  showToggles();
  say("", false);
  applyFeatures();
}

/** Disables what the provider lacks, with its reason on the control and in one line below. */
function applyFeatures() {
  const account = actions.account;
  const reasons = [];
  for (const [feature, ids] of Object.entries(FEATURE_CONTROLS)) {
    const offered = account?.features?.[feature]?.enabled !== false;
    const reason = offered ? "" : unsupportedReason(account, feature);
    for (const id of ids) {
      $(id).disabled = !offered;
      $(id).title = reason;
    }
    if (!offered && reason) reasons.push(reason);
  }
  const hint = $("actions-hint");
  hint.textContent = reasons.join(" ");
  hint.hidden = reasons.length === 0;
}

function say(text, isError) {
  const line = $("actions-error");
  line.textContent = text;
  line.classList.toggle("actions__message--ok", !isError);
}

/** Runs one action: disables the controls meanwhile, reports the outcome. */
async function run(command, args, change, done) {
  const conversation = actions.conversation;
  if (!conversation) return;
  const controls = $("thread-actions").querySelectorAll("input, button");
  controls.forEach((control) => { control.disabled = true; });
  try {
    await invoke(command, { account: conversation.account, id: conversation.id, ...args });
    Object.assign(conversation, change);
    say(done, false);
    showToggles();
    actions.onChanged(conversation);
  } catch (error) {
    say(error?.message ?? String(error), true);
    if (command === "conversations_bitrix") $("bitrix-toggle").checked = conversation.bitrix_openlines === true;
  } finally {
    controls.forEach((control) => { control.disabled = false; });
    applyFeatures();
  }
}

async function assign(event) {
  event.preventDefault();
  const assigneeId = $("assign-input").value.trim();
  if (!assigneeId) {
    say(t("actions.needId"), true);
    return;
  }
  await run("conversations_assign", { assigneeId }, { assignee_id: assigneeId }, t("actions.assigned", { id: assigneeId }));
  if (actions.conversation?.assignee_id === assigneeId) await remember(assigneeId);
}

async function unassign() {
  await run("conversations_unassign", {}, { assignee_id: null }, t("actions.unassigned"));
  if (actions.conversation && !actions.conversation.assignee_id) $("assign-input").value = "";
}

async function saveNote(event) {
  event.preventDefault();
  const note = $("note-input").value;
  await run("conversations_note", { note }, { note }, t("actions.noteSaved"));
}

async function toggleBitrix() {
  const enabled = $("bitrix-toggle").checked;
  const state = enabled ? t("actions.blocked") : t("actions.unblocked");
  await run("conversations_bitrix", { enabled }, { bitrix_openlines: enabled }, t("actions.bitrixSaved", { state }));
}

/** Labels the archive and replied buttons by what a click would do to the conversation. */
function showToggles() {
  const conversation = actions.conversation;
  const archived = conversation?.state === "archived";
  $("archive-toggle").dataset.i18n = archived ? "actions.unarchive" : "actions.archive";
  $("archive-toggle").textContent = t($("archive-toggle").dataset.i18n);
  const replied = conversation?.replied === true;
  $("replied-toggle").dataset.i18n = replied ? "actions.markUnreplied" : "actions.markReplied";
  $("replied-toggle").textContent = t($("replied-toggle").dataset.i18n);
}

async function toggleArchived() {
  const archived = actions.conversation?.state !== "archived";
  const done = archived ? t("actions.archived") : t("actions.unarchived");
  await run("conversations_archive", { archived }, { state: archived ? "archived" : "open" }, done);
}

async function toggleReplied() {
  const replied = actions.conversation?.replied !== true;
  const done = replied ? t("actions.markedReplied") : t("actions.markedUnreplied");
  await run("conversations_set_replied", { replied }, { replied }, done);
}

async function recent() {
  try {
    const stored = JSON.parse((await invoke("settings_get", { key: RECENT_KEY })) ?? "[]");
    return Array.isArray(stored) ? stored.map(String) : [];
  } catch {
    return [];
  }
}

async function loadRecent() {
  fillDatalist(await recent());
}

async function remember(assigneeId) {
  const ids = [assigneeId, ...(await recent()).filter((id) => id !== assigneeId)].slice(0, RECENT_MAX);
  fillDatalist(ids);
  await invoke("settings_set", { key: RECENT_KEY, value: JSON.stringify(ids) }).catch(() => {});
}

function fillDatalist(ids) {
  $("recent-assignees").replaceChildren(...ids.map((id) => {
    const option = element("option");
    option.value = id;
    return option;
  }));
}
