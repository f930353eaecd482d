// The playground in a real browser: Debian's headless Chromium, driven by playwright-core (no browser download),
// against `startPlayground()` — the fake Discord, the fake Luma and the REAL bot as a child process. It does what
// a newcomer does: /imagine with a prompt, watches the progress and the image arrive, presses Reroll, opens
// Apps → Edit image from the message menu, submits the form and sees the edited result.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayground, type Playground } from '../../dev/playground/server.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('test-artifacts');

let playground: Playground;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
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

afterAll(async () => {
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
    await expect.poll(() => page.locator('#connection').textContent()).toBe('live');

    // The picker suggests /imagine from the registered commands; Enter takes it and opens its prompt.
    const box = page.getByRole('combobox', { name: 'Message #general' });
    await box.click();
    await box.pressSequentially('/ima');
    await page.getByRole('option', { name: /\/imagine/ }).waitFor();
    await box.press('Enter');
    await expect.poll(() => box.inputValue()).toBe('/imagine prompt: ');
    await box.pressSequentially('a lighthouse on a cliff at dusk');
    await box.press('Enter');

    // The deferred reply shows progress pushed over the WebSocket, then becomes the result.
    await page.locator('.message .content', { hasText: /Imagining:.*lighthouse/ }).waitFor({ timeout: 30_000 });
    await page.locator('.message .content', { hasText: /Generating…|Queued at Luma|Sending your request|Finishing/ }).first().waitFor({ timeout: 30_000 });
    const first = results(page, 'Imagined image');
    await first.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => loadedWidth(first.first().locator('.embed img'))).toBeGreaterThan(0);
    await expect.poll(() => first.first().locator('.reply-line').textContent()).toContain('Alex used /imagine');

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
    await expect.poll(() => edited.first().locator('.embed-description').textContent()).toContain('make it snow');
    await expect.poll(() => loadedWidth(edited.first().locator('.embed img'))).toBeGreaterThan(0);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    expect(external).toEqual([]);
    expect(failures).toEqual([]);
    await page.close();
  });
});
