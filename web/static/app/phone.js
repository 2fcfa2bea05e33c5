// Phone numbers in the browser: the vendored libphonenumber-js (web/static/vendor/, a classic UMD
// script that sets window.libphonenumber) loaded on first use, then formatting as an agent types
// (in the team's default country), the E.164 form of what they typed, and numbers shown the way
// people read them (national for the team's own country, international otherwise). The server's
// normalization (actors/src/phone.rs) stays the rule: this only shows it early. Without the
// library (it failed to load) everything falls back to the text as typed.

import { team } from './session.js';

const SRC = '/static/vendor/libphonenumber-js.min.js';
let loading = null;

/** Loads the library once; resolves to it, or to null when it cannot be loaded. */
export function loadPhoneLib() {
  if (window.libphonenumber) return Promise.resolve(window.libphonenumber);
  if (!loading) {
    loading = new Promise((resolve) => {
      const script = document.createElement('script');
      script.src = SRC;
      script.async = true;
      script.onload = () => resolve(window.libphonenumber || null);
      script.onerror = () => resolve(null);
      document.head.append(script);
    });
  }
  return loading;
}

function lib() {
  return window.libphonenumber || null;
}

/** The team's default country ("US"), or undefined when it has none. */
export function defaultCountry() {
  return (team.default_country || '').toUpperCase() || undefined;
}

/** Whether `text` reads as a phone number being typed rather than a name or an email. */
export function looksLikePhone(text) {
  const t = String(text || '').trim();
  return /^\+?[\d\s().\-]{3,}$/.test(t) && (t.match(/\d/g) || []).length >= 3;
}

/** `text` formatted as it is typed ("4155550100" → "(415) 555-0100"). */
export function formatAsYouType(text) {
  const l = lib();
  if (!l || !l.AsYouType) return text;
  try {
    return new l.AsYouType(defaultCountry()).input(text);
  } catch (_) {
    return text;
  }
}

/**
 * What the typed number is: `{e164, valid, possible}`. `e164` is null when the text cannot be
 * read as a number (a local number and no default country, too few digits).
 */
export function readPhone(text) {
  const l = lib();
  const t = String(text || '').trim();
  if (!t) return { e164: null, valid: false, possible: false };
  if (!l || !l.parsePhoneNumber) {
    const digits = t.replace(/[^\d]/g, '');
    return t.startsWith('+') && digits.length >= 8 ? { e164: `+${digits}`, valid: true, possible: true } : { e164: null, valid: false, possible: false };
  }
  try {
    const n = l.parsePhoneNumber(t, defaultCountry());
    if (!n) return { e164: null, valid: false, possible: false };
    return { e164: n.number, valid: n.isValid(), possible: n.isPossible() };
  } catch (_) {
    return { e164: null, valid: false, possible: false };
  }
}

/** An E.164 number as people read it: national in the team's country, else international. */
export function displayPhone(e164) {
  const l = lib();
  if (!e164 || !l || !l.parsePhoneNumber) return e164 || '';
  try {
    const n = l.parsePhoneNumber(e164);
    if (!n) return e164;
    return n.country && n.country === defaultCountry() ? n.formatNational() : n.formatInternational();
  } catch (_) {
    return e164;
  }
}
