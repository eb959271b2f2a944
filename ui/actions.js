// Conversation actions in the thread header: assign to a teammate by name or user id (the list offers
// the account's teammates by name, as the provider lists them or as the agent named an id with
// "42 = Olga" typed in the same box, and the ids used recently, kept in the core's settings), edit the
// note, block or unblock Bitrix openlines, archive or unarchive, mark replied or unreplied. Each
// goes to the server through the core; success updates the header and the list row, failure shows the
// command's error message beside the controls. What the account's provider lacks (notes and Bitrix on
// VoIPbin, archive and replied on Pact p1) stays visible but disabled, with a one-line reason.

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t, unsupportedReason } from "./i18n.js";

/** The settings key holding the recently used assignee ids (a JSON array, newest first). */
const RECENT_KEY = "recent_assignees";
const RECENT_MAX = 10;
/** The provider's teammate list is read again at most this often per account (when one is opened). */
const TEAMMATES_REFRESH_MS = 10 * 60 * 1000;
/** "42 = Olga": names a user id. */
const LABEL = /^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$/;
/** "Olga (42)": a teammate picked from the list. */
const PICKED = /\(([^()]+)\)\s*$/;

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
  /** Called when teammates' names were loaded or changed (the header shows the assignee's name). */
  onNames: () => {},
  /** Teammates per account name: `[{ id, name, source }]`. */
  teammates: new Map(),
  /** When each account's provider list was last read again (ms). */
  refreshedAt: new Map(),
  /** The recently used assignee ids. */
  recent: [],
  /** What the assign box was last filled with (a value the agent changed is never overwritten). */
  shown: "",
};

/**
 * Wires the header forms. `onChanged(conversation)` runs after each successful action, `onNames()`
 * when teammates' names became known or changed.
 */
export function initActions(onChanged, onNames = () => {}) {
  actions.onChanged = onChanged;
  actions.onNames = onNames;
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
  showAssignee();
  $("note-input").value = conversation.note ?? "";
  $("bitrix-toggle").checked = conversation.bitrix_openlines === true;
  showToggles();
  say("", false);
  applyFeatures();
  fillDatalist();
  loadTeammates(conversation.account).catch(() => {});
}

/** The name the agent knows teammate `id` of `account` by, or null. */
export function teammateName(account, id) {
  if (!id) return null;
  return actions.teammates.get(account)?.find((mate) => mate.id === id)?.name ?? null;
}

/** Fills the assign box with the conversation's assignee. */
function showAssignee() {
  actions.shown = actions.conversation ? assigneeLabel(actions.conversation) : "";
  $("assign-input").value = actions.shown;
}

/** What the assign box shows for the conversation's assignee: "Olga (42)", or the id alone. */
function assigneeLabel(conversation) {
  const id = conversation.assignee_id;
  if (!id) return "";
  const name = teammateName(conversation.account, id);
  return name ? `${name} (${id})` : id;
}

/**
 * The account's teammates from the core's cache; when a conversation of the account is opened and the
 * provider's list was last read more than 10 minutes ago, it is read again (then the list refreshes).
 */
async function loadTeammates(account) {
  await showTeammates(account);
  const last = actions.refreshedAt.get(account) ?? 0;
  if (Date.now() - last < TEAMMATES_REFRESH_MS) return;
  actions.refreshedAt.set(account, Date.now());
  // Pact lists no teammates (false); a VoIPbin agent without permission fails: the cache stays.
  if (await invoke("teammates_refresh", { account }).catch(() => false)) await showTeammates(account);
}

async function showTeammates(account) {
  const teammates = await invoke("teammates_list", { account });
  actions.teammates.set(account, teammates);
  if (actions.conversation?.account !== account) return;
  fillDatalist();
  // Shows the name once it is known, unless the agent has typed in the box meanwhile.
  if ($("assign-input").value === actions.shown && document.activeElement !== $("assign-input")) showAssignee();
  actions.onNames();
}

/** The user id the assign box means: a picked "Name (id)", a teammate's exact name, or an id. */
function assigneeIdOf(typed) {
  const mates = actions.teammates.get(actions.conversation?.account) ?? [];
  const picked = typed.match(PICKED);
  if (picked && mates.some((mate) => mate.id === picked[1].trim())) return picked[1].trim();
  const named = mates.filter((mate) => mate.name.toLowerCase() === typed.toLowerCase());
  if (named.length === 1) return named[0].id;
  return typed;
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
  const typed = $("assign-input").value.trim();
  const label = typed.match(LABEL);
  if (label) {
    await nameTeammate(label[1], label[2]);
    return;
  }
  if (!typed) {
    say(t("actions.needId"), true);
    return;
  }
  const assigneeId = assigneeIdOf(typed);
  const name = teammateName(actions.conversation?.account, assigneeId);
  const who = name ? `${name} (${assigneeId})` : assigneeId;
  await run("conversations_assign", { assigneeId }, { assignee_id: assigneeId }, t("actions.assigned", { id: who }));
  if (actions.conversation?.assignee_id === assigneeId) {
    showAssignee();
    await remember(assigneeId);
  }
}

/** "42 = Olga" typed in the assign box: the account knows user 42 as Olga from now on ("42 =" forgets it). */
async function nameTeammate(userId, name) {
  const conversation = actions.conversation;
  if (!conversation) return;
  try {
    await invoke("teammates_label", { account: conversation.account, userId, name: name || null });
    await showTeammates(conversation.account);
    say(name ? t("actions.named", { id: userId, name }) : t("actions.unnamed", { id: userId }), false);
    showAssignee();
  } catch (error) {
    say(error?.message ?? String(error), true);
  }
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
  actions.recent = await recent();
  fillDatalist();
}

async function remember(assigneeId) {
  const ids = [assigneeId, ...(await recent()).filter((id) => id !== assigneeId)].slice(0, RECENT_MAX);
  actions.recent = ids;
  fillDatalist();
  await invoke("settings_set", { key: RECENT_KEY, value: JSON.stringify(ids) }).catch(() => {});
}

/** The assign box's suggestions: the account's teammates by name, then recent ids nobody named. */
function fillDatalist() {
  const mates = actions.teammates.get(actions.conversation?.account) ?? [];
  const named = new Set(mates.map((mate) => mate.id));
  const byName = mates.map((mate) => {
    const option = element("option");
    option.value = `${mate.name} (${mate.id})`;
    return option;
  });
  const unnamed = actions.recent.filter((id) => !named.has(id)).map((id) => {
    const option = element("option");
    option.value = id;
    return option;
  });
  $("recent-assignees").replaceChildren(...byName, ...unnamed);
}
