// The inbox: the sidebar of accounts and companies with unread counts, the All / Mine / Unassigned /
// Archived filters, and the conversation list. The list is virtual: rows have one fixed height, only the rows in
// view (plus a margin) exist in the DOM, and their data comes from the backend in pages on demand, so
// 10,000 conversations cost what 70 do. Customer content is set with textContent only.

import { invoke } from "./ipc.js";
import { clear, element } from "./dom.js";
import { t, tn } from "./i18n.js";
import { myIdOf } from "./team.js";
import { channelFamily, channelName, countBadge, fullTime, hueOf, initials, isOpaqueId, relativeTime, unnamedTeammate } from "./format.js";

/** Row height in pixels; must match `.conversation` in style.css. */
const ROW_HEIGHT = 58;
/** Rows kept in the DOM above and below the visible ones. */
const OVERSCAN = 30;
/** Rows fetched per backend call. */
const PAGE = 100;
/** Accounts whose teammates were read because a row knew its assignee only by an opaque id. */
const namesAsked = new Set();

const $ = (id) => document.getElementById(id);

const list = {
  total: 0,
  /** Loaded rows by index (sparse). */
  rows: [],
  /** Page numbers fetched or being fetched. */
  pages: new Map(),
  /** Bumped on every reload so answers to older requests are dropped. */
  generation: 0,
  filter: "all",
  scope: { account: null, company: null },
  openKey: null,
  onOpen: () => {},
  onError: () => {},
  frame: 0,
  painted: false,
  /** What each drawn index shows: `{ row, open, node }`. */
  drawn: new Map(),
  /** Empty items as tall as the rows above and below the drawn ones. */
  above: spacer(),
  below: spacer(),
};

function spacer() {
  const item = element("li", "conversation-spacer");
  item.setAttribute("aria-hidden", "true");
  return item;
}

/** The key naming a conversation across the UI. */
export function keyOf(conversation) {
  return `${conversation.account}/${conversation.id}`;
}

/**
 * Wires the list and the filters. `onOpen(conversation)` runs when the user picks a row.
 * @param {{ onOpen: (conversation: object) => void, onError: (error: unknown) => void, onMineNeedsIds: () => Promise<boolean> }} hooks
 */
export function initInbox(hooks) {
  list.onOpen = hooks.onOpen;
  list.onError = hooks.onError;
  list.onRemoveAccount = hooks.onRemoveAccount ?? (() => {});
  list.onMarkUnread = hooks.onMarkUnread ?? (() => {});
  list.onMarkRead = hooks.onMarkRead ?? (() => {});
  const menu = $("row-menu");
  menu.addEventListener("keydown", onRowMenuKey);
  document.addEventListener("pointerdown", (event) => {
    if (!menu.hidden && !menu.contains(event.target)) closeRowMenu(false);
  });
  const scroller = $("conversations");
  scroller.addEventListener("scroll", scheduleRender, { passive: true });
  new ResizeObserver(scheduleRender).observe(scroller);
  for (const button of document.querySelectorAll("#filters [data-filter]")) {
    button.addEventListener("click", async () => {
      if (button.dataset.filter === "mine" && !(await hooks.onMineNeedsIds())) return;
      setFilter(button.dataset.filter);
    });
  }
}

/** Shows only conversations matching `filter` (`all`, `mine`, `unassigned`: open ones; `archived`). */
export function setFilter(filter) {
  list.filter = filter;
  for (const button of document.querySelectorAll("#filters [data-filter]")) {
    button.setAttribute("aria-pressed", String(button.dataset.filter === filter));
  }
  $("conversations").scrollTop = 0;
  reloadInbox();
}

/** The filter in use. */
export function currentFilter() {
  return list.filter;
}

/** Marks which conversation is open (highlighted in the list). */
export function setOpenKey(key) {
  list.openKey = key;
  scheduleRender();
}

/** Forgets every loaded row and fetches what is in view again (the scroll position stays). */
export async function reloadInbox() {
  list.generation += 1;
  list.pages.clear();
  list.rows = [];
  await ensureRange(...visibleRange(), true);
}

/** Replaces the loaded copy of a conversation (after an action) and redraws its row. */
export function updateRow(conversation) {
  const index = list.rows.findIndex((row) => row && keyOf(row) === keyOf(conversation));
  if (index >= 0) {
    list.rows[index] = { ...list.rows[index], ...conversation };
    scheduleRender();
  }
}

/** Opens the conversation `delta` rows below (or above, when negative) the open one. */
export async function step(delta) {
  const current = list.rows.findIndex((row) => row && keyOf(row) === list.openKey);
  const target = Math.min(Math.max(current < 0 ? 0 : current + delta, 0), list.total - 1);
  if (target < 0) return;
  await ensureRange(target, target + 1, false);
  const row = list.rows[target];
  if (!row) return;
  scrollRowIntoView(target);
  list.onOpen(row);
}

/**
 * Opens the first unread conversation below the open one, wrapping to the top of the list (the
 * core finds it, so rows not loaded yet count too). False when nothing in the list is unread.
 */
export async function openNextUnread() {
  const current = list.rows.findIndex((row) => row && keyOf(row) === list.openKey);
  const next = await invoke("conversations_next_unread", {
    account: list.scope.account,
    company: list.scope.company,
    filter: list.filter,
    after: current >= 0 ? current : null,
  });
  if (!next) return false;
  scrollRowIntoView(next.position);
  await ensureRange(next.position, next.position + 1, false);
  list.onOpen(list.rows[next.position] ?? next.conversation);
  return true;
}

function scrollRowIntoView(index) {
  const scroller = $("conversations");
  const top = index * ROW_HEIGHT;
  if (top < scroller.scrollTop) scroller.scrollTop = top;
  else if (top + ROW_HEIGHT > scroller.scrollTop + scroller.clientHeight) {
    scroller.scrollTop = top + ROW_HEIGHT - scroller.clientHeight;
  }
}

/** Narrows the list to one account, one company of an account, or (nulls) everything. */
export function setScope(account, company) {
  list.scope = { account, company };
  for (const item of document.querySelectorAll("#accounts [data-scope]")) {
    item.setAttribute("aria-current", String(item.dataset.scope === scopeKey(account, company)));
  }
  $("conversations").scrollTop = 0;
  reloadInbox();
}

function scopeKey(account, company) {
  return JSON.stringify([account ?? null, company ?? null]);
}

/** Rows [first, last) that should exist in the DOM now. */
function visibleRange() {
  const scroller = $("conversations");
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
  const inView = Math.ceil((scroller.clientHeight || window.innerHeight) / ROW_HEIGHT);
  const last = Math.floor(scroller.scrollTop / ROW_HEIGHT) + inView + OVERSCAN;
  return [first, list.total ? Math.min(last, list.total) : last];
}

/** Fetches the pages covering rows [first, last) that are not loaded yet, then redraws. */
async function ensureRange(first, last, always) {
  const generation = list.generation;
  const wanted = [];
  for (let page = Math.floor(first / PAGE); page * PAGE < Math.max(last, first + 1); page += 1) {
    if (!list.pages.has(page)) wanted.push(page);
  }
  const fetches = wanted.map((page) => {
    const request = fetchPage(page, generation);
    list.pages.set(page, request);
    return request;
  });
  try {
    await Promise.all(fetches);
  } catch (error) {
    for (const page of wanted) list.pages.delete(page);
    list.onError(error);
  }
  if ((fetches.length > 0 || always) && generation === list.generation) render();
}

async function fetchPage(page, generation) {
  const answer = await invoke("conversations_page", {
    account: list.scope.account,
    company: list.scope.company,
    filter: list.filter,
    offset: page * PAGE,
    limit: PAGE,
  });
  if (generation !== list.generation) return;
  list.total = answer.total;
  answer.items.forEach((row, index) => {
    list.rows[answer.offset + index] = row;
    if (row.assignee_id && !row.assignee_name && isOpaqueId(row.assignee_id)) askNames(row.account);
  });
}

/**
 * A row names its assignee only by an opaque id (the account's teammates were not read yet, e.g. on
 * a first start): reads the account's teammate list from its provider once, then redraws the rows
 * it names (only those: the others keep their nodes).
 */
async function askNames(account) {
  if (namesAsked.has(account)) return;
  namesAsked.add(account);
  try {
    if (!(await invoke("teammates_refresh", { account }))) return;
    const names = new Map((await invoke("teammates_list", { account }))
      .filter((mate) => mate.name)
      .map((mate) => [mate.id, mate.name]));
    let named = false;
    list.rows.forEach((row, index) => {
      if (row?.account !== account || row.assignee_name || !names.has(row.assignee_id)) return;
      list.rows[index] = { ...row, assignee_name: names.get(row.assignee_id) };
      named = true;
    });
    if (named) scheduleRender();
  } catch {
    // Not now (offline...): the next page asks again.
    namesAsked.delete(account);
  }
}

function scheduleRender() {
  if (list.frame) return;
  list.frame = requestAnimationFrame(() => {
    list.frame = 0;
    render();
    const [first, last] = visibleRange();
    ensureRange(first, last, false);
  });
}

/**
 * Draws the rows in view between two empty spacer items that stand in for the rows above and below.
 * (Spacers, not the list's own padding: a box cannot be shorter than its padding, so padding for
 * 10,000 rows would make the list as tall as all of them and nothing would scroll.)
 */
function render() {
  const scroller = $("conversations");
  const [first, last] = visibleRange();
  const end = Math.min(last, list.total);
  list.above.style.height = `${first * ROW_HEIGHT}px`;
  list.below.style.height = `${Math.max(0, list.total - end) * ROW_HEIGHT}px`;
  const nodes = [list.above];
  const drawn = new Map();
  // Once per frame, not per row: the row that takes Tab.
  const tabRow = focusIndex();
  for (let index = first; index < end; index += 1) {
    const row = list.rows[index];
    const open = Boolean(row) && keyOf(row) === list.openKey;
    // A row whose data and highlight did not change keeps its node (cheaper, and stable for tools).
    const known = list.drawn.get(index);
    const node = known && known.row === row && known.open === open
      ? known.node
      : row ? renderRow(row, index, tabRow) : element("li", "conversation-placeholder");
    drawn.set(index, { row, open, node });
    nodes.push(node);
  }
  list.drawn = drawn;
  nodes.push(list.below);
  const current = scroller.children;
  const same = current.length === nodes.length && nodes.every((node, index) => current[index] === node);
  if (!same) scroller.replaceChildren(...nodes);
  // The size of the whole filtered list, for the end-to-end tests (assistive tools read each
  // row's aria-setsize).
  scroller.dataset.total = String(list.total);
  if (!list.painted && nodes.some((node) => node.classList.contains("conversation"))) {
    list.painted = true;
    // Start-up benchmark: the cached inbox is on screen.
    requestAnimationFrame(() => performance.mark("inbox-painted"));
  }
  $("list-empty").hidden = list.total > 0 || !$("search-results").hidden;
}

function renderRow(conversation, index, tabRow) {
  const item = element("li", "conversation");
  item.dataset.index = String(index);
  item.dataset.id = keyOf(conversation);
  // The list is virtual: say where the row stands in the whole list, not among the drawn ones.
  item.setAttribute("aria-setsize", String(list.total));
  item.setAttribute("aria-posinset", String(index + 1));
  if (keyOf(conversation) === list.openKey) {
    item.classList.add("conversation--open");
    item.setAttribute("aria-current", "true");
  }
  if (conversation.unread) item.classList.add("conversation--unread");
  const title = element("span", "conversation__title", conversation.title ?? t("conversation.noName"));
  const preview = element("span", "conversation__preview", previewOf(conversation));
  // Customer text may be right-to-left (Hebrew, Arabic): let each piece pick its own direction.
  title.dir = "auto";
  preview.dir = "auto";
  const time = element("time", "conversation__time", relativeTime(conversation.last_message_at));
  time.title = fullTime(conversation.last_message_at);
  item.append(avatarOf(conversation), title, time, preview, unreadBadge(conversation), metaLine(conversation));
  item.tabIndex = index === tabRow ? 0 : -1;
  item.addEventListener("click", () => list.onOpen(conversation));
  item.addEventListener("keydown", (event) => onRowKey(event, index, conversation));
  item.addEventListener("contextmenu", (event) => {
    event.preventDefault();
    openRowMenu(conversation, event.clientX, event.clientY);
  });
  return item;
}

/** The row's menu (right click, or the context-menu key / Shift+F10 on a focused row). */
function openRowMenu(conversation, x, y) {
  const menu = $("row-menu");
  const entry = (label, action) => {
    const button = element("button", "row-menu__item", label);
    button.type = "button";
    button.setAttribute("role", "menuitem");
    button.addEventListener("click", () => {
      closeRowMenu();
      Promise.resolve().then(action).catch(list.onError);
    });
    return button;
  };
  const items = [entry(t("command.open"), () => list.onOpen(conversation))];
  items.push(conversation.unread
    ? entry(t("command.markRead"), () => list.onMarkRead(conversation))
    : entry(t("command.markUnread"), () => list.onMarkUnread(conversation)));
  menu.replaceChildren(...items);
  menu.hidden = false;
  const box = menu.getBoundingClientRect();
  menu.style.left = `${Math.min(x, window.innerWidth - box.width - 4)}px`;
  menu.style.top = `${Math.min(y, window.innerHeight - box.height - 4)}px`;
  menu.dataset.for = keyOf(conversation);
  items[0].focus();
}

/** Closes the row's menu; `refocus` puts the focus back on its row (not after a click elsewhere). */
function closeRowMenu(refocus = true) {
  const menu = $("row-menu");
  if (menu.hidden) return;
  const owner = menu.dataset.for;
  menu.hidden = true;
  menu.replaceChildren();
  if (refocus) $("conversations").querySelector(`li.conversation[data-id="${CSS.escape(owner ?? "")}"]`)?.focus();
}

function onRowMenuKey(event) {
  const items = [...$("row-menu").querySelectorAll("button")];
  const at = items.indexOf(document.activeElement);
  if (event.key === "Escape" || event.key === "Tab") {
    event.preventDefault();
    event.stopPropagation();
    closeRowMenu();
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    items[next]?.focus();
  }
}

/** The contact's initials on a colour of its own, with the messenger's badge. */
function avatarOf(conversation) {
  const avatar = element("span", "avatar", initials(conversation.title));
  avatar.setAttribute("aria-hidden", "true");
  avatar.style.setProperty("--avatar-hue", String(hueOf(`${conversation.account}/${conversation.id}`)));
  const badge = element("span", `avatar__channel channel--${channelFamily(conversation.channel)}`);
  avatar.append(badge);
  return avatar;
}

/** The unread count, 1–9 then 9+, drawn as a badge and said in words for screen readers. */
function unreadBadge(conversation) {
  const count = conversation.unread ? Math.max(1, conversation.unread_count ?? 1) : 0;
  const badge = element("span", "conversation__count");
  if (count === 0) {
    badge.hidden = true;
    return badge;
  }
  const drawn = element("span", "", countBadge(count));
  drawn.setAttribute("aria-hidden", "true");
  const said = element("span", "visually-hidden", count > 9 ? t("conversation.unreadMany") : tn("conversation.unreadCount", count));
  badge.append(drawn, said);
  return badge;
}

/** Messenger · account · assignee · draft. */
function metaLine(conversation) {
  const meta = element("span", "conversation__meta");
  meta.append(element("span", "", [channelName(conversation.channel), conversation.account].filter(Boolean).join(" · ")));
  if (conversation.assignee_id) {
    const mine = conversation.assignee_id === myIdOf(conversation.account);
    // An id no one reads (VoIPbin's agents are UUIDs) is never shown: "a teammate" until the name comes.
    const name = conversation.assignee_name || (mine ? t("team.me") : unnamedTeammate(conversation.assignee_id));
    const assignee = element("span", "conversation__assignee", t("conversation.assignee", { id: name }));
    assignee.title = t("conversation.assignedTo", { name });
    meta.append(assignee);
  }
  if (conversation.has_draft) meta.append(element("span", "conversation__draft", t("conversation.draft")));
  return meta;
}

/** The row that takes Tab: the open one, else the first. */
function focusIndex() {
  const open = list.rows.findIndex((row) => row && keyOf(row) === list.openKey);
  return open >= 0 ? open : 0;
}

/** Enter opens the row; ↑/↓, Home and End move the focus through the whole (virtual) list. */
function onRowKey(event, index, conversation) {
  const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: list.total - 1 };
  if (event.key === "Enter") {
    list.onOpen(conversation);
  } else if (event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey)) {
    event.preventDefault();
    const box = event.currentTarget.getBoundingClientRect();
    openRowMenu(conversation, box.left + 48, box.top + box.height / 2);
  } else if (event.key in moves && !event.altKey && !event.ctrlKey && !event.metaKey) {
    event.preventDefault();
    focusRow(Math.min(Math.max(moves[event.key], 0), list.total - 1)).catch(list.onError);
  }
}

/** Moves the keyboard focus to row `index`, loading and scrolling it into view first. */
async function focusRow(index) {
  await ensureRange(index, index + 1, false);
  scrollRowIntoView(index);
  render();
  const node = $("conversations").querySelector(`li.conversation[data-index="${index}"]`);
  if (!node) return;
  for (const other of $("conversations").querySelectorAll("li.conversation[tabindex=\"0\"]")) other.tabIndex = -1;
  node.tabIndex = 0;
  node.focus();
}

function previewOf(conversation) {
  const text = conversation.preview?.replace(/\s+/g, " ").trim();
  const body = text || (conversation.preview_has_files ? t("conversation.files") : "");
  if (!body) return "";
  return conversation.preview_direction === "out" ? t("conversation.you") + body : body;
}

/** Fills the sidebar: all accounts, each account and its companies, with unread counts. */
export async function loadSidebar() {
  const [accounts, companies] = await Promise.all([invoke("accounts_list"), invoke("companies_list")]);
  const container = $("accounts");
  clear(container);
  const total = accounts.reduce((sum, account) => sum + account.unread_conversations, 0);
  container.append(scopeItem(t("sidebar.all"), total, null, null, "accounts__item accounts__item--all"));
  for (const account of accounts) {
    const item = scopeItem(account.name, account.unread_conversations, account.name, null, "accounts__item");
    item.append(removeButton(account.name));
    container.append(item);
    const own = companies.filter((company) => company.account === account.name);
    if (own.length > 1) {
      for (const company of own) {
        const label = company.name ?? company.company_id;
        container.append(scopeItem(label, company.unread, account.name, company.company_id, "accounts__company"));
      }
    }
  }
  return { accounts, unread: total };
}

/** The account row's "×": asks (in a dialog) before removing the account. */
function removeButton(name) {
  const button = element("button", "accounts__remove secondary", "×");
  button.type = "button";
  button.title = t("account.removeFor", { name });
  button.setAttribute("aria-label", button.title);
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    list.onRemoveAccount(name);
  });
  return button;
}

function scopeItem(label, unread, account, company, className) {
  const item = element("li", className);
  item.dataset.scope = scopeKey(account, company);
  item.setAttribute("aria-current", String(item.dataset.scope === scopeKey(list.scope.account, list.scope.company)));
  item.tabIndex = 0;
  item.append(element("span", "accounts__name", label));
  if (unread > 0) item.append(element("span", "accounts__unread", String(unread)));
  item.addEventListener("click", () => setScope(account, company));
  item.addEventListener("keydown", (event) => {
    if (event.key === "Enter") setScope(account, company);
  });
  return item;
}
