// The fake Luma's reading of a request's images: a `generation_id` names an earlier completed generation, a `url` is
// fetched (2xx and image/* within the time allowed, as Luma requires), `data` is strict base64 whose bytes must match
// its media_type.
import { MAX_INPUT_BYTES, type ImageInput, type InputMediaType } from '../../../src/luma/types.js';
import type { FakeInput } from './api.js';
import type { GenerationStore } from './generations.js';
import { HttpError, decodeBase64, sniffImage } from './inputs.js';

export interface InputReaderOptions {
  /** Really GET url inputs; false accepts any URL unread. */
  fetchUrls: boolean;
  urlFetchTimeoutMs: number;
  /** Aborted when the fake closes. */
  lifetime: AbortSignal;
}

export class InputReader {
  constructor(
    private readonly generations: GenerationStore,
    private readonly options: InputReaderOptions,
  ) {}

  /** Every input of the request, read in parallel; the first failing one in request order is the answer. */
  async readAll(wanted: Array<[ImageInput, string]>): Promise<FakeInput[]> {
    const settled = await Promise.allSettled(wanted.map(([input, field]) => this.read(input, field)));
    return settled.map((outcome) => {
      if (outcome.status === 'rejected') throw outcome.reason;
      return outcome.value;
    });
  }

  async read(input: ImageInput, field: string): Promise<FakeInput> {
    let bytes: Buffer;
    let declared: InputMediaType | undefined;
    const result: FakeInput = { field, kind: 'data' };
    if ('generation_id' in input) {
      const rec = this.generations.records.get(input.generation_id);
      if (!rec) throw new HttpError(422, `${field}: generation ${input.generation_id} not found`);
      const state = this.generations.stateOf(rec);
      if (state !== 'completed') throw new HttpError(422, `${field}: generation ${input.generation_id} is not completed (state: ${state})`);
      result.kind = 'generation_id';
      result.generationId = input.generation_id;
      bytes = this.generations.outputOf(rec);
    } else if ('url' in input) {
      result.kind = 'url';
      result.url = input.url;
      if (!this.options.fetchUrls) return result;
      bytes = await this.fetch(input.url);
    } else {
      const decoded = decodeBase64(input.data);
      if (!decoded) throw new HttpError(422, `${field}: Invalid base64 image data`);
      bytes = decoded;
      declared = input.media_type;
    }
    if (bytes.length > MAX_INPUT_BYTES) throw new HttpError(413, `${field}: image is larger than 50 MB`);
    const sniffed = sniffImage(bytes);
    if (!sniffed) throw new HttpError(422, `${field}: data is not an image (expected PNG, JPEG, WebP or GIF)`);
    if (declared && declared !== sniffed) throw new HttpError(422, `${field}: media_type ${declared} does not match the image data (${sniffed})`);
    result.mediaType = sniffed;
    result.bytes = bytes;
    return result;
  }

  async fetch(url: string): Promise<Buffer> {
    const { urlFetchTimeoutMs } = this.options;
    const fail = (why: string): HttpError => new HttpError(422, `Failed to fetch image from URL ${url}: ${why}`);
    try {
      const signal = AbortSignal.any([this.options.lifetime, AbortSignal.timeout(urlFetchTimeoutMs)]);
      const response = await fetch(url, { signal, redirect: 'follow' });
      if (!response.ok) {
        await response.body?.cancel();
        throw fail(`HTTP ${response.status}`);
      }
      const type = response.headers.get('content-type') ?? '';
      if (!type.toLowerCase().startsWith('image/')) {
        await response.body?.cancel();
        throw fail(`content-type ${type === '' ? '(none)' : type} is not an image`);
      }
      if (Number(response.headers.get('content-length') ?? '0') > MAX_INPUT_BYTES) {
        await response.body?.cancel();
        throw new HttpError(413, `Image at URL ${url} is larger than 50 MB`);
      }
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if ((error as Error).name === 'TimeoutError') throw fail(`timed out after ${urlFetchTimeoutMs / 1000} s`);
      throw fail((error as Error).message);
    }
  }
}
