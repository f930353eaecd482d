// The playground in a real browser: Debian's headless Chromium, driven by playwright-core (no browser download),
// against `startPlayground()` — the fake Discord, the fake Luma and the REAL bot as a child process. It does what
// a newcomer does: /imagine with a prompt, watches the progress and the image arrive (the bot's Components V2
// results: a container, its text, a gallery, buttons), presses Reroll, opens Apps → Edit image from the message
// menu, submits the form and sees the edited result; asks for several images and uses the per-image buttons,
// changes a default in /settings' select menus, uploads a reference in the Edit form's File Upload; switches to
// the server admin, sets quotas and blocked terms, and stages failures.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHANNEL_ID, GUILD_ID } from '../../dev/playground/people.js';
import { startPlayground, type Playground } from '../../dev/playground/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');

let playground: Playground;
let browser: BrowserContext;
let profile: string;

/** expect.poll waits 1 s by default: too short for a page and a bot process on a loaded 2-core machine. */
const POLL = { timeout: 20_000 };
/** A whole scenario through the page: many steps, each a wait on a condition. */
const SCENARIO_MS = 180_000;

// Each scenario has a world of its own (playground, bot, storage, browser profile): the second one sets Alex's
// limit to 0 and arms failures, the first counts the results in #general, so a shared one would make each depend on
// the other's order.
beforeEach(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does it)`);
  profile = mkdtempSync(join(tmpdir(), 'playground-chromium-'));
  playground = await startPlayground({
    fakeLumaTiming: { queuedMs: 400, processingMs: 2500 },
    botEnv: { POLL_INTERVAL_MS: '200', PROGRESS_INTERVAL_MS: '300' },
  });
  // A fresh profile (--user-data-dir) per run: playwright-core passes it for a persistent context.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterEach(async () => {
  await browser?.close();
  await playground?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The page, live, with its message box; every uncaught page error is collected. */
async function openPage(): Promise<{ page: Page; box: Locator; send: (text: string) => Promise<void>; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(playground.url);
  await expect.poll(() => page.locator('#connection').textContent(), POLL).toBe('live');
  const box = page.locator('#composer-input');
  const send = async (text: string) => {
    await box.fill(text);
    await box.press('Escape');
    await box.press('Enter');
  };
  return { page, box, send, errors };
}

/** Result messages (a V2 container with a gallery) whose heading says `title`. */
const results = (page: Page, title: string) =>
  page
    .locator('.message')
    .filter({ has: page.locator('.v2-container .md-h3', { hasText: title }) })
    .filter({ has: page.locator('.v2-gallery img') });

/** The natural width of a loaded image (0 while loading or broken): the bytes really came from the fake CDN. */
const loadedWidth = (img: Locator) =>
  img.evaluate((node) => {
    const image = node as unknown as { complete: boolean; naturalWidth: number };
    return image.complete ? image.naturalWidth : 0;
  });

/** How far below the visible part of the message list its end is, in pixels (0: the newest message is in view). */
const belowView = (page: Page) =>
  page.locator('#messages').evaluate((node) => {
    const list = node as unknown as { scrollHeight: number; scrollTop: number; clientHeight: number };
    return Math.max(0, Math.round(list.scrollHeight - list.scrollTop - list.clientHeight));
  });

interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    font: string;
    textBaseline: string;
    fillStyle: string;
    fillText(text: string, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
interface BrowserGlobals {
  document: { createElement(tag: 'canvas'): Canvas };
  getComputedStyle(node: unknown): { fontFamily: string };
}

/**
 * Pixels of colour in a button's emoji drawn with the button's own font: a colour emoji font draws many, an empty
 * box ("tofu") drawn in black draws none.
 */
const emojiColourPixels = (button: Locator) =>
  button.locator('.emoji').evaluate((node) => {
    const g = globalThis as unknown as BrowserGlobals;
    const canvas = g.document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 64;
    const ctx = canvas.getContext('2d');
    ctx.font = `48px ${g.getComputedStyle(node).fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.fillStyle = '#000';
    ctx.fillText((node as { textContent: string | null }).textContent ?? '', 4, 4);
    const data = ctx.getImageData(0, 0, 64, 64).data;
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      const [r = 0, g2 = 0, b = 0, a = 0] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      if (a > 0 && Math.max(r, g2, b) - Math.min(r, g2, b) > 40) coloured++;
    }
    return coloured;
  });

describe('npm run playground', () => {
  it('imagines, rerolls and edits through the page, with live progress, keeping the newest message in view', async () => {
    const { page, box, errors } = await openPage();
    const external: string[] = [];
    page.on('request', (r) => {
      const host = new URL(r.url()).hostname;
      if (host !== '127.0.0.1') external.push(r.url());
    });

    // The picker suggests /imagine from the registered commands; Enter takes it and opens its prompt.
    await box.click();
    await box.pressSequentially('/ima');
    await page.getByRole('option', { name: /\/imagine/ }).waitFor();
    await box.press('Enter');
    await expect.poll(() => box.inputValue(), POLL).toBe('/imagine prompt: ');
    await box.pressSequentially('a lighthouse on a cliff at dusk');
    await box.press('Enter');

    // The deferred reply shows progress pushed over the WebSocket, then becomes the result.
    await page.locator('.message .v2-container', { hasText: /Imagining:.*lighthouse/ }).waitFor({ timeout: 30_000 });
    await page.locator('.message .v2-container', { hasText: /Generating…|Queued at Luma|Sending your request|Finishing/ }).first().waitFor({ timeout: 30_000 });
    const first = results(page, 'Imagined image');
    await first.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => loadedWidth(first.first().locator('.v2-gallery img')), POLL).toBeGreaterThan(0);
    await expect.poll(() => first.first().locator('.reply-line').textContent(), POLL).toContain('Alex used /imagine');
    // The image had its space before it loaded, and the list followed: the newest message is in view.
    await expect.poll(() => belowView(page), POLL).toBeLessThanOrEqual(1);
    // The buttons' emoji are drawn in colour (an emoji font), not as empty boxes.
    const reroll = first.first().getByRole('button', { name: /Reroll/ });
    expect(await emojiColourPixels(reroll)).toBeGreaterThan(50);

    // Reroll: a second result of the same prompt.
    await reroll.click();
    await expect.poll(() => first.count(), { timeout: 30_000 }).toBe(2);

    // ⋯ → Apps → Edit image on the first result opens the bot's modal as a form.
    const original = first.first();
    await original.hover();
    await original.getByRole('button', { name: /More options/ }).click();
    await page.getByRole('menuitem', { name: 'Edit image' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit this image' });
    await dialog.waitFor();
    await dialog.getByLabel(/What should change/).fill('make it snow');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    const edited = results(page, 'Edited image');
    await edited.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => edited.first().locator('.v2-text').first().textContent(), POLL).toContain('make it snow');
    await expect.poll(() => loadedWidth(edited.first().locator('.v2-gallery img')), POLL).toBeGreaterThan(0);
    await expect.poll(() => belowView(page), POLL).toBeLessThanOrEqual(1);

    // Away to the DMs and back: the newest message of #general is in view again, its images loaded.
    await page.getByRole('button', { name: 'Luma Bot', exact: true }).click();
    await page.getByRole('button', { name: 'general', exact: true }).click();
    await expect.poll(() => loadedWidth(edited.first().locator('.v2-gallery img')), POLL).toBeGreaterThan(0);
    await expect.poll(() => belowView(page), POLL).toBeLessThanOrEqual(1);

    // An image opens full size on click.
    await edited.first().getByRole('button', { name: /full size/ }).click();
    await expect.poll(() => loadedWidth(page.locator('#viewer-image')), POLL).toBeGreaterThan(0);
    await page.locator('#viewer').getByRole('button', { name: 'Close' }).click();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it('draws several images as a gallery with per-image buttons, changes a default in /settings, and edits with an uploaded reference', async () => {
    // The V2 pieces the bot's results do not use yet, in a message of the bot's stored before the page opens: a
    // section with a thumbnail, a separator, small print and a quote, a file, a link button to a message.
    const discord = playground.discord;
    const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2e86c1' } })
      .png()
      .toBuffer();
    const thumb = discord.addAttachment({ filename: 'thumb.png', contentType: 'image/png', data: png, channelId: CHANNEL_ID });
    const notes = discord.addAttachment({ filename: 'notes.txt', contentType: 'text/plain', data: Buffer.from('notes'), channelId: CHANNEL_ID });
    const layout = discord.addMessage({
      channelId: CHANNEL_ID,
      authorId: discord.botUser.id,
      flags: 1 << 15,
      attachments: [thumb, notes],
      components: [
        {
          type: 17,
          accent_color: 0x2e86c1,
          components: [
            { type: 9, components: [{ type: 10, content: '## Layout check' }], accessory: { type: 11, media: { url: 'attachment://thumb.png' }, description: 'a blue square' } },
            { type: 14, divider: true, spacing: 2 },
            { type: 10, content: '> quoted line\n-# small print' },
            { type: 13, file: { url: 'attachment://notes.txt' } },
            { type: 1, components: [{ type: 2, style: 5, label: 'Jump', url: `https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/1300000000000000999` }] },
          ],
        },
      ],
    });
    const { page, send, errors } = await openPage();
    const drawn = page.locator(`#m-${layout.id}`);
    await expect.poll(() => drawn.locator('.v2-container h4').textContent(), POLL).toBe('Layout check');
    await expect.poll(() => loadedWidth(drawn.locator('.v2-section img')), POLL).toBeGreaterThan(0);
    expect(await drawn.locator('.v2-section img').getAttribute('alt')).toBe('a blue square');
    expect(await drawn.getByRole('separator').count()).toBe(1);
    expect(await drawn.locator('blockquote').textContent()).toBe('quoted line');
    expect(await drawn.locator('.md-subtext').textContent()).toBe('small print');
    expect(await drawn.locator('a.file').textContent()).toContain('notes.txt');
    expect(await drawn.getByRole('link', { name: /Jump/ }).getAttribute('href')).toBe('#m-1300000000000000999');

    // count: from the composer (an integer option): one message, a gallery of two, a row of buttons per image.
    await send('/imagine prompt: two foxes in the snow count: 2');
    const foxes = results(page, 'Imagined image').filter({ has: page.locator('.v2-text', { hasText: 'two foxes in the snow' }) });
    await foxes.filter({ hasText: '2 of 2 ready' }).first().waitFor({ timeout: 40_000 });
    const gallery = foxes.first().locator('.v2-gallery');
    await expect.poll(() => gallery.locator('img').count(), POLL).toBe(2);
    for (const img of await gallery.locator('img').all()) await expect.poll(() => loadedWidth(img), POLL).toBeGreaterThan(0);
    // Alt text from the gallery item, and the space each cell holds before its image loads.
    expect(await gallery.locator('img').first().getAttribute('alt')).toBe('two foxes in the snow');
    expect(await gallery.locator('.alt-badge').count()).toBe(2);
    const buttons = await foxes.first().locator('.v2-container .dbutton').allTextContents();
    for (const name of ['Vary 1', 'Edit 1', 'Enhance 1', 'Vary 2', 'Edit 2', 'Enhance 2', 'Reroll']) expect(buttons.join('|')).toContain(name);
    await expect.poll(() => belowView(page), POLL).toBeLessThanOrEqual(1);

    // Vary 1: a new result, a variation of the first image.
    await foxes.first().getByRole('button', { name: /Vary 1/ }).click();
    const variation = results(page, 'Variation');
    await variation.first().waitFor({ timeout: 40_000 });
    await expect.poll(() => loadedWidth(variation.first().locator('.v2-gallery img').first()), POLL).toBeGreaterThan(0);

    // Edit 2 opens the form: the prompt, a File Upload (a real file picker, images only) and the model's select.
    await foxes.first().getByRole('button', { name: /Edit 2/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit this image' });
    await dialog.waitFor();
    await dialog.getByLabel(/What should change/).fill('give them scarves');
    const picker = dialog.getByLabel(/More reference images/);
    expect(await picker.getAttribute('type')).toBe('file');
    expect(await picker.getAttribute('accept')).toContain('image/png');
    const reference = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#c0392b' } })
      .png()
      .toBuffer();
    await picker.setInputFiles({ name: 'scarf.png', mimeType: 'image/png', buffer: reference });
    expect(await dialog.getByLabel(/^Model/).inputValue()).toBe('uni-1');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    const edited = results(page, 'Edited image').filter({ has: page.locator('.v2-text', { hasText: 'give them scarves' }) });
    await edited.first().waitFor({ timeout: 40_000 });
    // The uploaded file reached the bot as the submit's resolved attachment and went to Luma as a reference.
    await expect.poll(() => edited.first().locator('.v2-text').first().textContent(), POLL).toContain('References: 1');

    // /settings: a private message of select menus; choosing three images per request is saved and redrawn, and the
    // next /imagine without count: makes three.
    await send('/settings');
    const settings = page.locator('.message.ephemeral', { has: page.locator('.v2-text', { hasText: 'Your defaults' }) });
    await settings.waitFor({ timeout: 20_000 });
    const images = settings.getByRole('combobox', { name: 'Images' });
    await images.selectOption('3');
    await expect.poll(() => settings.locator('option[value="3"]').evaluate((o) => (o as unknown as { defaultSelected: boolean }).defaultSelected), POLL).toBe(true);
    await send('/imagine prompt: three owls on a branch');
    const owls = results(page, 'Imagined image').filter({ has: page.locator('.v2-text', { hasText: 'three owls on a branch' }) });
    await owls.filter({ hasText: '3 of 3 ready' }).first().waitFor({ timeout: 40_000 });
    expect(await owls.first().locator('.v2-gallery img').count()).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it('switches between a member and a server admin, shows the quota refusal, and stages failures', async () => {
    const { page, box, send, errors } = await openPage();

    // The member is offered neither /quota-admin (Manage Server) nor /bot-status (administrators only); the admin
    // gets /quota-admin, and still no /bot-status.
    await box.fill('/quota');
    await page.getByRole('option', { name: /\/quota\b/ }).first().waitFor();
    expect(await page.getByRole('option', { name: /quota-admin/ }).count()).toBe(0);
    await box.fill('/');
    await page.getByRole('option', { name: /\/history/ }).waitFor();
    expect(await page.getByRole('option', { name: /bot-status/ }).count()).toBe(0);
    await page.getByLabel(/Sam/).check();
    await box.fill('/quota');
    await page.getByRole('option', { name: /quota-admin/ }).waitFor();
    await box.fill('/bot');
    await page.getByRole('option', { name: /bot-admin/ }).waitFor();
    expect(await page.getByRole('option', { name: /bot-status|bot-operator/ }).count()).toBe(0);

    await send('/quota-admin set-user user: @Alex limit: 0');
    const adminReply = page.locator('.message.ephemeral', { hasText: /Alex.*now gets 0 units/ });
    await adminReply.waitFor({ timeout: 20_000 });

    // Private replies belong to whoever asked: Alex does not see Sam's, and gets his own refusal.
    await page.getByLabel(/Alex/).check();
    await expect.poll(() => adminReply.count(), POLL).toBe(0);
    await send('/imagine prompt: a cake I may not have');
    await page.locator('.message.ephemeral', { hasText: /limit is 0 units/ }).waitFor({ timeout: 20_000 });

    // Chaos: the next generation is blocked by Luma's safety filter; the bot says so, and the switch disarms.
    await page.getByLabel(/Sam/).check();
    await page.getByRole('button', { name: /Moderation failure/ }).click();
    await expect.poll(() => page.locator('[data-armed="moderation"]').textContent(), POLL).toBe('armed ×1');
    await send('/imagine prompt: a storm the filter dislikes');
    const failure = page.locator('.message', { has: page.locator('.v2-container', { hasText: 'The image could not be made' }) });
    await failure.waitFor({ timeout: 30_000 });
    expect(await failure.locator('.v2-container').textContent()).toContain('safety filter');
    await expect.poll(() => page.locator('[data-armed="moderation"]').textContent(), POLL).toBe('');

    // Chaos: Luma's storage refuses the result; the bot says so with Retry, and Retry delivers the same image.
    await page.getByRole('button', { name: /Download fails/ }).click();
    await send('/imagine prompt: a lantern in the fog');
    const notFetched = page.locator('.message', { has: page.locator('.v2-text', { hasText: 'could not fetch it from Luma' }) });
    await notFetched.waitFor({ timeout: 30_000 });
    const retry = notFetched.getByRole('button', { name: /Retry/ });
    expect(await emojiColourPixels(retry)).toBeGreaterThan(50);
    await retry.click();
    const lantern = results(page, 'Imagined image').filter({ has: page.locator('.v2-text', { hasText: 'a lantern in the fog' }) });
    await lantern.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => loadedWidth(lantern.first().locator('.v2-gallery img')), POLL).toBeGreaterThan(0);

    // Chaos: the interaction token dies once the bot has deferred. The reply shows what Discord shows then, and the
    // result comes as a channel post mentioning Sam.
    await page.getByRole('button', { name: /Expired token/ }).click();
    await send('/imagine prompt: a kite over the harbour');
    await page.locator('.message', { hasText: 'The application did not respond' }).waitFor({ timeout: 30_000 });
    const posted = page.locator('.message', { hasText: '@Sam, your image is ready.' }).filter({ has: page.locator('.v2-text', { hasText: 'a kite over the harbour' }) });
    await posted.waitFor({ timeout: 30_000 });
    expect(await posted.locator('.reply-line').count()).toBe(0); // a post of the bot's own, not an interaction reply
    expect(errors).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it('lets the admin block a term with /bot-admin terms add, and completes a suggested option on Enter', async () => {
    const { page, box, send, errors } = await openPage();
    await page.getByLabel(/Sam/).check();

    // A subcommand inside a group, picked from the list: /bot-admin → "terms add" → its required option.
    await box.click();
    await box.pressSequentially('/bot-admin ');
    await page.getByRole('option', { name: /channels add/ }).waitFor();
    await box.pressSequentially('terms a');
    await page.getByRole('option', { name: /terms add/ }).waitFor();
    await box.press('Enter');
    await expect.poll(() => box.inputValue(), POLL).toBe('/bot-admin terms add terms: ');
    await box.pressSequentially('dragon');
    await box.press('Enter');
    await page.locator('.message.ephemeral', { hasText: /Blocked now \(1 on the list\)/ }).waitFor({ timeout: 20_000 });

    // Enter completes the option the picker suggests instead of sending a half-typed command.
    await box.fill('/quota-admin set-user user: @Alex');
    await box.pressSequentially(' li');
    await page.getByRole('option', { name: /limit/ }).waitFor();
    await box.press('Enter');
    await expect.poll(() => box.inputValue(), POLL).toBe('/quota-admin set-user user: @Alex limit: ');
    await expect.poll(() => page.locator('#composer-hint').getAttribute('class'), POLL).not.toContain('error');

    // The member's prompt with the blocked term is refused privately, before anything reaches Luma.
    await page.getByLabel(/Alex/).check();
    await send('/imagine prompt: a red dragon over the hills');
    await page.locator('.message.ephemeral', { hasText: /Your prompt contains “dragon”/ }).waitFor({ timeout: 20_000 });
    expect(playground.luma?.posts()).toHaveLength(0);
    expect(errors).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it("sells through the Store (Discord test entitlements): /quota changes at once, and a refusal's Premium button buys", async () => {
    const { page, send, errors } = await openPage();
    // The Store is folded away until opened: the page looks as before.
    await page.locator('#store-panel summary').click();
    await page.getByRole('button', { name: 'Buy Luma Plus' }).click();
    await page.locator('.message.ephemeral', { hasText: /Your premium membership adds 10 units per day/ }).waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('#store').textContent(), POLL).toContain('owned');
    await page.locator('#store').getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Buy Luma Plus' }).isEnabled(), POLL).toBe(true);

    // At the limit, the refusal carries Premium buttons; the credit pack's buys it, and /quota shows the credits.
    await page.getByLabel(/Sam/).check();
    await send('/quota-admin set-user user: @Alex limit: 1');
    await page.locator('.message.ephemeral', { hasText: /Alex.*now gets 1 unit/ }).waitFor({ timeout: 20_000 });
    await page.getByLabel(/Alex/).check();
    await send('/imagine prompt: a teapot');
    await results(page, 'Imagined image').first().waitFor({ timeout: 30_000 });
    await send('/imagine prompt: a second teapot');
    const refusal = page.locator('.message.ephemeral', { hasText: /Premium can give you more/ });
    await refusal.waitFor({ timeout: 20_000 });
    expect(await refusal.getByRole('button', { name: /⭐/ }).allTextContents()).toEqual(['⭐ Luma Plus', '⭐ 20 images', '⭐ Server Plus']);
    await refusal.getByRole('button', { name: '⭐ 20 images' }).click();
    await page.locator('.message.ephemeral', { hasText: /Credits: 20 units of 20 left/ }).waitFor({ timeout: 20_000 });
    await send('/imagine prompt: a third teapot, paid for');
    await expect.poll(() => results(page, 'Imagined image').count(), { timeout: 30_000 }).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it('keeps the channels and the DMs reachable on a narrow window', async () => {
    const { page, errors } = await openPage();
    await page.setViewportSize({ width: 600, height: 800 });
    const dm = page.getByRole('button', { name: 'Luma Bot', exact: true });
    await expect.poll(() => dm.isVisible(), POLL).toBe(true);
    await dm.click();
    await expect.poll(() => page.locator('#channel-name').textContent(), POLL).toBe('Luma Bot');
    expect(errors).toEqual([]);
    await page.close();
  });
});
