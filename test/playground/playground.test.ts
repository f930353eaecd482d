// The playground in a real browser: Debian's headless Chromium, driven by playwright-core (no browser download),
// against `startPlayground()` — the fake Discord, the fake Luma and the REAL bot as a child process. It does what
// a newcomer does: /imagine with a prompt, watches the progress and the image arrive, presses Reroll, opens
// Apps → Edit image from the message menu, submits the form and sees the edited result.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

/** Result messages (an embed with an image) whose embed title is `title`. */
const results = (page: Page, title: string) => page.locator('.message').filter({ has: page.locator('.embed-title', { hasText: title }) }).filter({ has: page.locator('.embed img') });

/** The natural width of a loaded image (0 while loading or broken): the bytes really came from the fake CDN. */
const loadedWidth = (img: Locator) =>
  img.evaluate((node) => {
    const image = node as unknown as { complete: boolean; naturalWidth: number };
    return image.complete ? image.naturalWidth : 0;
  });

describe('npm run playground', () => {
  it('imagines, rerolls and edits through the page, with live progress', async () => {
    const page = await browser.newPage();
    const external: string[] = [];
    page.on('request', (r) => {
      const host = new URL(r.url()).hostname;
      if (host !== '127.0.0.1') external.push(r.url());
    });
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(e.message));
    await page.goto(playground.url);
    await expect.poll(() => page.locator('#connection').textContent(), POLL).toBe('live');

    // The picker suggests /imagine from the registered commands; Enter takes it and opens its prompt.
    const box = page.getByRole('combobox', { name: 'Message #general' });
    await box.click();
    await box.pressSequentially('/ima');
    await page.getByRole('option', { name: /\/imagine/ }).waitFor();
    await box.press('Enter');
    await expect.poll(() => box.inputValue(), POLL).toBe('/imagine prompt: ');
    await box.pressSequentially('a lighthouse on a cliff at dusk');
    await box.press('Enter');

    // The deferred reply shows progress pushed over the WebSocket, then becomes the result.
    await page.locator('.message .content', { hasText: /Imagining:.*lighthouse/ }).waitFor({ timeout: 30_000 });
    await page.locator('.message .content', { hasText: /Generating…|Queued at Luma|Sending your request|Finishing/ }).first().waitFor({ timeout: 30_000 });
    const first = results(page, 'Imagined image');
    await first.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => loadedWidth(first.first().locator('.embed img')), POLL).toBeGreaterThan(0);
    await expect.poll(() => first.first().locator('.reply-line').textContent(), POLL).toContain('Alex used /imagine');

    // Reroll: a second result of the same prompt.
    await first.first().getByRole('button', { name: /Reroll/ }).click();
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
    await expect.poll(() => edited.first().locator('.embed-description').textContent(), POLL).toContain('make it snow');
    await expect.poll(() => loadedWidth(edited.first().locator('.embed img')), POLL).toBeGreaterThan(0);

    await edited.first().scrollIntoViewIfNeeded();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    expect(external).toEqual([]);
    expect(failures).toEqual([]);
    await page.close();
  }, SCENARIO_MS);

  it('switches between a member and a server admin, shows the quota refusal, and stages failures', async () => {
    const page = await browser.newPage();
    await page.goto(playground.url);
    await expect.poll(() => page.locator('#connection').textContent(), POLL).toBe('live');
    const box = page.locator('#composer-input');
    const send = async (text: string) => {
      await box.fill(text);
      await box.press('Escape');
      await box.press('Enter');
    };

    // The member is not offered /quota-admin (default_member_permissions: Manage Server); the admin is.
    await box.fill('/quota');
    await page.getByRole('option', { name: /\/quota\b/ }).first().waitFor();
    expect(await page.getByRole('option', { name: /quota-admin/ }).count()).toBe(0);
    await page.getByLabel(/Sam/).check();
    await box.fill('/quota');
    await page.getByRole('option', { name: /quota-admin/ }).waitFor();

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
    const failure = page.locator('.message', { has: page.locator('.embed-title', { hasText: 'The image could not be made' }) });
    await failure.waitFor({ timeout: 30_000 });
    expect(await failure.locator('.embed-description').textContent()).toContain('safety filter');
    await expect.poll(() => page.locator('[data-armed="moderation"]').textContent(), POLL).toBe('');

    // Chaos: the interaction token dies once the bot has deferred; the result comes as a channel post mentioning Sam.
    await page.getByRole('button', { name: /Expired token/ }).click();
    await send('/imagine prompt: a kite over the harbour');
    const posted = page.locator('.message', { hasText: '@Sam, your image is ready.' }).filter({ has: page.locator('.embed-description', { hasText: 'a kite over the harbour' }) });
    await posted.waitFor({ timeout: 30_000 });
    expect(await posted.locator('.reply-line').count()).toBe(0); // a post of the bot's own, not an interaction reply
    await page.close();
  }, SCENARIO_MS);
});
