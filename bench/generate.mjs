// Synthetic vendor exports for the benchmark (issue 5): Dashly conversation parts, Expertflow Hybrid Chat
// messages and OnceHub conversations with the statistical shape of real ones, written as a JSON array, an API
// envelope, JSONL, or gzip of any. Plain Node ESM (no build step) so `npm run bench` and CI can run it directly.
//
// Two properties matter more than realism in any single field:
// - Deterministic: the bytes depend only on (vendor, seed, records, shape, meta position). A seeded PRNG drives
//   every choice and nothing reads the clock or Math.random, so cached inputs and test fixtures are reproducible.
// - Streaming: records are serialised in ~256 KB batches and written with backpressure (waiting for 'drain'), so
//   4,000,000 records (2.5 GB) are written in the same ~120 MB RSS as 20,000. Several shapes of the same records
//   can be written in one pass (generateFiles), since generating is the slow part.
//
// CLI:  node bench/generate.mjs --vendor dashly --shape jsonl --records 20000 --seed 1 --out /tmp/x.jsonl.gz
//       [--meta first|last] [--gzip] [--stats]     (a path ending in .gz implies --gzip)

import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';

export const VENDORS = ['dashly', 'expertflow', 'oncehub'];
export const SHAPES = ['array', 'envelope', 'jsonl'];

/** Text placed in the body of every removed (GDPR) Dashly part, followed by the part id: a redaction test looks for it. */
export const REMOVED_MARKER = 'GDPR-REMOVED-CONTENT';

// ---------------------------------------------------------------------------------------------------------------
// PRNG: sfc32 seeded through cyrb128 (fast, 128-bit state; Math.random is neither seedable nor reproducible).

function cyrb128(str) {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

export class Rng {
  constructor(seedText) {
    [this.a, this.b, this.c, this.d] = cyrb128(String(seedText));
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  float() {
    return this.u32() / 4294967296;
  }
  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo, hi) {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p) {
    return this.float() < p;
  }
  pick(arr) {
    return arr[Math.floor(this.float() * arr.length)];
  }
  /** Log-normal with the given median; sigma is the spread of ln(x). */
  lognormal(median, sigma) {
    const u1 = 1 - this.float(),
      u2 = this.float();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return median * Math.exp(sigma * z);
  }
  hex(n) {
    let s = '';
    while (s.length < n) s += this.u32().toString(16).padStart(8, '0');
    return s.slice(0, n);
  }
  alnum(n, alphabet = ALNUM) {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.float() * alphabet.length)];
    return s;
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const NANOID = 'ModuleSymbhasOwnPr-0123456789ABCDEFGHNRVfgctiUvz_KqYTJkLxpZXIjQW';

/** Cumulative-weight table for rng.weighted: [[value, weight], ...]. */
function table(entries) {
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  return entries.map(([value, w]) => {
    acc += w / total;
    return [value, acc];
  });
}
function weighted(rng, tbl) {
  const x = rng.float();
  for (let i = 0; i < tbl.length; i++) if (x < tbl[i][1]) return tbl[i][0];
  return tbl[tbl.length - 1][0];
}

// ---------------------------------------------------------------------------------------------------------------
// JSON text. Records are built as plain objects in the vendor's key order and serialised with JSON.stringify
// (fast, correct escaping). Numbers a double cannot carry (ids above 2^53, timestamps with microseconds) are held
// as sentinel strings and turned back into bare number literals by one regex afterwards.

const RAW = '~#raw#';
const RAW_RE = /"~#raw#([-0-9.eE+]+)"/g;
const raw = (numberText) => RAW + numberText;
const NON_ASCII_RE = /[\u007f-\uffff]/g;
const asciiEscape = (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');

/** Serialise one record; `ascii` mimics Python's json.dumps(ensure_ascii=True): \uXXXX for every non-ASCII unit. */
function toJson(obj, ascii) {
  let s = JSON.stringify(obj).replace(RAW_RE, '$1');
  if (ascii) s = s.replace(NON_ASCII_RE, asciiEscape);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Text: words from several scripts, emoji (astral, skin tones, ZWJ, flags), quotes, backslashes, tabs, newlines,
// CRLF, U+2028 and the odd NUL, so every writer's escaping is exercised.

const WORDS_EN = (
  'hello hi thanks please order delivery refund invoice payment account password login error ' +
  'problem issue price discount promo code app website page button cart checkout shipping tracking number ' +
  'address email phone call back tomorrow today yesterday week month help support manager operator question ' +
  'answer the a an to of and or but not is are was were be have has do does can could would should will ' +
  'I you we they it this that there here my your our their with without for from about after before when ' +
  'why how what which who ok sure great perfect unfortunately sorry apologies understand check status ' +
  'subscription plan upgrade downgrade cancel renew trial license integration widget chat bot message'
).split(' ');
const WORDS_RU = (
  'здравствуйте привет спасибо пожалуйста заказ доставка возврат счёт оплата аккаунт пароль ' +
  'ошибка проблема вопрос ответ цена скидка промокод приложение сайт страница кнопка корзина адрес почта ' +
  'телефон перезвоните завтра сегодня вчера неделя месяц помощь поддержка менеджер оператор когда почему ' +
  'как что где который хорошо отлично конечно извините понимаю проверьте статус подписка тариф отмена ' +
  'и в не на я что он с это а по но они мы вы ты мне нам вам уже ещё только очень можно нужно'
).split(' ');
const WORDS_OTHER = (
  'größe Straße café naïve déjà façade São Paulo Zürich Ελλάδα ευχαριστώ שלום مرحبا شكرا ' +
  'طلب 你好 谢谢 订单 配送 こんにちは ありがとう 注文 안녕하세요 감사합니다 नमस्ते धन्यवाद Türkçe ğüşiöç ' +
  'Đà Nẵng Việt Łódź żółć ℃ € £ ¥ ½ ™ © ® µs → ← ✓ ✗ ★ ♥ ∞ ≈ ≠ ≤ ≥'
).split(' ');
const EMOJI = [
  '😀',
  '😂',
  '🙂',
  '😉',
  '😍',
  '🤔',
  '😢',
  '😡',
  '👍',
  '👍🏽',
  '👎🏿',
  '🙏',
  '👋🏻',
  '🔥',
  '🎉',
  '✅',
  '❌',
  '❤️',
  '💔',
  '📦',
  '🚚',
  '💳',
  '📞',
  '🕐',
  '👨‍👩‍👧‍👦',
  '🧑🏽‍💻',
  '🏳️‍🌈',
  '🇷🇺',
  '🇬🇧',
  '🇩🇪',
  '🇧🇷',
  '🤷‍♀️',
  '⚠️',
  '🆗',
  '𝒳',
];
const PUNCT = ['.', ',', '!', '?', '...', ':', ';', ' -', ' —', '!!', '?!'];
const ODD = [
  '"quoted"',
  "it's",
  '«ёлочки»',
  '„Anführung“',
  '\\path\\to\\file',
  'C:\\Users\\me',
  '<b>bold</b>',
  '</script>',
  '{"json":true}',
  'a\tb',
  'x = 1; y = "2"',
  'https://example.com/a?b=1&c=2#frag',
  'support@example.com',
  '+7 (912) 345-67-89',
  '+44 20 7946 0958',
  '#12345',
  '100%',
  '$5.00',
  '@mention',
  '=SUM(A1:A3)',
  '+cmd',
  '-1',
  '@at',
  '\u2028',
  '\u00a0',
  '\u200b',
  '\u0000',
  '\r\n',
  '\u0007',
  '',
];

/** Up to `len` UTF-16 units of chat-like text in a script chosen per message. */
function chatText(rng, len) {
  const r = rng.float();
  const words = r < 0.45 ? WORDS_RU : r < 0.9 ? WORDS_EN : WORDS_OTHER;
  let s = '';
  let sentence = 0;
  while (s.length < len) {
    const x = rng.float();
    let w;
    if (x < 0.035) w = rng.pick(EMOJI);
    else if (x < 0.05) w = rng.pick(ODD);
    else if (x < 0.06) w = rng.pick(WORDS_OTHER);
    else w = words[Math.floor(rng.float() * words.length)];
    if (sentence === 0 && w.length > 0) w = w[0].toUpperCase() + w.slice(1);
    s += w;
    sentence++;
    if (sentence > 4 && rng.chance(0.14)) {
      s += rng.pick(PUNCT);
      sentence = 0;
      s += rng.chance(0.12) ? (rng.chance(0.2) ? '\n\n' : '\n') : ' ';
    } else s += ' ';
  }
  // Cut at `len` (vendors cap lengths, e.g. Expertflow at 2000), never between the halves of a surrogate pair.
  let end = Math.min(s.length, len);
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return s.slice(0, end).trimEnd();
}

// ---------------------------------------------------------------------------------------------------------------
// Time helpers (all UTC, all from a per-stream clock that only moves forward).

const pad2 = (n) => (n < 10 ? '0' : '') + n;
function isoSeconds(ms) {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
function isoMillis(ms) {
  return new Date(ms).toISOString();
}
function sqlUtc(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/**
 * Unix seconds as Dashly writes them: mostly a float with microseconds (trailing zeros dropped, as Python's repr
 * does), sometimes an integer. `micros` is integer microseconds since the epoch (exact: below 2^53).
 */
function dashlyTs(rng, micros, floatShare = 0.7) {
  const sec = Math.floor(micros / 1e6);
  if (!rng.chance(floatShare)) return sec;
  const frac = micros - sec * 1e6;
  if (frac === 0) return raw(sec + '.0');
  return raw(sec + '.' + String(frac).padStart(6, '0').replace(/0+$/, ''));
}

// ---------------------------------------------------------------------------------------------------------------
// Interleaving of conversations: parts of one conversation mostly arrive together, but a few other open
// conversations are interleaved (an export by time rather than by conversation).

class ConversationPool {
  constructor(rng, create, { maxOpen = 3, openChance = 0.04, switchChance = 0.1 } = {}) {
    this.rng = rng;
    this.create = create;
    this.open = [];
    this.maxOpen = maxOpen;
    this.openChance = openChance;
    this.switchChance = switchChance;
  }
  /** The conversation the next record belongs to; call done(c) after using it. */
  next() {
    const { rng, open } = this;
    if (open.length === 0 || (open.length < this.maxOpen && rng.chance(this.openChance))) open.push(this.create());
    if (open.length > 1 && rng.chance(this.switchChance)) return open[1 + Math.floor(rng.float() * (open.length - 1))];
    return open[0];
  }
  done(c) {
    c.index++;
    if (c.index >= c.size) this.open.splice(this.open.indexOf(c), 1);
  }
}

/** Conversation sizes 1..60, skewed to short ones (mean ~9). */
function conversationSize(rng) {
  const x = rng.float();
  if (x < 0.12) return 1;
  if (x < 0.03 + 0.12) return rng.int(40, 60);
  return Math.min(60, 2 + Math.floor(-Math.log(1 - rng.float()) * 6));
}

// ---------------------------------------------------------------------------------------------------------------
// Dashly ConversationPart

export const DASHLY_TYPES = [
  'reply_user',
  'reply_admin',
  'auto_reply',
  'note',
  'tag_added',
  'tag_deleted',
  'assigned',
  'closed',
  'final_closed',
  'delayed',
  'channel_changed',
  'vote',
  'article',
  'chat_bot_admin',
  'chat_bot_user',
  'service',
  'reply_django_user',
  'opened',
];
export const DASHLY_SENT_VIA = [
  'web_user',
  'email_user',
  'web_panel',
  'email_admin',
  'app_android',
  'app_ios',
  'app_chrome',
  'app_desktop',
  'message_auto',
  'message_manual',
  'message_chat_bot',
  'api',
  'integrations',
  'system',
  'auto_reply',
];
export const DASHLY_REPLY_TYPES = ['text', 'email', 'phone', 'no'];
export const DASHLY_ADMIN_TYPES = ['admin', 'bot', 'default_admin'];

const DASHLY_MIDDLE_TYPES = table([
  ['reply_user', 31],
  ['reply_admin', 25],
  ['auto_reply', 3.5],
  ['note', 3],
  ['tag_added', 4],
  ['tag_deleted', 1],
  ['assigned', 4.5],
  ['closed', 1.5],
  ['final_closed', 0.5],
  ['delayed', 0.7],
  ['channel_changed', 1],
  ['vote', 1],
  ['article', 0.8],
  ['chat_bot_admin', 9],
  ['chat_bot_user', 5],
  ['service', 1.5],
  ['reply_django_user', 1],
  ['opened', 0.8],
]);
const USER_TYPES = new Set(['reply_user', 'reply_django_user', 'chat_bot_user', 'vote', 'opened']);
const BOT_TYPES = new Set(['chat_bot_admin', 'auto_reply', 'service']);
const EMPTY_BODY_TYPES = new Set(['tag_added', 'tag_deleted', 'assigned', 'closed', 'opened', 'final_closed', 'delayed', 'channel_changed', 'vote']);
const CONTENT_TYPES = new Set(['reply_user', 'reply_django_user', 'reply_admin', 'note', 'article', 'chat_bot_user']);
// Attachments go on content parts only; this share of content parts reaches ~12% of all parts.
const ATTACHMENT_SHARE_OF_CONTENT = 0.12 / 0.665;
// Removed parts are also content parts: ~2% of all parts.
const REMOVED_SHARE_OF_CONTENT = 0.02 / 0.665;

const ADMIN_NAMES = [
  'Anna Petrova',
  'Иван Смирнов',
  'Olga K.',
  'Support Team',
  'Мария',
  "John O'Neil",
  'Zoë Müller',
  'Ахмед',
  'Léa Dubois',
  'Sam "Sunny" Lee',
  'Дмитрий 🚀',
  '客服小王',
  'Fatima Al-Sayed',
  'Bob',
];
const BOT_NAMES = ['Dashly Bot', 'Lead bot', 'Роутинг-бот', 'FAQ 🤖'];
const TAGS = ['VIP', 'доставка', 'refund', 'оплата', 'bug', 'lead', '🔥hot', 'B2B', 'жалоба', 'follow-up', 'Tag with spaces', 'tag"quote'];
const SENT_VIA_USER = table([
  ['web_user', 70],
  ['email_user', 7],
  ['api', 3],
  ['integrations', 2],
  ['telegram', 4],
  ['whatsapp', 3],
  ['vk', 2],
  ['instagram', 1],
  ['', 4],
  [undefined, 4],
]);
const SENT_VIA_ADMIN = table([
  ['web_panel', 55],
  ['email_admin', 6],
  ['app_android', 4],
  ['app_ios', 4],
  ['app_chrome', 2],
  ['app_desktop', 3],
  ['api', 6],
  ['integrations', 3],
  ['message_manual', 3],
  ['telegram', 2],
  ['', 3],
  [undefined, 3],
]);
const SENT_VIA_BOT = table([
  ['message_chat_bot', 50],
  ['message_auto', 20],
  ['auto_reply', 10],
  ['system', 10],
  ['api', 5],
  ['', 3],
  [undefined, 2],
]);
const SENT_VIA_SYSTEM = table([
  ['system', 60],
  ['web_panel', 25],
  ['api', 10],
  ['', 3],
  [undefined, 2],
]);
const MIME = [
  ['image/png', 'png'],
  ['image/jpeg', 'jpg'],
  ['application/pdf', 'pdf'],
  ['text/csv', 'csv'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx'],
  ['video/mp4', 'mp4'],
  ['audio/ogg', 'ogg'],
  ['application/zip', 'zip'],
];
const FILE_STEMS = [
  'screenshot',
  'invoice',
  'Скриншот 2023-05-24 в 12.01.33',
  'договор №17',
  'photo',
  'IMG_2041',
  'report final (2)',
  'file with "quotes"',
  'résumé',
  '📎 attachment',
  'export',
];

function dashlyAdmin(rng, admins, bots, kind) {
  if (kind === 'bot') return rng.pick(bots);
  if (kind === 'default' || rng.chance(0.04)) {
    // default_admin: the account's default sender; often without an id.
    return rng.chance(0.5)
      ? { name: 'Default admin', avatar: 'https://files.dashly.app/avatars/default-v4.png', type: 'default_admin' }
      : { id: 1, name: 'Default admin', avatar: 'https://files.dashly.app/avatars/default-v4.png', type: 'default_admin' };
  }
  return rng.pick(admins);
}

function makeDashlyState(rng) {
  const admins = ADMIN_NAMES.map((name, i) => ({
    id: 30000 + i * 37,
    name,
    avatar: `https://files.dashly.app/avatars/${rng.hex(8)}-${rng.hex(4)}.png`,
    type: 'admin',
  }));
  const bots = BOT_NAMES.map((name, i) => ({
    id: 90000 + i,
    name,
    avatar: 'https://files.dashly.app/avatars/bot-v2.png',
    type: 'bot',
  }));
  const st = {
    admins,
    bots,
    micros: 1_640_995_200_000_000 + rng.int(0, 86_400) * 1e6, // 2022-01-01 plus up to a day
    // Ids: 19-digit snowflake-like numbers far above 2^53, built as "14" + 17 digits from a safe integer.
    nextId: 53_279_698_921_457 + rng.int(0, 1e6),
    legacyId: 2_030_901,
    id() {
      st.nextId += 1 + Math.floor(rng.float() * 4000);
      return '14' + String(st.nextId).padStart(17, '0');
    },
  };
  st.pool = new ConversationPool(rng, () => {
    st.micros += Math.floor(rng.float() * 4e6);
    const legacy = rng.chance(0.03); // old Carrot quest data: ids below 2^53
    return {
      id: legacy ? String((st.legacyId += rng.int(1, 50))) : st.id(),
      legacy,
      size: conversationSize(rng),
      index: 0,
      micros: st.micros,
      userId: legacy ? String(rng.int(100000, 9999999)) : st.id(),
      partGroup: st.id(),
      admin: rng.pick(admins),
      email: rng.chance(0.04),
      ascii: rng.chance(0.1),
    };
  });
  return st;
}

function dashlyAttachment(rng, st, micros) {
  const [mime, ext] = rng.pick(MIME);
  const filename = `${rng.pick(FILE_STEMS)}.${ext}`;
  return {
    id: raw(st.id()),
    type: 'file',
    filename,
    mime_type: mime,
    size: Math.floor(rng.lognormal(120_000, 1.5)) + 1,
    url: `https://files.dashly.app/attachments/${rng.int(1000, 9999)}/${rng.hex(8)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(4)}-${rng.hex(12)}/${encodeURIComponent(filename)}`,
    created: dashlyTs(rng, micros - rng.int(0, 3_000_000), 0.5),
  };
}

function dashlyBody(rng, type, sentVia) {
  if (EMPTY_BODY_TYPES.has(type)) return '';
  if (sentVia === 'email_user' || sentVia === 'email_admin') {
    // Emails: long, with quoted history.
    const n = Math.min(12_000, Math.floor(rng.lognormal(560, 0.8)));
    return chatText(rng, n) + '\n\n> ' + chatText(rng, Math.floor(n / 3)).replace(/\n/g, '\n> ');
  }
  switch (type) {
    case 'chat_bot_user':
      return rng.chance(0.5) ? rng.pick(['Да', 'Нет', 'Yes', 'No', 'Доставка', 'Оплата 💳', 'Другое']) : chatText(rng, rng.int(3, 60));
    case 'auto_reply':
      return rng.pick([
        'Здравствуйте! Мы ответим в течение 5 минут 🙂',
        'Hi! Our team replies within an hour.',
        'Спасибо за обращение! Оставьте e-mail, и мы напишем вам.',
      ]);
    case 'article':
      return `${chatText(rng, rng.int(10, 40))}\nhttps://help.example.com/articles/${rng.int(100, 99999)}`;
    case 'service':
      return chatText(rng, rng.int(20, 160));
    case 'chat_bot_admin':
      return chatText(rng, Math.min(2000, Math.floor(rng.lognormal(90, 0.7))));
    default:
      if (rng.chance(0.04)) return ''; // attachment-only or sticker message
      return chatText(rng, Math.max(1, Math.min(8000, Math.floor(rng.lognormal(26, 1.2)))));
  }
}

function dashlyPart(rng, st) {
  const conv = st.pool.next();
  const firstPart = conv.index === 0;
  const lastPart = conv.index === conv.size - 1;
  let type;
  if (firstPart) type = weighted(rng, DASHLY_FIRST_TYPES);
  else if (lastPart && conv.size > 2 && rng.chance(0.5)) type = rng.chance(0.9) ? 'closed' : 'final_closed';
  else type = weighted(rng, DASHLY_MIDDLE_TYPES);

  conv.micros += type === 'reply_user' ? Math.floor(rng.lognormal(40e6, 1.4)) : Math.floor(rng.lognormal(8e6, 1.5));
  if (conv.micros > st.micros) st.micros = conv.micros;
  const micros = conv.micros;
  const id = conv.legacy ? (st.legacyId += rng.int(1, 9)) : raw(st.id());

  const isUser = USER_TYPES.has(type);
  const isBot = BOT_TYPES.has(type);
  let sentVia;
  if (isUser) sentVia = conv.email && type === 'reply_user' ? 'email_user' : weighted(rng, SENT_VIA_USER);
  else if (type === 'auto_reply') sentVia = rng.chance(0.8) ? 'auto_reply' : weighted(rng, SENT_VIA_BOT);
  else if (isBot) sentVia = type === 'service' ? (rng.chance(0.7) ? 'system' : 'integrations') : weighted(rng, SENT_VIA_BOT);
  else if (EMPTY_BODY_TYPES.has(type)) sentVia = weighted(rng, SENT_VIA_SYSTEM);
  else sentVia = conv.email && type === 'reply_admin' && rng.chance(0.7) ? 'email_admin' : weighted(rng, SENT_VIA_ADMIN);

  const removed = CONTENT_TYPES.has(type) && rng.chance(REMOVED_SHARE_OF_CONTENT);
  let body = dashlyBody(rng, type, sentVia);
  if (removed) st.stats.removed++;
  if (removed) body = `${REMOVED_MARKER}:${conv.legacy ? id : id.slice(RAW.length)} ${body || chatText(rng, 40)}`;

  let from;
  if (isUser) from = conv.legacy ? Number(conv.userId) : raw(conv.userId);
  else if (isBot) from = dashlyAdmin(rng, st.admins, st.bots, type === 'auto_reply' && rng.chance(0.5) ? 'default' : 'bot');
  else from = rng.chance(0.85) ? conv.admin : dashlyAdmin(rng, st.admins, st.bots, 'admin');

  if (!isUser && rng.chance(0.1)) conv.partGroup = st.id();
  if (isUser && rng.chance(0.15)) conv.partGroup = st.id();

  const p = { id };
  p.created = dashlyTs(rng, micros);
  if (firstPart) p.first = true;
  p.conversation = conv.legacy ? Number(conv.id) : raw(conv.id);
  p.body = body;
  p.body_json =
    type === 'chat_bot_admin' && rng.chance(0.6)
      ? { message_id: rng.int(1e5, 9e5), branch_id: rng.int(1e5, 9e5), buttons: [chatText(rng, 12), chatText(rng, 9)] }
      : type === 'auto_reply' && rng.chance(0.3)
        ? {
            popup: {
              blocks: [
                { type: 'text', text: chatText(rng, 40) },
                { type: 'button', text: 'OK 👍', action: 'close' },
              ],
            },
          }
        : {};
  p.direction = isUser ? 'u2a' : 'a2u';
  p.type = type;
  if (sentVia !== undefined) p.sent_via = sentVia;
  if (CONTENT_TYPES.has(type) && rng.chance(ATTACHMENT_SHARE_OF_CONTENT)) {
    const n = rng.chance(0.85) ? 1 : rng.int(2, 4);
    p.attachments = [];
    for (let i = 0; i < n; i++) p.attachments.push(dashlyAttachment(rng, st, micros));
  }
  p.meta_data =
    type === 'vote'
      ? { vote: rng.pick(['good', 'neutral', 'bad']), comment: rng.chance(0.3) ? chatText(rng, 50) : null }
      : type === 'chat_bot_user'
        ? { action_id: rng.int(1, 9999), bot_id: rng.int(1, 500) }
        : type === 'service'
          ? { integration: rng.pick(['amocrm', 'bitrix24', 'zapier', 'webhook']), event: 'lead_created' }
          : rng.chance(0.05)
            ? { external_id: rng.int(1, 3) }
            : {};
  p.reply_type = type === 'chat_bot_admin' ? rng.pick(DASHLY_REPLY_TYPES) : rng.chance(0.94) ? 'no' : rng.pick(DASHLY_REPLY_TYPES);
  p.actions =
    type === 'chat_bot_admin' && rng.chance(0.6)
      ? Array.from({ length: rng.int(1, 4) }, (_, i) => ({ type: 'quick_reply', body: chatText(rng, rng.int(2, 30)), meta_data: { id: i + 1 } }))
      : null;
  p.edited = CONTENT_TYPES.has(type) && rng.chance(0.03) ? dashlyTs(rng, micros + rng.int(5e6, 6e8)) : null;
  p.removed = removed ? dashlyTs(rng, micros + rng.int(864e8, 3e13)) : null;
  p.external_id = ['telegram', 'whatsapp', 'vk', 'instagram', 'integrations'].includes(sentVia) ? `${sentVia || 'ext'}-${rng.int(1e6, 9e9)}` : null;
  p.part_group = conv.legacy ? rng.int(1e6, 9e6) : raw(conv.partGroup);
  p.from = from;
  if (isUser && type !== 'opened') {
    const r = rng.float(); // Dashly booleans: true / false, and falsy as 0 or "" in some data
    p.read = r < 0.6 ? true : r < 0.9 ? false : r < 0.95 ? 0 : '';
  }
  if (type === 'tag_added' || type === 'tag_deleted') p.tag = rng.pick(TAGS);
  if (type === 'assigned') {
    if (rng.chance(0.1))
      p.assignee = null; // un-assignment
    else {
      conv.admin = rng.pick(st.admins);
      p.assignee = conv.admin;
    }
  }
  if (type === 'channel_changed') p.channel = rng.chance(0.15) ? 0 : rng.int(1, 40);
  if (sentVia === 'email_user') p.inbound_email = raw(st.id());
  if (sentVia === 'api' && rng.chance(0.5)) p.random_id = rng.int(1, 2 ** 31 - 1);

  st.pool.done(conv);
  return toJson(p, conv.ascii);
}
const DASHLY_FIRST_TYPES = table([
  ['reply_user', 70],
  ['chat_bot_admin', 10],
  ['auto_reply', 5],
  ['reply_admin', 8],
  ['reply_django_user', 2],
  ['opened', 3],
  ['service', 2],
]);

// ---------------------------------------------------------------------------------------------------------------
// Expertflow Hybrid Chat Conversation Message

export const EF_MESSAGE_TYPES = ['ChatMessage', 'ActivityMessage', 'BotMessage', 'ContactMessage', 'LocationMessage'];
export const EF_TAGS = ['Default', 'Whisper', 'Bot_Only'];
export const EF_ACTIVITY_TYPES = ['participantJoined', 'participantAdded', 'participantLeft', 'handoff', 'noAgentAvailable'];
export const EF_PARTICIPANT_TYPES = ['Customer', 'Bot', 'Agent', 'Supervisor'];
export const EF_CHANNELS = ['web', 'SMS', 'WhatsApp', 'Viber', 'facebook'];

const EF_TYPES = table([
  ['ChatMessage', 62],
  ['BotMessage', 20],
  ['ActivityMessage', 14],
  ['ContactMessage', 2],
  ['LocationMessage', 2],
]);
const EF_FIRST = ['Rizwan', 'Ayesha', 'John', 'Мария', 'Ali', 'Sara', 'محمد', 'Zoë', 'Hamza', 'Fatima'];
const EF_LAST = ['', 'Khan', 'Smith', 'Иванова', 'Ahmed', 'García', "O'Brien", 'Malik'];
const EF_INTENTS = ['greet', 'goodbye', 'order_status', 'refund', 'agent_handoff', 'billing', 'affirm', 'deny'];
const EF_LANG = ['en', 'en-US', 'ar', 'ur', 'de', 'fr', 'ru'];

/** The conversation's participant of a type; agents and supervisors join lazily (and a conversation may see two). */
function efParticipant(rng, type, conv) {
  if (type === 'Customer') return conv.customer;
  if (type === 'Bot') return conv.bot;
  const key = type === 'Agent' ? 'agents' : 'supervisors';
  if (conv[key].length === 0 || (conv[key].length < 2 && rng.chance(0.03))) {
    const first = rng.pick(EF_FIRST);
    conv[key].push({
      id: rng.alnum(21, NANOID),
      name: first,
      firstName: first,
      lastName: rng.pick(EF_LAST),
      alias: type === 'Agent' ? `agent${rng.int(1, 99)}` : first,
      type,
    });
  }
  return rng.pick(conv[key]);
}

function makeExpertflowState(rng) {
  const st = { ms: 1_672_531_200_000 + rng.int(0, 86_400_000) };
  st.pool = new ConversationPool(
    rng,
    () => {
      st.ms += rng.int(0, 5000);
      const first = rng.pick(EF_FIRST);
      return {
        id: rng.alnum(21, NANOID),
        size: conversationSize(rng),
        index: 0,
        ms: st.ms,
        customer: { id: rng.alnum(21, NANOID), name: first, firstName: first, lastName: rng.pick(EF_LAST), alias: 'undefined', type: 'Customer' },
        bot: { id: rng.alnum(21, NANOID), name: 'Bot', firstName: 'Bot', lastName: '', alias: 'undefined', type: 'Bot' },
        agents: [],
        supervisors: [],
        channel: rng.pick(EF_CHANNELS),
        refId: rng.chance(0.6) ? `+92${rng.int(3000000000, 3499999999)}` : String(rng.int(1e15, 9e15)),
        language: rng.chance(0.8) ? rng.pick(EF_LANG) : undefined,
      };
    },
    { switchChance: 0.15 },
  );
  return st;
}

function efTimestamp(rng, ms) {
  const r = rng.float();
  return r < 0.4 ? isoMillis(ms) : r < 0.7 ? sqlUtc(ms) : ms;
}

function expertflowMessage(rng, st) {
  const conv = st.pool.next();
  conv.ms += Math.floor(rng.lognormal(15000, 1.3));
  const messageType = conv.index === 0 ? 'ActivityMessage' : weighted(rng, EF_TYPES);
  let fromType;
  if (conv.index === 0) fromType = 'Customer';
  else if (messageType === 'ActivityMessage') fromType = rng.pick(EF_PARTICIPANT_TYPES);
  else if (messageType === 'BotMessage') fromType = rng.chance(0.5) ? 'Bot' : 'Customer';
  else if (messageType === 'ChatMessage') fromType = rng.pick(['Customer', 'Customer', 'Agent', 'Agent', 'Supervisor', 'Bot']);
  else fromType = 'Customer';
  const from = efParticipant(rng, fromType, conv);
  // `to` empty means "every participant"; otherwise one to three others (a whisper goes to the agent).
  const to = [];
  if (!rng.chance(0.3)) {
    const toCount = rng.int(1, 3);
    for (let i = 0; i < toCount; i++) {
      const p = efParticipant(rng, rng.pick(EF_PARTICIPANT_TYPES), conv);
      if (p !== from && !to.includes(p)) to.push(p);
    }
  }

  const m = {
    messageId: `${rng.hex(8)}-${rng.hex(4)}-4${rng.hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${rng.hex(3)}-${rng.hex(12)}`,
    conversationId: conv.id,
    to,
    from,
    messageType,
    timestamp: efTimestamp(rng, conv.ms),
  };
  const tagDraw = rng.float();
  if (tagDraw < 0.55) m.tag = 'Default';
  else if (tagDraw < 0.62) m.tag = 'Whisper';
  else if (tagDraw < 0.75) m.tag = 'Bot_Only';
  m.refId = conv.refId;
  m.processByBot = fromType === 'Customer' ? (rng.chance(0.5) ? rng.chance(0.5) : 0) : true;
  if (conv.language !== undefined) m.language = conv.language;
  m.channel = conv.channel;
  m.createdAt = isoMillis(conv.ms + rng.int(0, 50));
  m.updatedAt = isoMillis(conv.ms + rng.int(50, 2000));
  if (messageType === 'ChatMessage' || messageType === 'BotMessage') {
    m.text = chatText(rng, Math.max(1, Math.min(2000, Math.floor(rng.lognormal(70, 1.0)))));
  }
  if (messageType === 'BotMessage' || (fromType === 'Customer' && rng.chance(0.3))) m.input = chatText(rng, rng.int(5, 80));
  if (rng.chance(0.06)) {
    const [mime, ext] = rng.pick(MIME);
    m.attachments = [
      {
        fileName: `${rng.pick(FILE_STEMS)}.${ext}`,
        mimeType: mime,
        size: rng.int(100, 5e6),
        url: `https://chat.example.com/file-engine/api/downloadFileStream?filename=${rng.hex(24)}.${ext}`,
      },
    ];
  } else if (rng.chance(0.5)) m.attachments = [];
  if (messageType === 'ActivityMessage') m.activityType = conv.index === 0 ? 'participantJoined' : rng.pick(EF_ACTIVITY_TYPES);
  m.intents =
    messageType === 'BotMessage' || (fromType === 'Customer' && rng.chance(0.4))
      ? [{ name: rng.pick(EF_INTENTS), confidence: Math.round(rng.float() * 1e4) / 1e4 }]
      : [];
  m.output = messageType === 'BotMessage' && rng.chance(0.7) ? [chatText(rng, rng.int(10, 120))] : [];
  m.entities = [];
  if (messageType === 'BotMessage') {
    m.botResponseType = rng.chance(0.6) ? 'simple' : 'structured';
    if (m.botResponseType === 'structured') {
      m.structuredData = rng.chance(0.5)
        ? {
            type: 'button',
            title: chatText(rng, 30),
            buttons: [
              { title: 'Yes ✅', payload: '/affirm' },
              { title: 'No', payload: '/deny' },
            ],
          }
        : {
            type: 'carousel',
            items: [{ title: chatText(rng, 20), image: 'https://example.com/p/1.png', buttons: [{ title: 'Buy', url: 'https://example.com/p/1' }] }],
          };
    }
  }
  if (messageType === 'LocationMessage')
    m.location = { latitude: raw((rng.float() * 180 - 90).toFixed(6)), longitude: raw((rng.float() * 360 - 180).toFixed(6)), address: chatText(rng, 30) };
  if (messageType === 'ContactMessage')
    m.contact = { name: `${rng.pick(EF_FIRST)} ${rng.pick(EF_LAST)}`.trim(), phone: `+92${rng.int(3000000000, 3499999999)}` };
  st.pool.done(conv);
  return toJson(m, false);
}

// ---------------------------------------------------------------------------------------------------------------
// OnceHub conversation

export const ONCEHUB_STATUSES = ['started', 'closed', 'abandoned'];
export const ONCEHUB_INITIATED_BY = ['bot', 'contact'];
export const ONCEHUB_EXPANDABLE = ['contact', 'owner', 'bot', 'website', 'audience'];
const OH_QUESTIONS = [
  ['Full name', 'name'],
  ['Email address', 'email'],
  ['Phone number', 'phone'],
  ['Company', 'company'],
  ['Meeting location', 'text'],
  ['How can we help?', 'long'],
  ['Budget', 'text'],
  ['Как к вам обращаться?', 'name'],
  ['Preferred time', 'text'],
];
const OH_FIRST = ['Carrie', 'Lior', 'Ana', 'Дарья', 'Mehmet', 'Chloé', 'Ken', 'Priya'];
const OH_LAST = ['Customer', 'Levi', 'Souza', 'Кузнецова', 'Yılmaz', 'Martin', 'Tanaka', 'Iyer'];

function ohId(rng, prefix, n = 10) {
  return `${prefix}-${rng.alnum(n)}`;
}

function makeOncehubState(rng) {
  return {
    ms: 1_609_459_200_000 + rng.int(0, 86_400_000),
    users: Array.from({ length: 12 }, () => ohId(rng, 'USR')),
    bots: Array.from({ length: 6 }, () => ohId(rng, 'BOT')),
    websites: Array.from({ length: 4 }, () => ohId(rng, 'WEB')),
    audiences: Array.from({ length: 5 }, () => ohId(rng, 'AUD')),
  };
}

function ohTime(rng, ms) {
  return rng.chance(0.5) ? isoSeconds(ms) : isoMillis(ms);
}

function oncehubConversation(rng, st) {
  st.ms += rng.int(1000, 600_000);
  const created = st.ms;
  const updated = created + Math.floor(rng.lognormal(180_000, 1.2));
  const expand = rng.chance(0.4);
  const ex = () => expand && rng.chance(0.85); // expand= applies per request; most fields follow it
  const first = rng.pick(OH_FIRST),
    last = rng.pick(OH_LAST);
  const contactId = ohId(rng, 'CTC');
  const owner = rng.chance(0.9) ? rng.pick(st.users) : null;
  const c = {
    object: 'conversation',
    id: ohId(rng, 'CVR'),
    creation_time: ohTime(rng, created),
    initiated_by: rng.chance(0.7) ? 'contact' : 'bot',
    last_updated_time: ohTime(rng, updated),
  };
  c[rng.chance(0.35) ? 'last_interacted_time ' : 'last_interacted_time'] = ohTime(rng, updated - rng.int(0, 60_000));
  c.contact = ex()
    ? {
        id: contactId,
        object: 'contact',
        creation_time: ohTime(rng, created - rng.int(0, 1e10)),
        last_updated_time: ohTime(rng, updated),
        last_interacted_time: ohTime(rng, updated),
        owner,
        company: rng.chance(0.5) ? rng.pick(['Acme Inc.', 'ООО «Ромашка»', 'Müller & Söhne GmbH', 'Globex']) : null,
        city: rng.pick(['London', 'Tel Aviv', 'São Paulo', 'Москва', 'İstanbul', null]),
        country: rng.pick(['GB', 'IL', 'BR', 'RU', 'TR', null]),
        email: `${first}.${last}@example.com`.toLowerCase(),
        first_name: first,
        last_name: last,
        job_title: rng.chance(0.5) ? rng.pick(['CTO', 'Head of Support', 'Менеджер']) : null,
        has_consent: rng.chance(0.7),
        mobile_phone: rng.chance(0.5) ? `+1 555 ${rng.int(1000000, 9999999)}` : null,
        phone: null,
        custom_fields: rng.chance(0.3) ? [{ name: 'Plan', value: rng.pick(['Free', 'Pro']) }] : [],
        timezone: rng.pick(['Europe/London', 'Asia/Jerusalem', 'America/Sao_Paulo']),
      }
    : contactId;
  c.owner =
    owner && ex() ? { id: owner, object: 'user', name: `${rng.pick(OH_FIRST)} ${rng.pick(OH_LAST)}`, email: `${owner.toLowerCase()}@corp.example.com` } : owner;
  const status = rng.float();
  c.status = status < 0.55 ? 'closed' : status < 0.8 ? 'abandoned' : 'started';
  const website = rng.pick(st.websites);
  c.website = ex() ? { id: website, object: 'website', name: 'Main site', url: 'https://www.example.com/pricing?utm_source=chat' } : website;
  const audience = rng.chance(0.5) ? rng.pick(st.audiences) : null;
  c.audience = audience && ex() ? { id: audience, object: 'audience', name: rng.pick(['Returning visitors', 'Pricing page', 'Все посетители']) } : audience;
  const bot = rng.pick(st.bots);
  c.bot = ex() ? { id: bot, object: 'bot', name: rng.pick(['Website bot', 'Qualifier 🤖', 'Booking bot']) } : bot;
  const nAnswers = c.status === 'abandoned' ? rng.int(0, 2) : rng.int(0, 6);
  c.answers = [];
  for (let i = 0; i < nAnswers; i++) {
    const [question, kind] = OH_QUESTIONS[(i + rng.int(0, 2)) % OH_QUESTIONS.length];
    const value =
      kind === 'name'
        ? `${first} ${last}`
        : kind === 'email'
          ? `so.${first}.${last}@gmail.com`.toLowerCase()
          : kind === 'phone'
            ? `+1 (555) ${rng.int(100, 999)}-${rng.int(1000, 9999)}`
            : kind === 'company'
              ? 'Acme Inc.'
              : kind === 'long'
                ? chatText(rng, Math.min(3000, Math.floor(rng.lognormal(120, 1))))
                : chatText(rng, rng.int(3, 40));
    c.answers.push({ id: ohId(rng, 'INT'), internal_label: rng.chance(0.3) ? kind : '', question, value });
  }
  c.bookings = c.status === 'closed' && rng.chance(0.4) ? Array.from({ length: rng.int(1, 2) }, () => ohId(rng, 'BKNG', 12)) : [];
  return toJson(c, false);
}

const VENDOR_IMPL = {
  dashly: {
    init: makeDashlyState,
    record: dashlyPart,
    meta: (rng) => ({ status: 200, next_before_position: null, next_after_position: [rng.int(1e9, 2e9), raw('1453279698921457472')] }),
  },
  expertflow: { init: makeExpertflowState, record: expertflowMessage, meta: () => ({ status: 200 }) },
  oncehub: { init: makeOncehubState, record: oncehubConversation, meta: () => ({ status: 200, has_more: false }) },
};

// ---------------------------------------------------------------------------------------------------------------
// Containers

/**
 * Yields the records of one stream as batches of JSON texts (about `batchChars` characters per batch). The records
 * depend only on (vendor, seed): every shape written from them holds the same data, so cases compare like with like.
 * `stats.removed` counts the removed (GDPR) records generated, for checking a run's redaction count.
 */
export function* recordBatches({ vendor, records, seed, batchChars = 256 * 1024, stats = { removed: 0 } }) {
  const impl = VENDOR_IMPL[vendor];
  if (!impl) throw new Error(`unknown vendor ${vendor} (expected ${VENDORS.join('|')})`);
  if (!Number.isSafeInteger(records) || records < 0) throw new Error('records must be a non-negative integer');
  const rng = new Rng(`${seed}:${vendor}`);
  const st = impl.init(rng);
  st.stats = stats;
  let batch = [];
  let chars = 0;
  for (let i = 0; i < records; i++) {
    const text = impl.record(rng, st);
    batch.push(text);
    chars += text.length;
    if (chars >= batchChars) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * The text around and between records for one container shape. Outer whitespace differs by shape on purpose
 * (readers must skip it): the array has one element per line; the envelope is a single line with Python-style
 * ", " separators, like an API response saved as is, with `meta` before or after `data`.
 */
export function container({ vendor, shape, seed, meta = 'first', records }) {
  if (!SHAPES.includes(shape)) throw new Error(`unknown shape ${shape} (expected ${SHAPES.join('|')})`);
  if (meta !== 'first' && meta !== 'last') throw new Error(`meta must be first or last, not ${meta}`);
  if (shape === 'jsonl') return { open: '', sep: '\n', close: records > 0 ? '\n' : '' };
  if (shape === 'array') return { open: '[\n', sep: ',\n', close: '\n]\n' };
  const metaText = toJson(VENDOR_IMPL[vendor].meta(new Rng(`${seed}:${vendor}:meta`)), false);
  return meta === 'first'
    ? { open: `{"meta": ${metaText}, "data": [`, sep: ', ', close: ']}\n' }
    : { open: '{"data": [', sep: ', ', close: `], "meta": ${metaText}}\n` };
}

/** Yields the text of one file in chunks (for tests and small outputs; generateFiles streams to disk). */
export function* generateChunks({ vendor, shape, records, seed, meta = 'first' }) {
  const c = container({ vendor, shape, seed, meta, records });
  let first = true;
  yield c.open;
  for (const batch of recordBatches({ vendor, records, seed })) {
    yield (first ? '' : c.sep) + batch.join(c.sep);
    first = false;
  }
  yield c.close;
}

function openSink(out, gzip) {
  const tmp = `${out}.${process.pid}.tmp`;
  const file = createWriteStream(tmp);
  let head = file;
  let done;
  if (gzip) {
    // Level 6 is gzip's default and what exports usually have; Node writes mtime 0 in the gzip header, so the
    // output stays byte-identical between runs.
    head = createGzip({ level: 6 });
    done = pipeline(head, file);
  } else {
    done = finished(file);
  }
  // `done` rejects on a stream error; mark it handled here and surface it through write() and finish().
  let failure = null;
  done.catch((err) => {
    failure = err;
  });
  return {
    out,
    tmp,
    bytes: 0,
    async write(text) {
      if (failure) throw failure;
      const buf = Buffer.from(text, 'utf8');
      this.bytes += buf.length;
      // Backpressure: wait for 'drain' before producing more (events.once also rejects on 'error').
      if (!head.write(buf)) await once(head, 'drain');
    },
    async finish() {
      head.end();
      await done;
      await rename(tmp, out);
      return (await stat(out)).size;
    },
    async abort() {
      head.destroy();
      await done.catch(() => {});
      await rm(tmp, { force: true });
    },
  };
}

/**
 * Writes several shapes of the same records in one pass (generation is the slow part, so the four Dashly inputs
 * cost one). Each output: { shape, out, meta?, gzip? } (gzip defaults to out ending in .gz). Files appear
 * atomically (a temporary sibling renamed into place). Returns per output { out, records, bytes (uncompressed),
 * fileBytes }, the number of removed records and the total seconds.
 */
export async function generateFiles({ vendor, records, seed, outputs }) {
  const t0 = process.hrtime.bigint();
  const specs = outputs.map((o) => ({
    ...o,
    c: container({ vendor, shape: o.shape, seed, meta: o.meta ?? 'first', records }),
    gzip: o.gzip ?? o.out.endsWith('.gz'),
  }));
  for (const s of specs) await mkdir(path.dirname(path.resolve(s.out)), { recursive: true });
  const sinks = specs.map((s) => openSink(s.out, s.gzip));
  try {
    for (let i = 0; i < specs.length; i++) await sinks[i].write(specs[i].c.open);
    let first = true;
    const stats = { removed: 0 };
    for (const batch of recordBatches({ vendor, records, seed, stats })) {
      await Promise.all(specs.map((s, i) => sinks[i].write((first ? '' : s.c.sep) + batch.join(s.c.sep))));
      first = false;
    }
    for (let i = 0; i < specs.length; i++) await sinks[i].write(specs[i].c.close);
    const fileBytes = [];
    for (const sink of sinks) fileBytes.push(await sink.finish());
    return {
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      removed: stats.removed,
      files: sinks.map((sink, i) => ({ out: sink.out, shape: specs[i].shape, records, bytes: sink.bytes, fileBytes: fileBytes[i] })),
    };
  } catch (err) {
    await Promise.all(sinks.map((s) => s.abort()));
    throw err;
  }
}

/** Writes one file; see generateFiles. Returns { out, shape, records, bytes, fileBytes, removed, seconds }. */
export async function generateFile({ vendor, shape, records, seed, out, meta = 'first', gzip }) {
  const r = await generateFiles({ vendor, records, seed, outputs: [{ shape, out, meta, gzip }] });
  return { ...r.files[0], removed: r.removed, seconds: r.seconds };
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      vendor: { type: 'string', default: 'dashly' },
      shape: { type: 'string', default: 'jsonl' },
      records: { type: 'string', default: '1000000' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      meta: { type: 'string', default: 'first' },
      gzip: { type: 'boolean' },
      stats: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.out) {
    process.stderr.write(
      'usage: node bench/generate.mjs --vendor dashly|expertflow|oncehub --shape array|envelope|jsonl ' +
        '--records N --seed S --out FILE[.gz] [--meta first|last] [--gzip] [--stats]\n',
    );
    return values.help ? 0 : 2;
  }
  if (values.meta !== 'first' && values.meta !== 'last') throw new Error('--meta must be first or last');
  const records = Number(values.records);
  if (!Number.isSafeInteger(records) || records < 0) throw new Error(`--records must be a non-negative integer, not ${values.records}`);
  const result = await generateFile({
    vendor: values.vendor,
    shape: values.shape,
    records,
    seed: values.seed,
    out: values.out,
    meta: values.meta,
    gzip: values.gzip ? true : undefined,
  });
  if (values.stats) {
    // maxRSS of this process (KiB on Linux): shows the generator streams rather than buffering the file.
    process.stdout.write(JSON.stringify({ ...result, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`generate: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
