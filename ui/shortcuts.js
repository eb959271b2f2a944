// Every command the agent can reach by keyboard, in one list: the key handler, the `?` overlay of
// shortcuts and the command palette (Ctrl+Shift+P) are all generated from COMMANDS, so a shortcut
// cannot exist in one and be missing from the others. main.js supplies what each command does.

import { element } from "./dom.js";
import { t } from "./i18n.js";

/**
 * The commands, in the order the overlay and the palette list them. `keys` are the shortcuts
 * ("Ctrl+Shift+P", "j", "Alt+ArrowDown"); `inField: true` lets the command's Ctrl and Alt shortcuts
 * fire while the focus is in a text field (plain keys there are typing, never a command);
 * `palette: false` keeps a command out of the palette.
 */
export const COMMANDS = [
  { id: "palette", keys: ["Ctrl+Shift+P"], inField: true, palette: false },
  { id: "help", keys: ["?"], palette: false },
  { id: "search", keys: ["Ctrl+K"], inField: true },
  { id: "next", keys: ["j", "Alt+ArrowDown"], inField: true },
  { id: "previous", keys: ["k", "Alt+ArrowUp"], inField: true },
  { id: "nextUnread", keys: ["n"] },
  { id: "reply", keys: ["r"] },
  { id: "savedReply", keys: [] },
  { id: "assign", keys: ["a"] },
  { id: "assignToMe", keys: ["i"] },
  { id: "archive", keys: ["e"] },
  { id: "replied", keys: [] },
  { id: "markUnread", keys: ["u"] },
  { id: "filterAll", keys: [] },
  { id: "filterMine", keys: [] },
  { id: "filterUnassigned", keys: [] },
  { id: "filterArchived", keys: [] },
  { id: "themeSystem", keys: [] },
  { id: "themeLight", keys: [] },
  { id: "themeDark", keys: [] },
  { id: "newConversation", keys: ["Ctrl+N"], inField: true },
  { id: "settings", keys: ["Ctrl+,"], inField: true },
];

const $ = (id) => document.getElementById(id);

const state = {
  /** What each command does: `{ run(), available?() }` by id. */
  handlers: {},
  onError: () => {},
  /** The palette's commands after filtering, and the highlighted one. */
  shown: [],
  active: 0,
};

/** The name of a command in the UI's language. */
export function commandLabel(command) {
  return t(`command.${command.id}`);
}

/** A key as the overlay shows it: "Ctrl+Shift+P", "Alt+↓", "J". */
export function keyLabel(key) {
  return key
    .replace("ArrowDown", "↓")
    .replace("ArrowUp", "↑")
    .replace(/(^|\+)([a-z])$/, (match, plus, letter) => plus + letter.toUpperCase());
}

/** Whether `event` is the shortcut `key` ("Ctrl+Shift+P", "Alt+ArrowDown", "j", "?"). */
export function matches(key, event) {
  const parts = key.split("+");
  const name = parts.pop();
  const wants = new Set(parts);
  if (event.ctrlKey !== wants.has("Ctrl") || event.altKey !== wants.has("Alt") || event.metaKey) return false;
  // A printable key says its own shift ("?" is Shift+/); only named keys and letters with Ctrl check it.
  const printable = name.length === 1 && !wants.has("Ctrl") && !wants.has("Alt");
  if (!printable && event.shiftKey !== wants.has("Shift")) return false;
  return name.length === 1 ? event.key.toLowerCase() === name.toLowerCase() : event.key === name;
}

/** True when the focus is where typing goes (a text field, a select, an editable element). */
function typingTarget(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !["button", "checkbox", "radio", "submit"].includes(target.type);
}

function available(command) {
  const handler = state.handlers[command.id];
  return Boolean(handler) && (handler.available?.() ?? true);
}

function run(command) {
  Promise.resolve()
    .then(() => state.handlers[command.id].run())
    .catch(state.onError);
}

/** The key handler: runs the command whose shortcut `event` is, unless the agent is typing or a dialog is open. */
function onKeyDown(event) {
  if (event.defaultPrevented || event.isComposing) return;
  const typing = typingTarget(event.target);
  const dialogOpen = document.querySelector("dialog[open]") !== null;
  for (const command of COMMANDS) {
    const key = command.keys.find((candidate) => matches(candidate, event));
    if (!key) continue;
    // In a text field a plain key is typing: only a Ctrl or Alt shortcut of an inField command fires.
    if (typing && !(command.inField && /^(Ctrl|Alt)\+/.test(key))) return;
    event.preventDefault();
    if (dialogOpen && command.id !== "search") return;
    if (available(command)) run(command);
    return;
  }
}

/**
 * Wires the shortcuts: `handlers` maps a command id to `{ run, available }`; `onError` shows a
 * command's failure.
 */
export function initShortcuts(handlers, onError) {
  state.handlers = { ...handlers, help: { run: openHelp }, palette: { run: openPalette } };
  state.onError = onError;
  document.addEventListener("keydown", onKeyDown);
  $("shortcuts-close").addEventListener("click", () => $("shortcuts").close());
  const input = $("palette-input");
  input.addEventListener("input", () => showMatches(input.value));
  input.addEventListener("keydown", onPaletteKey);
  $("palette-list").addEventListener("click", (event) => {
    const option = event.target.closest("[data-command]");
    if (option) pick(COMMANDS.find((command) => command.id === option.dataset.command));
  });
}

/** The `?` overlay: every shortcut, generated from COMMANDS. */
export function openHelp() {
  const rows = COMMANDS.filter((command) => command.keys.length > 0).map((command) => {
    const row = element("div", "shortcuts__row");
    const keys = element("dd", "shortcuts__keys");
    command.keys.forEach((key, index) => {
      if (index > 0) keys.append(element("span", "shortcuts__or", t("shortcuts.or")));
      keys.append(element("kbd", "", keyLabel(key)));
    });
    row.append(element("dt", "", commandLabel(command)), keys);
    row.dataset.command = command.id;
    return row;
  });
  $("shortcuts-list").replaceChildren(...rows);
  $("shortcuts").showModal();
}

/** The command palette: every available command, filtered as the agent types. */
export function openPalette() {
  const dialog = $("palette");
  if (dialog.open) return;
  for (const open of document.querySelectorAll("dialog[open]")) open.close();
  $("palette-input").value = "";
  showMatches("");
  dialog.showModal();
  $("palette-input").focus();
}

function showMatches(typed) {
  const words = typed.toLowerCase().split(/\s+/).filter(Boolean);
  state.shown = COMMANDS.filter((command) => command.palette !== false && available(command)).filter((command) => {
    const label = commandLabel(command).toLowerCase();
    return words.every((word) => label.includes(word));
  });
  state.active = 0;
  drawMatches();
}

function drawMatches() {
  const options = state.shown.map((command, index) => {
    const option = element("li", "palette__option");
    option.id = `palette-option-${command.id}`;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", String(index === state.active));
    option.dataset.command = command.id;
    option.append(element("span", "", commandLabel(command)));
    if (command.keys[0]) option.append(element("kbd", "", keyLabel(command.keys[0])));
    return option;
  });
  if (options.length === 0) options.push(element("li", "palette__empty", t("palette.none")));
  $("palette-list").replaceChildren(...options);
  const input = $("palette-input");
  const active = state.shown[state.active];
  if (active) input.setAttribute("aria-activedescendant", `palette-option-${active.id}`);
  else input.removeAttribute("aria-activedescendant");
  $(`palette-option-${active?.id}`)?.scrollIntoView({ block: "nearest" });
}

function onPaletteKey(event) {
  const count = state.shown.length;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    if (count === 0) return;
    state.active = (state.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
    drawMatches();
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (state.shown[state.active]) pick(state.shown[state.active]);
  }
}

function pick(command) {
  if (!command) return;
  $("palette").close();
  run(command);
}
