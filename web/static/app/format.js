// Pure formatting helpers shared by every page: names to initials and avatar hues, channel names,
// ISO timestamps to relative / short / full local times, datetime-local values, safe link URLs,
// and the dashboard's counts, rates and durations. No DOM, no state.

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  if (!parts.length) return '?';
  const first = parts[0][0] || '';
  const last = parts.length > 1 ? parts[parts.length - 1][0] : '';
  return (first + last).toUpperCase();
}

/** A stable hue per id so each agent keeps one avatar colour. */
export function hueOf(id) {
  let x = 0;
  for (const c of String(id)) x = (x * 31 + c.charCodeAt(0)) >>> 0;
  return x % 360;
}

export function channelLabel(kind) {
  return kind === 'whatsapp' ? 'WhatsApp' : 'SMS';
}

export function toDate(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function relTime(iso) {
  const d = toDate(iso);
  if (!d) return '';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 45) return 'now';
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))}m`;
  if (s < 86400) return `${Math.round(s / 3600)}h`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)}d`;
  return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function fullTime(iso) {
  const d = toDate(iso);
  return d ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

export function shortTime(iso) {
  const d = toDate(iso);
  if (!d) return '';
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  return sameDay
    ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** "YYYY-MM-DDTHH:mm" in the agent's time zone, for datetime-local inputs. */
export function toLocalInput(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
}

export function safeUrl(url) {
  try {
    const u = new URL(url, window.location.href);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch (_) {
    return null;
  }
}

const intFormat = new Intl.NumberFormat();
const pctFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });

export function fmtCount(n) {
  return typeof n === 'number' && Number.isFinite(n) ? intFormat.format(n) : '—';
}

export function fmtRate(rate) {
  return typeof rate === 'number' && Number.isFinite(rate) ? pctFormat.format(rate) : '—';
}

/** A duration in seconds as people say it: "45 s", "2 min 10 s", "3 h 5 min", "2 d 4 h"; "—" when unknown. */
export function fmtDuration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const pair = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
  if (s < 60) return `${s} s`;
  if (s < 3600) return pair(Math.floor(s / 60), 'min', s % 60, 's');
  const m = Math.round(s / 60);
  if (m < 24 * 60) return pair(Math.floor(m / 60), 'h', m % 60, 'min');
  const hours = Math.round(s / 3600);
  return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

/** A template variable in a text (`{{contact.first_name}}`): such a text is sent with `render`. */
export const PLACEHOLDER = /\{\{\s*(contact|agent|team)\.[A-Za-z0-9_]+\s*\}\}/;
