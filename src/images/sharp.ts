// sharp (libvips) is loaded the first time an image really needs work — a result over the upload limit, a usage
// chart — not at start: most bots never shrink a result, and loading libvips costs some 20 MB of resident memory
// whether or not it is used.
import type sharpModule from 'sharp';

type Sharp = typeof sharpModule;

let loading: Promise<Sharp> | undefined;

/** sharp, configured once for how the bot uses it. */
export function loadSharp(): Promise<Sharp> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    // libvips's cache keeps decoded images and open files (up to 50 MB, 20 files, 100 operations) and each
    // operation runs on a thread per core: the bot never reads an image twice and runs few operations at once, so
    // the cache would only hold memory and the threads add malloc arenas.
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  });
  return loading;
}
