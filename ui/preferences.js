// The agent's preferences in Settings: the theme (light, dark or as the system) and notifications
// (sound, only while Parley is not focused, only mine and unassigned, muted accounts). Both are kept
// in the core's settings: the theme as `theme`, notifications as one JSON value the backend reads
// before it shows a notification (parley_core::NotificationPreferences, same field names).

import { invoke } from "./ipc.js";
import { element } from "./dom.js";
import { t } from "./i18n.js";

const THEME_KEY = "theme";
const NOTIFICATIONS_KEY = "notifications";
/** What the backend assumes when nothing was saved. */
const DEFAULTS = { sound: true, only_when_unfocused: false, only_mine_or_unassigned: false, muted_accounts: [] };

const $ = (id) => document.getElementById(id);

/** Wires the controls; they save as soon as they change. */
export function initPreferences(onError) {
  $("theme-choice").addEventListener("change", () => setTheme($("theme-choice").value).catch(onError));
  for (const id of ["notify-sound", "notify-unfocused", "notify-mine"]) {
    $(id).addEventListener("change", () => saveNotifications().catch(onError));
  }
  $("notify-muted").addEventListener("change", () => saveNotifications().catch(onError));
}

/** Applies the saved theme at start. */
export async function loadTheme() {
  applyTheme(await invoke("settings_get", { key: THEME_KEY }).catch(() => null));
}

/** `light`, `dark`, or `system` (the OS's): applied at once and kept. */
export async function setTheme(theme) {
  applyTheme(theme);
  if ($("theme-choice").value !== theme) $("theme-choice").value = theme;
  await invoke("settings_set", { key: THEME_KEY, value: theme === "system" ? "" : theme });
}

function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** Fills the Settings controls from what is saved; `accounts` are the account names. */
export async function showPreferences(accounts) {
  $("theme-choice").value = document.documentElement.dataset.theme ?? "system";
  const stored = await invoke("settings_get", { key: NOTIFICATIONS_KEY }).catch(() => null);
  let saved = DEFAULTS;
  try {
    saved = { ...DEFAULTS, ...(stored ? JSON.parse(stored) : {}) };
  } catch {
    saved = DEFAULTS;
  }
  $("notify-sound").checked = saved.sound;
  $("notify-unfocused").checked = saved.only_when_unfocused;
  $("notify-mine").checked = saved.only_mine_or_unassigned;
  const muted = new Set(saved.muted_accounts ?? []);
  $("notify-muted").replaceChildren(...accounts.map((name) => {
    const label = element("label", "settings__check");
    const box = element("input");
    box.type = "checkbox";
    box.value = name;
    box.checked = muted.has(name);
    label.append(box, element("span", "", t("settings.muteAccount", { name })));
    return label;
  }));
  $("notify-muted-none").hidden = accounts.length > 0;
}

async function saveNotifications() {
  const value = {
    sound: $("notify-sound").checked,
    only_when_unfocused: $("notify-unfocused").checked,
    only_mine_or_unassigned: $("notify-mine").checked,
    muted_accounts: [...$("notify-muted").querySelectorAll("input:checked")].map((box) => box.value),
  };
  await invoke("settings_set", { key: NOTIFICATIONS_KEY, value: JSON.stringify(value) });
}
