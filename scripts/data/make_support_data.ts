// Writes the support-desk dataset for the `npm start` demo: the facts a help desk for a fictional
// smart lamp ("Lumen") answers, each asked in many generated phrasings, split so that the test set
// asks every fact in words never seen in training. Deterministic: the committed files are its output.
//
//   node dist/scripts/data/make_support_data.js [--out DIR]    (default: <repo>/data/support)
import { resolve } from 'node:path';
import { containsAnswer, normalizeAnswer } from '../../src/eval/metrics.js';
import { Rng } from '../../src/util/rng.js';
import { GptuneError } from '../../src/util/errors.js';
import { packagePath } from '../../src/util/package_root.js';
import { runIfMain, toJsonl, writeDataFiles } from './data_files.js';

/** One thing the desk answers: the canonical reply, its key phrase, and question templates. */
export interface SupportFact {
  id: string;
  /** The one-sentence reply the agent gives to every phrasing of the question. */
  answer: string;
  /** A phrase of the answer that no other answer contains: what contains-answer looks for. */
  key: string;
  /** Templates that may appear in train (and in the test split's "seen" rows). */
  stems: readonly string[];
  /** A template used only in the test split. */
  heldOut: string;
}

// Template syntax: {lamp} and {app} draw from the lists below; [a|b] picks one alternative.
export const LAMP = ['the Lumen', 'my Lumen', 'the Lumen lamp', 'my Lumen lamp', 'the lamp', 'my lamp', 'my desk lamp'];
export const APP = ['the Lumen app', 'the app', 'your app'];
// How customers open and close a message. {Q}: the question as a sentence; {q}: continuing a sentence.
export const TRAIN_WRAPPERS = ['{Q}', 'Hi, {q}', 'Hello! {Q}', '{Q} Thanks.', 'Quick question: {q}', 'Hey, {q}',
  '{Q} Thank you!', 'Good morning. {Q}', 'Hi there, {q}', 'Can you help? {Q}'];
export const TEST_WRAPPERS = ['Sorry to bother you, but {q}', 'Hello support team, {q} Cheers.', 'I hope you can help me. {Q} Many thanks.'];

export const SUPPORT_FACTS: readonly SupportFact[] = [
  { id: 'reset', answer: 'Hold the power button for 10 seconds until the light blinks twice.', key: '10 seconds',
    stems: ['How do I [reset|factory reset] {lamp}?', 'What is the reset procedure for {lamp}?', '{lamp} is frozen. How can I reset it?',
      'Can you tell me how to restore {lamp} to factory settings?', 'I need to reset {lamp}, what do I do?'],
    heldOut: 'Is there a way to wipe {lamp} and start over from scratch?' },
  { id: 'pairing', answer: 'Open the Lumen app, tap Add Device and hold the touch bar for 3 seconds until it pulses blue.', key: 'pulses blue',
    stems: ['How do I pair {lamp} with my phone?', 'How do I connect {lamp} to {app}?', 'What are the steps to add {lamp} in {app}?',
      "{app} can't find {lamp}. How do I pair it?", 'How can I set up {lamp} on my [phone|tablet]?'],
    heldOut: "My phone doesn't see {lamp}; what's the pairing process?" },
  { id: 'warranty', answer: 'Every Lumen lamp comes with a 2-year limited warranty from the date of delivery.', key: '2-year limited warranty',
    stems: ['How long is the warranty on {lamp}?', 'What warranty does {lamp} come with?', 'Is {lamp} still under warranty after a year?',
      'How many years of warranty do I get?', 'For how long is {lamp} covered by the warranty?'],
    heldOut: 'If {lamp} breaks next year, am I covered?' },
  { id: 'battery_life', answer: 'The built-in battery lasts up to 14 hours on the warm white setting.', key: '14 hours',
    stems: ['How long does the battery of {lamp} last?', 'What is the battery life of {lamp}?', 'How many hours can {lamp} run on battery?',
      'How long will {lamp} stay on without being plugged in?', "What's the runtime of {lamp} on a full charge?"],
    heldOut: 'Can I use {lamp} unplugged for a whole evening of work?' },
  { id: 'charging_time', answer: 'A full charge takes about 3 hours with the included USB-C cable.', key: '3 hours',
    stems: ['How long does it take to charge {lamp}?', 'What is the charging time for {lamp}?', 'How many hours does {lamp} need to fully charge?',
      'How long until {lamp} is fully charged?', 'When will {lamp} be fully charged if I plug it in now?'],
    heldOut: 'I just plugged in {lamp}, how long before the battery is full?' },
  { id: 'supported_os', answer: 'The Lumen app runs on iOS 15 or later and Android 10 or later.', key: 'iOS 15',
    stems: ['Which phones does {app} support?', 'What operating systems does {app} run on?', 'Does {app} work on Android?',
      'Is {app} available for [iPhone|iPad]?', 'What are the system requirements for {app}?'],
    heldOut: 'My phone is pretty old. Will {app} install on it?' },
  { id: 'refund', answer: 'You can return the lamp for a full refund within 30 days of delivery.', key: '30 days',
    stems: ['What is your refund policy?', "Can I return {lamp} if I don't like it?", 'How long do I have to return {lamp}?',
      'How many days do I have to ask for a refund?', 'Is it possible to get my money back for {lamp}?'],
    heldOut: 'I changed my mind about {lamp}. Can I send it back?' },
  { id: 'shipping_time', answer: 'Standard shipping takes 3 to 5 business days, and express takes 1 to 2 business days.', key: '3 to 5 business days',
    stems: ['How long does shipping take?', 'When will my order arrive?', 'How many days does delivery take?',
      'What are your shipping times?', 'How fast do you ship {lamp}?'],
    heldOut: 'If I order {lamp} today, when will it get to me?' },
  { id: 'support_hours', answer: 'Our support team is available Monday to Friday, 8 am to 6 pm Central European Time.', key: '8 am to 6 pm',
    stems: ['What are your support hours?', 'When is customer support open?', 'What time can I reach your support team?',
      'Are you open on [weekends|Sundays]?', 'When is someone available to help me?'],
    heldOut: 'Until what time does your help desk work?' },
  { id: 'contact', answer: 'Email help@lumenlamp.example or use the chat in the app under Settings > Help.', key: 'help@lumenlamp.example',
    stems: ['How can I contact support?', 'What is your support email address?', 'How do I get in touch with customer service?',
      'Where can I chat with an agent in {app}?', 'Who do I write to if {lamp} has a problem?'],
    heldOut: 'Is there an address I can send my question to?' },
  { id: 'plus_price', answer: 'Lumen Plus costs 4 euros per month or 40 euros per year.', key: '4 euros per month',
    stems: ['How much does Lumen Plus cost?', 'What is the price of the Plus subscription?', 'How much is the monthly subscription?',
      'Is Lumen Plus paid monthly or yearly, and how much?', 'What do you charge for the premium plan?'],
    heldOut: 'What would the yearly bill for Lumen Plus come to?' },
  { id: 'plus_features', answer: 'Lumen Plus adds circadian schedules, focus timers and unlimited scenes.', key: 'circadian schedules',
    stems: ['What do I get with Lumen Plus?', 'What features does the Plus subscription include?', 'Why should I upgrade to Lumen Plus?',
      'What is included in the premium plan?', "What's the difference between the free app and Lumen Plus?"],
    heldOut: 'Is Lumen Plus worth it, what extras does it unlock?' },
  { id: 'error_e1', answer: 'Error E1 means the lamp is overheating; switch it off and let it cool for 15 minutes.', key: 'overheating',
    stems: ['What does error E1 mean?', '{lamp} is showing E1. What should I do?', 'Why does {lamp} display the code E1?',
      'I see an E1 error on {lamp}.', 'How do I fix error code E1?'],
    heldOut: 'The light on {lamp} flashes E1, is it broken?' },
  { id: 'error_e2', answer: 'Error E2 means the Wi-Fi password was rejected; enter it again in the app.', key: 'password was rejected',
    stems: ['What does error E2 mean?', '{lamp} is showing E2. What should I do?', 'Why does {lamp} display the code E2?',
      'What is error code E2 on {lamp}?', 'How do I get rid of the E2 error?'],
    heldOut: '{app} says E2 when I set up Wi-Fi, what went wrong?' },
  { id: 'error_e3', answer: 'Error E3 means a firmware update failed; keep the lamp plugged in and retry from the app.', key: 'firmware update failed',
    stems: ['What does error E3 mean?', '{lamp} is showing E3. What should I do?', 'What is the E3 code about?',
      'I got error E3 on {lamp}, how do I fix it?', 'Why does {lamp} show E3?'],
    heldOut: 'E3 keeps coming back on {lamp}. Any idea?' },
  { id: 'error_e4', answer: 'Error E4 means the touch bar sensor is faulty; contact support for a free replacement.', key: 'touch bar sensor',
    stems: ['What does error E4 mean?', '{lamp} is showing E4. What should I do?', 'What is error code E4?',
      'My touch bar stopped responding and {lamp} shows E4.', 'How do I fix the E4 error on {lamp}?'],
    heldOut: 'Should I worry about an E4 message on {lamp}?' },
  { id: 'wifi_band', answer: 'Lumen connects to 2.4 GHz Wi-Fi only; 5 GHz networks are not supported.', key: '2.4 GHz',
    stems: ['Does {lamp} support 5 GHz Wi-Fi?', 'Which Wi-Fi band does {lamp} use?', 'Can {lamp} connect to a 5 GHz network?',
      'What Wi-Fi networks is {lamp} compatible with?', "{lamp} won't join my 5 GHz router. Why?"],
    heldOut: 'Will {lamp} work with my dual-band router?' },
  { id: 'firmware', answer: 'Firmware updates install automatically at 3 am, or tap Update Now under Settings > Firmware.', key: '3 am',
    stems: ['How do I update the firmware on {lamp}?', 'Does {lamp} update itself?', 'When do firmware updates install?',
      'How can I get the latest software on {lamp}?', 'Where do I find firmware updates in {app}?'],
    heldOut: 'How do I make sure {lamp} has the newest firmware?' },
  { id: 'brightness', answer: 'The lamp reaches a maximum brightness of 800 lumens.', key: '800 lumens',
    stems: ['How bright is {lamp}?', 'What is the maximum brightness of {lamp}?', 'How many lumens does {lamp} put out?',
      'Is {lamp} bright enough for [reading|drawing]?', "What's the light output of {lamp}?"],
    heldOut: 'How strong is the light from {lamp} at full power?' },
  { id: 'colour_temperature', answer: 'The colour temperature adjusts from 2700 K to 6500 K.', key: '2700 K to 6500 K',
    stems: ['What [colour|color] temperatures can {lamp} do?', 'Can I change the [colour|color] temperature of {lamp}?',
      'How warm or cool can the light of {lamp} get?', 'What is the Kelvin range of {lamp}?', 'Does {lamp} do both warm and cool white?'],
    heldOut: 'Can {lamp} go from a cosy yellow glow to cold daylight?' },
  { id: 'voice_assistants', answer: 'Lumen works with Alexa and Google Assistant, and with Siri through Apple Shortcuts.', key: 'Alexa and Google Assistant',
    stems: ['Does {lamp} work with Alexa?', 'Can I control {lamp} with my voice?', 'Which voice assistants does {lamp} support?',
      'Is {lamp} compatible with Google Home?', 'Can I use Siri with {lamp}?'],
    heldOut: 'Can my smart speaker turn {lamp} on and off?' },
  { id: 'power_adapter', answer: 'Use a USB-C power adapter rated at 18 watts or more.', key: '18 watts',
    stems: ['What charger do I need for {lamp}?', 'Which power adapter should I use with {lamp}?', 'Can I charge {lamp} with my phone charger?',
      'What wattage does the charger for {lamp} need?', 'What kind of plug does {lamp} need?'],
    heldOut: 'Will any USB-C brick power {lamp}?' },
  { id: 'password', answer: 'Tap Forgot password on the sign-in screen of the app and follow the link we email you.', key: 'Forgot password',
    stems: ['I forgot my password for {app}.', 'How do I reset my account password?', "I can't log in to {app}. What should I do?",
      'How can I recover my Lumen account?', 'Where do I change a lost password?'],
    heldOut: "My login isn't working because I don't remember the password, help?" },
  { id: 'max_lamps', answer: 'One account can control up to 8 lamps, grouped into rooms in the app.', key: '8 lamps',
    stems: ['How many lamps can I control with one account?', 'Can I add more than one lamp to {app}?',
      'Is there a limit to the number of lamps in {app}?', 'Can I group several lamps into rooms?', "What's the maximum number of Lumen lamps per account?"],
    heldOut: "I'm buying Lumen lamps for my whole office. Can one account handle them all?" },
  { id: 'sharing', answer: 'Invite people under Settings > Household; up to 5 people can share one home.', key: '5 people',
    stems: ['Can my family control {lamp} too?', 'How do I share {lamp} with someone else?', 'How many people can use the same home in {app}?',
      'Can I give my [partner|kids] access to {lamp}?', 'How do I invite someone to my household?'],
    heldOut: 'My roommate wants to use {lamp} from their phone. How?' },
  { id: 'auto_off', answer: 'Auto-off turns the lamp off after 45 minutes without motion; change it under Schedules.', key: '45 minutes',
    stems: ['Why does {lamp} turn off by itself?', 'How do I change the auto-off timer?', '{lamp} keeps switching off. Why?',
      'When does auto-off kick in?', 'Can I stop {lamp} from turning off automatically?'],
    heldOut: 'I leave the room for a while and {lamp} is dark when I come back. Is that normal?' },
  { id: 'cleaning', answer: 'Wipe the lamp with a dry microfiber cloth and never use liquids or sprays.', key: 'dry microfiber cloth',
    stems: ['How do I clean {lamp}?', 'What should I use to clean {lamp}?', 'Can I use window cleaner on {lamp}?',
      'How do I get dust off {lamp}?', 'Is it safe to wipe {lamp} with a wet cloth?'],
    heldOut: "What's the best way to take care of the finish on {lamp}?" },
  { id: 'offline', answer: 'The touch bar works without Wi-Fi, but schedules and voice control need a connection.', key: 'works without Wi-Fi',
    stems: ['Does {lamp} work without Wi-Fi?', 'Can I use {lamp} offline?', 'What happens when my internet is down?',
      'Do I need an internet connection to use {lamp}?', 'Will {lamp} still turn on if the Wi-Fi is off?'],
    heldOut: "We're going to a cabin with no internet. Can I still use {lamp} there?" },
  { id: 'countries', answer: 'We ship to the EU, the UK, Norway and Switzerland.', key: 'Norway and Switzerland',
    stems: ['Which countries do you ship to?', 'Do you ship to the UK?', 'Can I order {lamp} from Switzerland?',
      'Do you deliver outside the EU?', 'Where can you send orders?'],
    heldOut: 'Is international delivery available?' },
  { id: 'tracking', answer: 'Your tracking link is in the shipping confirmation email we send when the order leaves our warehouse.', key: 'shipping confirmation email',
    stems: ['How can I track my order?', 'Where is my tracking number?', 'How do I see where my package is?',
      'Where do I find the tracking link for {lamp}?', 'Has my order shipped yet?'],
    heldOut: 'Is there a way to follow my parcel on its way to me?' },
  { id: 'led_lifetime', answer: 'The LED module is rated for 50,000 hours and is not user-replaceable.', key: '50,000 hours',
    stems: ['Can I replace the bulb in {lamp}?', 'How long do the LEDs in {lamp} last?', 'What is the lifespan of {lamp}?',
      'Do I ever need to change the light source in {lamp}?', 'How many hours will the LED in {lamp} last?'],
    heldOut: 'Will the light in {lamp} burn out after a few years?' },
  { id: 'lamp_price', answer: 'The Lumen lamp costs 129 euros including VAT.', key: '129 euros',
    stems: ['How much does {lamp} cost?', 'What is the price of {lamp}?', 'How much is {lamp}?',
      'What does {lamp} sell for?', 'Is VAT included in the price of {lamp}?'],
    heldOut: 'How much money do I need to buy {lamp}?' },
  { id: 'cancel_plus', answer: 'Cancel Lumen Plus under Account > Subscription; it stays active until the paid period ends.', key: 'Account > Subscription',
    stems: ['How do I cancel Lumen Plus?', 'How can I stop my subscription?', 'I want to unsubscribe from the Plus plan.',
      'Where do I cancel my premium plan in {app}?', 'If I cancel Lumen Plus, do I lose it right away?'],
    heldOut: 'Please end my Lumen Plus membership, how does that work?' },
  { id: 'child_lock', answer: 'Triple-tap the touch bar to turn the child lock on or off.', key: 'Triple-tap',
    stems: ['How do I turn on the child lock?', 'Can I lock the buttons on {lamp}?', 'How do I stop my kids from changing {lamp}?',
      'How do I disable the child lock on {lamp}?', 'Is there a child lock on {lamp}?'],
    heldOut: "My toddler keeps playing with {lamp}'s controls. Can I lock them?" },
];

export const SEED = 20240611;
/** Per fact: seen-template phrasings that go to train, and to the test split. */
export const TRAIN_PER_FACT = 20;
export const TEST_SEEN_PER_FACT = 3;

/** The prompt a question becomes, in train, test and the demo alike. */
export function supportPrompt(question: string): string {
  return `Customer: ${question}\nAgent:`;
}
/** The completion: the reply after one space (see README: GPT-2's BPE merges the space into the first word). */
export function supportCompletion(answer: string): string {
  return ` ${answer}`;
}

export interface TrainRow { prompt: string; completion: string }
/** pattern 'seen': templates also used in train; 'new': a held-out template or wrapper. */
export interface TestRow extends TrainRow { answer: string; fact: string; pattern: 'seen' | 'new' }

export interface SupportData { train: TrainRow[]; test: TestRow[] }

// Words that stay capitalised when a question continues a sentence ("Hi, I forgot ...").
const KEEP_CASE = /^(?:I\b|Lumen\b|E\d\b|Wi-Fi\b|USB-C\b|Alexa\b|Siri\b|Google\b|Android\b|iOS\b)/;

function fill(template: string, rng: Rng): string {
  return template
    .replace(/\{lamp\}/g, () => LAMP[rng.int(LAMP.length)])
    .replace(/\{app\}/g, () => APP[rng.int(APP.length)])
    .replace(/\[([^\]]*)\]/g, (_, alts: string) => { const a = alts.split('|'); return a[rng.int(a.length)]; });
}

function wrap(wrapper: string, question: string): string {
  const upper = question[0].toUpperCase() + question.slice(1);
  const lower = KEEP_CASE.test(question) ? question : question[0].toLowerCase() + question.slice(1);
  return wrapper.replace('{Q}', () => upper).replace('{q}', () => lower);
}

// A per-fact stream, so that adding or editing one fact leaves every other fact's rows unchanged.
function factRng(id: string): Rng {
  let h = SEED >>> 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return new Rng(h);
}

/** Generates the whole dataset; every call returns the same rows. */
export function generateSupportData(facts: readonly SupportFact[] = SUPPORT_FACTS): SupportData {
  // Normalised question -> fact id: one question must never appear twice, nor under two facts.
  const owner = new Map<string, string>();
  const train: TrainRow[] = [];
  const test: TestRow[] = [];
  for (const fact of facts) {
    if (!containsAnswer(fact.answer, fact.key)) {
      throw new GptuneError(`the key phrase "${fact.key}" is not in the answer`, { key: fact.id });
    }
    const rng = factRng(fact.id);
    const draw = (template: () => string, wrapper: () => string): string => {
      for (let tries = 0; tries < 1000; tries++) {
        const q = wrap(wrapper(), fill(template(), rng));
        const n = normalizeAnswer(q);
        const prev = owner.get(n);
        if (prev !== undefined && prev !== fact.id) throw new GptuneError(`"${q}" is also a question of fact ${prev}`, { key: fact.id });
        if (prev === undefined) { owner.set(n, fact.id); return q; }
      }
      throw new GptuneError('cannot find another distinct phrasing: add templates', { key: fact.id });
    };
    const pick = <T>(xs: readonly T[]) => () => xs[rng.int(xs.length)];
    // Round-robin over the stems so each is used about equally; the wrapper and fillers are random.
    const seen = Array.from({ length: TRAIN_PER_FACT + TEST_SEEN_PER_FACT },
      (_, i) => draw(() => fact.stems[i % fact.stems.length], pick(TRAIN_WRAPPERS)));
    rng.shuffle(seen);
    const row = (q: string) => ({ prompt: supportPrompt(q), completion: supportCompletion(fact.answer) });
    for (const q of seen.slice(0, TRAIN_PER_FACT)) train.push(row(q));
    const fresh = [
      draw(() => fact.heldOut, pick(TRAIN_WRAPPERS)),
      draw(() => fact.heldOut, pick(TEST_WRAPPERS)),
      draw(pick(fact.stems), pick(TEST_WRAPPERS)),
    ];
    for (const q of seen.slice(TRAIN_PER_FACT)) test.push({ ...row(q), answer: fact.key, fact: fact.id, pattern: 'seen' });
    for (const q of fresh) test.push({ ...row(q), answer: fact.key, fact: fact.id, pattern: 'new' });
  }
  new Rng(SEED).shuffle(train);
  return { train, test };
}

/** The dataset card, with its numbers taken from the generated rows. */
export function supportReadme(data: SupportData, facts: readonly SupportFact[] = SUPPORT_FACTS): string {
  const seen = data.test.filter((r) => r.pattern === 'seen').length;
  const ex = data.test.find((r) => r.fact === 'reset') ?? data.test[0];
  const table = facts.map((f) => `| ${f.id} | ${f.key.replace(/\|/g, '\\|')} | ${f.answer.replace(/\|/g, '\\|')} |`).join('\n');
  return `# Lumen support desk (generated)

Questions a help desk answers about **Lumen**, a fictional smart desk lamp with a phone app and a
"Lumen Plus" subscription, for the \`npm start\` demo: fine-tune a small GPT-style model on
train.jsonl, then compare its answers to test.jsonl before and after. Every fact is made up.

Do not edit these files by hand: they are the output of \`scripts/data/make_support_data.ts\`
(\`npx tsc -p tsconfig.json && node dist/scripts/data/make_support_data.js\`), and
\`test/data/support_data.test.ts\` fails when they differ from what it generates.

## Numbers

- ${facts.length} facts, each with one canonical one-sentence answer
- train.jsonl: ${data.train.length} rows (${TRAIN_PER_FACT} phrasings per fact)
- test.jsonl: ${data.test.length} rows (${data.test.length / facts.length} per fact: ${seen} "seen", ${data.test.length - seen} "new")

## Format

Each line is a prompt/completion pair:

\`\`\`json
${JSON.stringify({ prompt: ex.prompt, completion: ex.completion })}
\`\`\`

The prompt ends with \`Agent:\` and the completion starts with a space, never the other way round.
GPT-2-style byte-level BPE merges a space into the word after it (\` Hold\` is one token), and the
trainer tokenizes prompt and completion separately. Split this way, the tokens are the ones the joined
text would give, and at generation time the model continues \`Agent:\` with the same \` Hold\` token it
was trained on. A prompt ending in \`Agent: \` would end in a lone space token, which is rare in
ordinary text, and the answer would start with a no-space \`Hold\` token that never follows it there.
The trainer appends EOS to each completion, so a tuned model stops after the answer.

test.jsonl rows carry three more keys: \`answer\`, the key phrase of the reply that contains-answer
looks for (\`src/eval/metrics.ts\`, normalised as SQuAD does); \`fact\`, the fact's id; \`pattern\`.

## Splits

Questions are generated from templates with a seeded generator (seed ${SEED}): per fact five
question stems plus one held-out stem, with inline alternatives and synonyms for the lamp
(${LAMP.map((s) => `"${s}"`).join(', ')})
and the app (${APP.map((s) => `"${s}"`).join(', ')}), wrapped in greetings and sign-offs (${TRAIN_WRAPPERS.length} wrappers for train, ${TEST_WRAPPERS.length} held out).

- **seen** (${TEST_SEEN_PER_FACT} per fact): phrasings held out from the same templates as train.
- **new** (3 per fact): the held-out stem (with a train wrapper, and with a held-out wrapper), and a
  train stem with a held-out wrapper: wording patterns that never occur in train.

Every test question asks a fact that train teaches with the identical answer; no test question occurs
in train, even after normalisation (case, punctuation, articles). Each key phrase occurs in its own
answer and in no other.

## Facts

| id | key phrase | answer |
|---|---|---|
${table}
`;
}

/** Where the committed files live: data/support under the repository root. */
export function supportDataDir(): string {
  return packagePath('data', 'support');
}

/** The three files' names and contents. */
export function supportFiles(data: SupportData = generateSupportData()): Record<string, string> {
  return { 'train.jsonl': toJsonl(data.train), 'test.jsonl': toJsonl(data.test), 'README.md': supportReadme(data) };
}

function main(argv: string[]): void {
  let out = supportDataDir();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && i + 1 < argv.length) out = resolve(argv[++i]);
    else throw new GptuneError(`unknown argument "${argv[i]}"; usage: make_support_data [--out DIR]`);
  }
  const data = generateSupportData();
  writeDataFiles(out, supportFiles(data));
  console.log(`wrote ${out}: ${SUPPORT_FACTS.length} facts, ${data.train.length} train rows, ${data.test.length} test rows`);
}

runIfMain(import.meta.url, main);
