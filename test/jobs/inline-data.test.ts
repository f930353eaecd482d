// Job records from before inputs stopped holding bytes kept the base64 of member images in `inputs` and `request`
// (4 MB of input made a 10.7 MB record, copied by Reroll): loading one keeps the URLs only.
import { describe, expect, it } from 'vitest';
import { withoutInlineData } from '../../src/jobs/create.js';
import type { JobInput } from '../../src/jobs/types.js';
import type { GenerationRequest } from '../../src/luma/types.js';

const data = { data: Buffer.alloc(64, 7).toString('base64'), media_type: 'image/png' } as const;

describe('records that held member image bytes', () => {
  it('get their Discord URLs back, in inputs and in the request, source and references alike', () => {
    const inputs: JobInput[] = [
      { role: 'source', input: data, discordUrl: 'https://cdn.discordapp.com/s.png', filename: 's.png' },
      { role: 'ref', input: data, discordUrl: 'https://cdn.discordapp.com/r.png', filename: 'r.png' },
      { role: 'ref', input: { generation_id: 'gen_1' }, filename: 'luma-x' },
    ];
    const request: GenerationRequest = { prompt: 'p', type: 'image_edit', source: data, image_ref: [data, { generation_id: 'gen_1' }] };
    const job = { request, inputs };
    expect(withoutInlineData(job)).toBe(true);
    expect(job.request.source).toEqual({ url: 'https://cdn.discordapp.com/s.png' });
    expect(job.request.image_ref).toEqual([{ url: 'https://cdn.discordapp.com/r.png' }, { generation_id: 'gen_1' }]);
    expect(JSON.stringify(job)).not.toContain(data.data);
  });

  it('leaves a record without bytes alone', () => {
    const job = { request: { prompt: 'p', image_ref: [{ url: 'https://cdn.discordapp.com/r.png' }] }, inputs: [{ role: 'ref' as const, input: { url: 'https://cdn.discordapp.com/r.png' }, discordUrl: 'https://cdn.discordapp.com/r.png', filename: 'r.png' }] };
    const before = structuredClone(job);
    expect(withoutInlineData(job)).toBe(false);
    expect(job).toEqual(before);
  });
});
