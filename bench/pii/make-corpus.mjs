// Builds bench/pii/corpus.jsonl: support-chat messages in ten languages, some with planted PII (email, phone, card,
// IBAN, IP), all with look-alikes that must stay (order and invoice numbers, dates, times, prices, versions, tracking
// codes, numbers that fail a checksum). Each line: {lang, text, planted: [{kind, value}], keep: [strings]}.
// Deterministic (seeded): `node bench/pii/make-corpus.mjs` rewrites the same file. Phone numbers are made valid for
// their country by libphonenumber-js's number plans (a corpus of invalid numbers would measure nothing).
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max';

const require = createRequire(import.meta.url);
const examples = require('libphonenumber-js/examples.mobile.json');

let seed = 20261130;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];
const digits = (n) => Array.from({ length: n }, () => Math.floor(rnd() * 10)).join('');

function luhnDigit(body) {
  let sum = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = Number(body[i]);
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}
function card() {
  const [prefix, len] = pick([
    ['4', 16],
    ['4', 16],
    ['51', 16],
    ['55', 16],
    ['2221', 16],
    ['34', 15],
    ['37', 15],
    ['6011', 16],
    ['3530', 16],
  ]);
  const body = prefix + digits(len - prefix.length - 1);
  const n = body + luhnDigit(body);
  const style = pick(['plain', 'space', 'dash']);
  if (style === 'plain') return n;
  const groups = len === 15 ? [4, 6, 5] : [4, 4, 4, 4];
  let at = 0;
  return groups.map((g) => n.slice(at, (at += g))).join(style === 'space' ? ' ' : '-');
}
/** A 16-digit number that is no card: fails Luhn, or has no network's prefix. */
function notACard() {
  const body = pick(['9', '1', '7']) + digits(14);
  return body + luhnDigit(body);
}
function mod97(s) {
  let r = 0;
  for (const c of s) {
    const v = c >= 'A' ? c.charCodeAt(0) - 55 : Number(c);
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}
const IBAN_FORMS = { DE: 18, FR: 23, ES: 20, IT: 23, NL: 14, PL: 24, GB: 18, AT: 16, BE: 12, PT: 21 };
function iban(country, valid = true) {
  let bban = digits(IBAN_FORMS[country]);
  if (country === 'NL') bban = 'ABNA' + digits(10);
  if (country === 'GB') bban = 'NWBK' + digits(14);
  if (country === 'IT') bban = 'X' + digits(22);
  const check = String(98 - mod97(bban + country + '00')).padStart(2, '0');
  let s = country + (valid ? check : String((Number(check) + 1) % 100).padStart(2, '0')) + bban;
  if (rnd() < 0.6) s = s.match(/.{1,4}/g).join(' ');
  return s;
}
function phone(country) {
  for (;;) {
    const ex = getExampleNumber(country, examples);
    const national = ex.nationalNumber.slice(0, -3) + digits(3);
    const p = parsePhoneNumberFromString(national, country);
    if (!p || !p.isValid()) continue;
    const style = pick(['intl', 'intl', 'e164', 'national']);
    return { value: style === 'intl' ? p.formatInternational() : style === 'e164' ? p.number : p.formatNational(), national: style === 'national' };
  }
}
const NAMES = [
  'anna.schmidt',
  'jean.dupont',
  'maria_garcia',
  'luca.rossi',
  'j.smith+shop',
  'müller.jörg',
  'ivan.petrov',
  'tanaka',
  'piet.de.vries',
  'kowalski',
];
const DOMAINS = ['example.com', 'mail.de', 'exemple.fr', 'correo.es', 'posta.it', 'firma.pl', 'почта.рф', 'example.co.jp', 'voorbeeld.nl', 'exemplo.com.br'];
const email = () => `${pick(NAMES)}${rnd() < 0.3 ? digits(2) : ''}@${pick(DOMAINS)}`;
const ipv4 = () => `${1 + Math.floor(rnd() * 223)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 254)}`;
const ipv6 = () => pick([`2001:db8:${digits(2)}a1::${digits(2)}`, `fe80::${digits(3)}:ab${digits(2)}:${digits(4)}`, `2a00:1450:4001:${digits(3)}::200e`]);

// Look-alikes: each must come out untouched.
const LOOKALIKES = [
  () => `#${digits(6)}`,
  () => `${digits(10)}`,
  () => `${digits(8)}`,
  () => notACard(),
  () => `RE-2024-${digits(5)}`,
  () => `2024-${pick(['01', '03', '11'])}-${pick(['05', '15', '28'])}`,
  () => `${pick(['05', '15', '28'])}.${pick(['01', '03', '11'])}.2024`,
  () => `${pick(['05', '11'])}/${pick(['15', '28'])}/2024`,
  () => `${pick(['09', '14', '23'])}:${pick(['00', '30', '45'])}`,
  () => `${pick(['09', '14'])}:${pick(['00', '30'])}:${pick(['10', '59'])}`,
  () => `v${1 + Math.floor(rnd() * 9)}.${Math.floor(rnd() * 20)}.${Math.floor(rnd() * 30)}`,
  () => `${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 9)}.${Math.floor(rnd() * 9)}`,
  () => `1Z${digits(3)}AA1${digits(7)}`,
  () => `${digits(3)}.${digits(3)},${digits(2)} €`,
  () => `$${digits(2)},${digits(3)}.${digits(2)}`,
  () => iban(pick(Object.keys(IBAN_FORMS)), false),
  () => `${digits(5)}`,
  () => `2019-2024`,
  () => `@${pick(['anna', 'support', 'jean_d'])}`,
  () => `0x8007${digits(4)}`,
  () => `${digits(2)} %`,
  () => `ISBN 978-3-${digits(3)}-${digits(5)}-${digits(1)}`,
];

const LANGS = {
  en: {
    country: 'US',
    pii: ['Hi, you can reach me at {x}, thanks!', 'My details: {x}. Order {k} still missing.', 'Please refund to {x} (order {k}).', 'Sent from {x} on {k}.'],
    plain: ['Order {k} arrived broken, shipped {k2}.', 'The app v{k} crashes at {k2}.', 'Invoice {k} shows {k2}, is that right?'],
  },
  de: {
    country: 'DE',
    pii: [
      'Hallo, erreichbar unter {x}, danke!',
      'Meine Daten: {x}. Bestellung {k} fehlt noch.',
      'Bitte auf {x} zurückzahlen (Bestellung {k}).',
      'Gesendet von {x} am {k}.',
    ],
    plain: ['Bestellung {k} kam kaputt an, Versand am {k2}.', 'Die App stürzt bei {k} ab, um {k2}.', 'Rechnung {k} zeigt {k2}, stimmt das?'],
  },
  fr: {
    country: 'FR',
    pii: [
      'Bonjour, contactez-moi au {x}, merci !',
      'Mes coordonnées : {x}. Commande {k} toujours absente.',
      'Merci de rembourser sur {x} (commande {k}).',
      'Envoyé depuis {x} le {k}.',
    ],
    plain: ['La commande {k} est arrivée cassée, expédiée le {k2}.', "L'appli plante à {k}, vers {k2}.", 'La facture {k} indique {k2}, est-ce correct ?'],
  },
  es: {
    country: 'ES',
    pii: [
      'Hola, escríbeme a {x}, ¡gracias!',
      'Mis datos: {x}. El pedido {k} no ha llegado.',
      'Devolved el dinero a {x} (pedido {k}).',
      'Enviado desde {x} el {k}.',
    ],
    plain: ['El pedido {k} llegó roto, enviado el {k2}.', 'La app falla en {k} a las {k2}.', 'La factura {k} muestra {k2}, ¿es correcto?'],
  },
  it: {
    country: 'IT',
    pii: ['Ciao, contattami a {x}, grazie!', 'I miei dati: {x}. Ordine {k} ancora mancante.', 'Rimborsate su {x} (ordine {k}).', 'Inviato da {x} il {k}.'],
    plain: ["L'ordine {k} è arrivato rotto, spedito il {k2}.", "L'app si blocca a {k} alle {k2}.", 'La fattura {k} riporta {k2}, è giusto?'],
  },
  pt: {
    country: 'BR',
    pii: ['Olá, me chame em {x}, obrigado!', 'Meus dados: {x}. Pedido {k} não chegou.', 'Reembolsem para {x} (pedido {k}).', 'Enviado de {x} em {k}.'],
    plain: ['O pedido {k} chegou quebrado, enviado em {k2}.', 'O app trava em {k} às {k2}.', 'A fatura {k} mostra {k2}, está certo?'],
  },
  nl: {
    country: 'NL',
    pii: [
      'Hoi, bereikbaar via {x}, bedankt!',
      'Mijn gegevens: {x}. Bestelling {k} ontbreekt nog.',
      'Graag terugstorten op {x} (bestelling {k}).',
      'Verstuurd vanaf {x} op {k}.',
    ],
    plain: ['Bestelling {k} kwam kapot aan, verzonden op {k2}.', 'De app crasht bij {k} om {k2}.', 'Factuur {k} toont {k2}, klopt dat?'],
  },
  pl: {
    country: 'PL',
    pii: [
      'Cześć, pisz na {x}, dzięki!',
      'Moje dane: {x}. Zamówienie {k} nadal nie dotarło.',
      'Proszę o zwrot na {x} (zamówienie {k}).',
      'Wysłane z {x} dnia {k}.',
    ],
    plain: ['Zamówienie {k} przyszło uszkodzone, wysłane {k2}.', 'Aplikacja pada przy {k} o {k2}.', 'Faktura {k} pokazuje {k2}, czy to dobrze?'],
  },
  ru: {
    country: 'RU',
    pii: [
      'Здравствуйте, пишите на {x}, спасибо!',
      'Мои данные: {x}. Заказ {k} так и не пришёл.',
      'Верните деньги на {x} (заказ {k}).',
      'Отправлено с {x} {k}.',
    ],
    plain: ['Заказ {k} пришёл сломанным, отправлен {k2}.', 'Приложение падает на {k} в {k2}.', 'В счёте {k} указано {k2}, это верно?'],
  },
  ja: {
    country: 'JP',
    pii: [
      'こんにちは、{x} までご連絡ください。',
      '私の情報：{x}。注文 {k} がまだ届きません。',
      '{x} に返金してください（注文 {k}）。',
      '{x} から {k} に送信。',
    ],
    plain: ['注文 {k} が壊れて届きました。発送日 {k2}。', 'アプリが {k} で落ちます（{k2}）。', '請求書 {k} に {k2} とありますが正しいですか？'],
  },
};

const lines = [];
for (const [lang, l] of Object.entries(LANGS)) {
  for (let i = 0; i < 40; i++) {
    const kind = ['email', 'phone', 'card', 'iban', 'ip'][i % 5];
    let value;
    if (kind === 'email') value = email();
    else if (kind === 'phone') value = phone(pick([l.country, l.country, 'GB', 'US'])).value;
    else if (kind === 'card') value = card();
    else if (kind === 'iban') value = iban(pick(Object.keys(IBAN_FORMS)));
    else value = rnd() < 0.75 ? ipv4() : ipv6();
    const k = pick(LOOKALIKES)();
    const template = pick(l.pii);
    lines.push({ lang, text: template.replace('{x}', value).replace('{k}', k), planted: [{ kind, value }], keep: template.includes('{k}') ? [k] : [] });
  }
  for (let i = 0; i < 40; i++) {
    const k = pick(LOOKALIKES)();
    const k2 = pick(LOOKALIKES)();
    lines.push({ lang, text: pick(l.plain).replace('{k}', k).replace('{k2}', k2), planted: [], keep: [k, k2] });
  }
}
writeFileSync(new URL('./corpus.jsonl', import.meta.url), lines.map((x) => JSON.stringify(x)).join('\n') + '\n');
console.log(`${lines.length} messages, ${lines.filter((x) => x.planted.length).length} with planted PII`);
