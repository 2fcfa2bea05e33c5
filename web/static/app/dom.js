// Small DOM helpers shared by every page: the h() element builder, debounce, toasts, and the
// little widgets several views draw the same way (avatars, channel tags, <time> elements).

import { channelLabel, fullTime, hueOf, initials } from './format.js';

/** Creates an element: attrs may hold class, text, data-*, aria-*, on<event> handlers and props. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'text') el.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
      else if (key === 'value' || key === 'checked' || key === 'selected' || key === 'disabled' || key === 'hidden') el[key] = value;
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

export function avatar(id, name, extra) {
  return h('span', Object.assign({
    class: 'avatar',
    style: `--hue:${hueOf(id)}`,
    title: name,
    'aria-label': name,
    role: 'img',
  }, extra || {}), initials(name));
}

export function channelTag(kind) {
  return h('span', { class: `chan chan-${kind === 'whatsapp' ? 'wa' : 'sms'}`, 'data-testid': 'channel-label' },
    h('span', { class: 'chan-icon', 'aria-hidden': 'true' }, kind === 'whatsapp' ? '◉' : '✉'), channelLabel(kind));
}

export function timeEl(iso, text) {
  return h('time', { datetime: iso || '', title: fullTime(iso) }, text);
}

export function toast(text, opts) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', { class: `toast ${(opts && opts.kind) || ''}`, role: 'status', 'data-testid': 'toast' },
    h('span', { class: 'toast-text' }, text));
  if (opts && opts.action) {
    item.append(h('button', { type: 'button', class: 'link', onclick: () => { opts.action.run(); item.remove(); } }, opts.action.label));
  }
  item.append(h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'));
  box.append(item);
  setTimeout(() => item.remove(), (opts && opts.ms) || 8000);
}
