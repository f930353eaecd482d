// Tests src/http/discord-request.ts: @discordjs/rest's calls go through the pool they are given, bounded, and
// multipart forms (discord.js's and the bot's own) arrive whole.
import { REST } from 'discord.js';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { discordRequester, encodeForm } from '../../../src/discord/transport/request.js';
import { startScriptedServer, type ScriptedServer } from '../../helpers/http-server.js';

const agents: Agent[] = [];
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

function pool(connections: number): Agent {
  const a = new Agent({ connections });
  agents.push(a);
  return a;
}

async function read(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('encodeForm', () => {
  it('encodes strings and files as multipart/form-data of the length it announces, the same bytes on every read', async () => {
    // As discord.js builds one for a reply with files.
    const form = new FormData();
    form.append('files[0]', new Blob([Buffer.from('PNGDATA'.repeat(20_000))], { type: 'image/png' }), 'a "b".png');
    form.append('payload_json', JSON.stringify({ content: 'hi "there"' }));
    const encoded = encodeForm(form as unknown as Parameters<typeof encodeForm>[0]);
    const first = await read(encoded.body);
    const again = await read(encoded.body);
    expect(first.byteLength).toBe(encoded.length);
    expect(again.equals(first)).toBe(true);
    const parsed = await new Response(first, { headers: { 'content-type': encoded.contentType } }).formData();
    expect(JSON.parse(parsed.get('payload_json') as string)).toEqual({ content: 'hi "there"' });
    const file = parsed.get('files[0]') as File;
    expect(file.type).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from('PNGDATA'.repeat(20_000)))).toBe(true);
  });
});

describe('discordRequester', () => {
  it("sends the bot's own multipart body (one contiguous buffer) as it is", async () => {
    server = await startScriptedServer((_req, res) => res.writeHead(204).end());
    const send = discordRequester(pool(1));
    await send(`${server.origin}/x`, { method: 'POST', body: Buffer.from('--b\r\n...'), headers: { 'content-type': 'multipart/form-data; boundary=b' } });
    expect(server.seen[0]?.body).toBe('--b\r\n...');
    expect(server.seen[0]?.headers['content-type']).toBe('multipart/form-data; boundary=b');
  });

  it("carries @discordjs/rest's JSON calls and its multipart uploads through the given pool", async () => {
    server = await startScriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-bucket': 'abc' });
      res.end('{"id":"1"}');
    });
    const rest = new REST({ api: server.origin, makeRequest: discordRequester(pool(2)) as never }).setToken('t0ken');
    await expect(rest.post('/channels/1/messages', { body: { content: 'plain' } })).resolves.toEqual({ id: '1' });
    await rest.post('/channels/1/messages', { body: { content: 'with a file' }, files: [{ name: 'x.txt', data: Buffer.from('file bytes') }] });
    const [json, upload] = server.seen;
    expect(json?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json?.body ?? '')).toEqual({ content: 'plain' });
    expect(json?.headers.authorization).toBe('Bot t0ken');
    const parsed = await new Response(upload?.body, { headers: { 'content-type': String(upload?.headers['content-type']) } }).formData();
    expect(Number(upload?.headers['content-length'])).toBe(Buffer.byteLength(upload?.body ?? ''));
    expect(await (parsed.get('files[0]') as File).text()).toBe('file bytes');
    expect(JSON.parse(parsed.get('payload_json') as string)).toMatchObject({ content: 'with a file' });
  });

  it('never opens more connections than the pool allows, however many calls are in flight', async () => {
    server = await startScriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    const send = discordRequester(pool(3));
    const answers = await Promise.all(Array.from({ length: 40 }, () => send(`${server?.origin}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(server.connections()).toBeLessThanOrEqual(3);
    expect(server.seen).toHaveLength(40);
  });

  it('refuses a body it cannot send as Discord expects, before sending anything', async () => {
    server = await startScriptedServer((_req, res) => res.end());
    const send = discordRequester(pool(1));
    await expect(send(`${server.origin}/x`, { method: 'POST', body: { some: 'object' } })).rejects.toThrow(TypeError);
    expect(server.seen).toHaveLength(0);
  });
});
