// How the window writes times, channels, people and sizes for an agent: relative times in the
// locale's form, messenger names instead of API keys, initials with a colour that stays with the
// contact, and file sizes through Intl.NumberFormat. Pure functions, no DOM.

import { language, t } from "./i18n.js";

/** Messenger names by the channel keys the providers send; anything else is shown capitalised. */
const CHANNELS = {
  whatsapp: { name: "WhatsApp", family: "whatsapp" },
  whatsapp_business: { name: "WhatsApp Business", family: "whatsapp" },
  waba: { name: "WhatsApp Business", family: "whatsapp" },
  telegram: { name: "Telegram", family: "telegram" },
  telegram_personal: { name: "Telegram", family: "telegram" },
  telegram_bot: { name: "Telegram bot", family: "telegram" },
  line: { name: "LINE", family: "line" },
  viber: { name: "Viber", family: "viber" },
  instagram: { name: "Instagram", family: "instagram" },
  avito: { name: "Avito", family: "other" },
  vk: { name: "VK", family: "other" },
  sms: { name: "SMS", family: "sms" },
  message: { name: "SMS", family: "sms" },
  email: { name: "Email", family: "other" },
};

/** The messenger's name for a channel key such as `telegram_personal`. */
export function channelName(key) {
  if (!key) return "";
  const known = CHANNELS[String(key).toLowerCase()];
  if (known) return known.name;
  const words = String(key).replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The messenger family of a channel key (`whatsapp`, `telegram`, `line`, `sms`, ... or `other`): its badge colour. */
export function channelFamily(key) {
  return CHANNELS[String(key ?? "").toLowerCase()]?.family ?? "other";
}

/** Up to two initials of a name ("Olga Ivanova" → "OI"); "#" for a name with no letters. */
export function initials(name) {
  const words = String(name ?? "").match(/[\p{L}\p{N}]+/gu) ?? [];
  if (words.length === 0) return "#";
  const first = Array.from(words[0])[0];
  const second = words.length > 1 ? Array.from(words[words.length - 1])[0] : "";
  return (first + second).toLocaleUpperCase(language());
}

/** A hue (0–359) that stays the same for the same id: the avatar's colour. */
export function hueOf(id) {
  let hash = 0;
  for (const char of String(id ?? "")) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return hash % 360;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** Whole calendar days from `date` to `now` (0: today, 1: yesterday). */
export function daysAgo(date, now = new Date()) {
  return Math.round((startOfDay(now) - startOfDay(date)) / 86_400_000);
}

/**
 * A list row's time: 14:05 today, the weekday within the last six days, 12 Mar within the year,
 * 12 Mar 2025 before that. Empty for no time.
 */
export function relativeTime(rfc3339, now = new Date()) {
  if (!rfc3339) return "";
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return "";
  const days = daysAgo(date, now);
  const lang = language();
  if (days <= 0) return date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  if (days < 7) return date.toLocaleDateString(lang, { weekday: "short" });
  if (date.getFullYear() === now.getFullYear()) {
    return date.toLocaleDateString(lang, { day: "numeric", month: "short" });
  }
  return date.toLocaleDateString(lang, { day: "numeric", month: "short", year: "numeric" });
}

/** The full local date and time (a tooltip beside a short time). */
export function fullTime(rfc3339) {
  if (!rfc3339) return "";
  const date = new Date(rfc3339);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(language(), { dateStyle: "full", timeStyle: "short" });
}

/** Only the time of day (a grouped message's stamp). */
export function timeOfDay(rfc3339) {
  if (!rfc3339) return "";
  return new Date(rfc3339).toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
}

const SIZE_UNITS = ["byte", "kilobyte", "megabyte", "gigabyte"];

/** A file size in the locale's units and digits: "1.5 MB", "1,5 МБ". */
export function fileSize(bytes) {
  if (bytes === null || bytes === undefined || !Number.isFinite(Number(bytes))) return "";
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return new Intl.NumberFormat(language(), {
    style: "unit",
    unit: SIZE_UNITS[unit],
    unitDisplay: "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

/** An unread count as the list's badge shows it: 1–9, then 9+. */
export function countBadge(count) {
  return count > 9 ? "9+" : String(count);
}

/** An assignee id no person reads (a UUID, as VoIPbin's agents have), unlike Pact's user numbers. */
const OPAQUE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-/i;

/** Whether `id` is one no person reads (a UUID). */
export function isOpaqueId(id) {
  return OPAQUE_ID.test(id ?? "");
}

/** A teammate nobody named yet: their user id where people use those (Pact), else "a teammate". */
export function unnamedTeammate(id) {
  return isOpaqueId(id) ? t("conversation.someTeammate") : id;
}
