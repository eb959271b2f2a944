// Conversation actions: the header's assign control (a searchable list of the account's teammates by
// name, "Assign to me" first, Unassign at its foot; a typed user id or "42 = Olga", which names user
// 42, still work), Archive and Replied buttons, and the details panel's note and Bitrix switch. Names
// come from the provider's list (VoIPbin's agents) or from the agent (Pact); the ids used recently
// are kept in the core's settings. Each action goes to the server through the core; success updates
// the header and the list row, failure shows the error beside the controls. What the account's
// provider cannot do is hidden.

import { invoke } from "./ipc.js";
import { plainError } from "./errors.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";
import { myIdOf } from "./team.js";
import { unnamedTeammate } from "./format.js";

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

/** Each feature the header and the details panel offer, with the element hidden without it. */
const FEATURE_CONTROLS = {
  notes: ["note-form"],
  bitrix: ["bitrix-row"],
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
  /** The assign list's options as drawn, and the highlighted one. */
  options: [],
  active: -1,
  /** Answers the agent's own user id on an account ("" when unknown; may ask for it). */
  myId: async () => "",
};

/**
 * Wires the header and the details panel. `onChanged(conversation)` runs after each successful
 * action, `onNames()` when teammates' names became known or changed, `myId(account)` answers the
 * agent's own user id there (asking for it when unknown; "" when there is none).
 */
export function initActions(onChanged, onNames = () => {}, myId = async () => "") {
  actions.onChanged = onChanged;
  actions.onNames = onNames;
  actions.myId = myId;
  $("assign-form").addEventListener("submit", assign);
  $("assign-open").addEventListener("click", () => (assignOpen() ? closeAssign() : openAssign()));
  $("assign-input").addEventListener("input", () => fillOptions());
  $("assign-input").addEventListener("keydown", onAssignKey);
  // Esc closes the list wherever its focus is (the box, an option, Assign or Unassign).
  $("assign-popover").addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    event.stopPropagation();
    closeAssign();
  });
  $("assign-options").addEventListener("click", (event) => {
    const option = event.target.closest("[data-index]");
    if (option) pickOption(actions.options[Number(option.dataset.index)]);
  });
  document.addEventListener("pointerdown", (event) => {
    if (assignOpen() && !event.target.closest(".assign")) closeAssign(false);
  });
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
  closeAssign(false);
  showAssignee();
  $("note-input").value = conversation.note ?? "";
  $("bitrix-toggle").checked = conversation.bitrix_openlines === true;
  showToggles();
  say("", false);
  applyFeatures();
  loadTeammates(conversation.account).catch(() => {});
}

/** Whether the open conversation's provider offers `feature` (`archive`, `replied`, `notes`, ...). */
export function offers(feature) {
  return Boolean(actions.conversation) && actions.account?.features?.[feature]?.enabled !== false;
}

/** Opens the assign list of the open conversation (the `a` key). */
export function focusAssign() {
  if (actions.conversation) openAssign();
}

/** "Assign to me": the agent's own id on the conversation's account (asked for once). */
export async function assignToMe() {
  const conversation = actions.conversation;
  if (!conversation) return;
  closeAssign();
  const mine = await actions.myId(conversation.account);
  if (mine) await assignTo(mine);
}

/** Assigns the open conversation to user `assigneeId`. */
export async function assignTo(assigneeId) {
  const name = teammateName(actions.conversation?.account, assigneeId);
  const mine = !name && myself(actions.conversation?.account, assigneeId);
  const done = mine ? t("actions.assignedToYou") : t("actions.assigned", { id: name ?? unnamedTeammate(assigneeId) });
  await run("conversations_assign", { assigneeId }, { assignee_id: assigneeId }, done);
  if (actions.conversation?.assignee_id === assigneeId) {
    showAssignee();
    await remember(assigneeId);
  }
}

/** "Me" when `id` is the agent's own user id on `account` (and nobody named it), else null. */
function myself(account, id) {
  return id === myIdOf(account) ? t("team.me") : null;
}

/** Reads the open conversation's teammates again (a name or "me" changed in Settings). */
export async function teammatesChanged() {
  const account = actions.conversation?.account;
  if (account) await showTeammates(account);
}

/** The name the agent knows teammate `id` of `account` by, or null. */
export function teammateName(account, id) {
  if (!id) return null;
  return actions.teammates.get(account)?.find((mate) => mate.id === id)?.name || null;
}

/** Shows the conversation's assignee on the assign button: the name once known, else the id. */
function showAssignee() {
  const conversation = actions.conversation;
  const id = conversation?.assignee_id;
  const name = id ? teammateName(conversation.account, id) ?? conversation.assignee_name ?? myself(conversation.account, id) ?? unnamedTeammate(id) : "";
  $("assign-current").textContent = name || t("actions.nobody");
  $("assign-open").classList.toggle("assign__button--empty", !id);
  $("unassign").hidden = !id || !offers("unassign");
}

function assignOpen() {
  return !$("assign-popover").hidden;
}

/** Opens the assign list with the focus in its search box. */
function openAssign() {
  if (!actions.conversation) return;
  $("assign-popover").hidden = false;
  $("assign-open").setAttribute("aria-expanded", "true");
  $("assign-input").value = "";
  fillOptions();
  $("assign-input").focus();
}

/** Closes the assign list; `refocus` puts the focus back on its button. */
function closeAssign(refocus = true) {
  if (!assignOpen()) return;
  $("assign-popover").hidden = true;
  $("assign-open").setAttribute("aria-expanded", "false");
  if (refocus) $("assign-open").focus();
}

/** ↑/↓ pick an option, Enter assigns it (or what was typed). */
function onAssignKey(event) {
  const count = actions.options.length;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (count === 0) return;
    const step = event.key === "ArrowDown" ? 1 : count - 1;
    actions.active = actions.active < 0 ? (step === 1 ? 0 : count - 1) : (actions.active + step) % count;
    drawOptions();
  } else if (event.key === "Enter" && actions.active >= 0) {
    event.preventDefault();
    pickOption(actions.options[actions.active]);
  }
}

/** Runs an option of the assign list. */
function pickOption(option) {
  if (!option) return;
  if (option.kind === "me") {
    assignToMe().catch((error) => say(plainError(error), true));
    return;
  }
  closeAssign();
  assignTo(option.id).catch((error) => say(plainError(error), true));
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
  if (assignOpen()) fillOptions();
  showAssignee();
  actions.onNames();
}

/** The user id the assign box means: a picked "Name (id)", a teammate's exact name, or an id. */
function assigneeIdOf(typed) {
  const mates = (actions.teammates.get(actions.conversation?.account) ?? []).filter((mate) => mate.name);
  const picked = typed.match(PICKED);
  if (picked && mates.some((mate) => mate.id === picked[1].trim())) return picked[1].trim();
  const named = mates.filter((mate) => mate.name.toLowerCase() === typed.toLowerCase());
  if (named.length === 1) return named[0].id;
  return typed;
}

/** Hides what the account's provider cannot do (the log says why; the window does not). */
function applyFeatures() {
  for (const [feature, ids] of Object.entries(FEATURE_CONTROLS)) {
    for (const id of ids) $(id).hidden = !offers(feature);
  }
  $("unassign").hidden = !actions.conversation?.assignee_id || !offers("unassign");
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
  const controls = document.querySelectorAll("#thread-actions input, #thread-actions button, #details input, #details textarea, #details button");
  controls.forEach((control) => { control.disabled = true; });
  try {
    await invoke(command, { account: conversation.account, id: conversation.id, ...args });
    Object.assign(conversation, change);
    say(done, false);
    showToggles();
    actions.onChanged(conversation);
  } catch (error) {
    say(plainError(error), true);
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
  closeAssign();
  await assignTo(assigneeIdOf(typed));
}

/** "42 = Olga" typed in the assign box: the account knows user 42 as Olga from now on ("42 =" forgets it). */
async function nameTeammate(userId, name) {
  const conversation = actions.conversation;
  if (!conversation) return;
  try {
    await invoke("teammates_label", { account: conversation.account, userId, name: name || null });
    await showTeammates(conversation.account);
    say(name ? t("actions.named", { id: userId, name }) : t("actions.unnamed", { id: userId }), false);
    $("assign-input").value = "";
    fillOptions();
    showAssignee();
    // The rows show assignees by name: redraw them.
    actions.onChanged(conversation);
  } catch (error) {
    say(plainError(error), true);
  }
}

async function unassign() {
  closeAssign();
  await run("conversations_unassign", {}, { assignee_id: null }, t("actions.unassigned"));
  showAssignee();
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

/** Archives the open conversation, or brings an archived one back. */
export async function toggleArchived() {
  const archived = actions.conversation?.state !== "archived";
  const done = archived ? t("actions.archived") : t("actions.unarchived");
  await run("conversations_archive", { archived }, { state: archived ? "archived" : "open" }, done);
}

/** Marks the open conversation replied, or unreplied when it is. */
export async function toggleReplied() {
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
}

async function remember(assigneeId) {
  const ids = [assigneeId, ...(await recent()).filter((id) => id !== assigneeId)].slice(0, RECENT_MAX);
  actions.recent = ids;
  await invoke("settings_set", { key: RECENT_KEY, value: JSON.stringify(ids) }).catch(() => {});
}

/**
 * The assign list for what is typed: "Assign to me", the account's teammates by name (recently
 * used first), recent ids nobody named yet, and "Assign to user …" for a typed id none of them is.
 */
function fillOptions() {
  const typed = $("assign-input").value.trim();
  const wanted = typed.toLowerCase();
  const account = actions.conversation?.account;
  const mates = (actions.teammates.get(account) ?? []).filter((mate) => mate.name);
  const rank = (id) => {
    const at = actions.recent.indexOf(id);
    return at < 0 ? actions.recent.length : at;
  };
  const named = mates
    .filter((mate) => !wanted || mate.name.toLowerCase().includes(wanted) || mate.id === typed)
    .sort((a, b) => rank(a.id) - rank(b.id) || a.name.localeCompare(b.name))
    .map((mate) => ({ kind: "teammate", id: mate.id, label: mate.name, source: "teammate" }));
  const known = new Set(mates.map((mate) => mate.id));
  const recentIds = actions.recent
    .filter((id) => !known.has(id) && (!wanted || id.toLowerCase().includes(wanted)))
    .map((id) => ({ kind: "teammate", id, label: t("actions.userId", { id }), source: "recent" }));
  const options = [];
  if (!typed || t("command.assignToMe").toLowerCase().includes(wanted)) {
    options.push({ kind: "me", label: t("command.assignToMe") });
  }
  options.push(...named, ...recentIds);
  const exact = options.some((option) => option.id === typed) || LABEL.test(typed);
  if (typed && !exact && named.length === 0) {
    options.push({ kind: "typed", id: typed, label: t("actions.assignTyped", { id: typed }), source: "typed" });
  }
  actions.options = options;
  actions.active = typed && options.length > 0 ? 0 : -1;
  drawOptions();
}

function drawOptions() {
  const current = actions.conversation?.assignee_id;
  const items = actions.options.map((option, index) => {
    const item = element("li", `assign__option assign__option--${option.kind}`);
    item.id = `assign-option-${index}`;
    item.dataset.index = String(index);
    if (option.id) item.dataset.userId = option.id;
    if (option.source) item.dataset.source = option.source;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", String(index === actions.active));
    item.append(element("span", "assign__name", option.label));
    if (option.id && option.id === current) item.append(element("span", "assign__current", t("actions.current")));
    return item;
  });
  $("assign-options").replaceChildren(...items);
  const input = $("assign-input");
  if (actions.active >= 0) {
    input.setAttribute("aria-activedescendant", `assign-option-${actions.active}`);
    $(`assign-option-${actions.active}`)?.scrollIntoView({ block: "nearest" });
  } else {
    input.removeAttribute("aria-activedescendant");
  }
}
