import type { JobSpec } from './create.js';
import type { JobInput, JobRecord } from './types.js';
import { MAX_IMAGE_REFS, type Model, type OutputFormat } from '../luma/types.js';

/**
 * References an edit may carry besides its source. Luma's docs say "≤ 8 image_ref for image_edit"; whether the
 * source counts among those 8 is not stated, so the bot keeps to the safe reading — at most 8 images in all,
 * the source included — which leaves 7 references.
 */
export const MAX_EDIT_REFERENCES = MAX_IMAGE_REFS.image_edit - 1;

export interface EditInputs {
  prompt: string;
  model: Model;
  outputFormat: OutputFormat | null;
  source: JobInput;
  references?: JobInput[];
  /** Jump link to the message the source came from, shown under the result as "Edited from". */
  sourceLink?: string;
  /** The bot result being edited, if it is one. */
  parentJobId?: string;
  /** A variation (the same prompt) or a uni-1-max re-make of a result, rather than an edit the member wrote. */
  action?: 'vary' | 'enhance';
}

/** The job for an image_edit, from /edit and from "Edit image" alike. No aspect ratio: the output follows the source. */
export function editJobSpec(e: EditInputs): JobSpec {
  const refs = e.references ?? [];
  return {
    kind: 'edit',
    request: {
      prompt: e.prompt,
      model: e.model,
      type: 'image_edit',
      source: e.source.input,
      ...(e.outputFormat !== null ? { output_format: e.outputFormat } : {}),
      ...(refs.length > 0 ? { image_ref: refs.map((r) => r.input) } : {}),
    },
    inputs: [e.source, ...refs],
    display: {
      prompt: e.prompt,
      model: e.model,
      aspectRatio: null,
      style: 'auto',
      outputFormat: e.outputFormat,
      webSearch: false,
      references: refs.length,
      ...(e.sourceLink !== undefined ? { sourceLink: e.sourceLink } : {}),
      ...(e.action !== undefined ? { action: e.action } : {}),
    },
    ...(e.parentJobId !== undefined ? { parentJobId: e.parentJobId } : {}),
  };
}

/** A job Luma made an image for: it can be edited through its generation_id. */
export type GeneratedJob = JobRecord & { generationId: string };

export function isGenerated(job: JobRecord): job is GeneratedJob {
  return Boolean(job.generationId);
}

/** A finished bot result as an edit source: by its generation_id, the cheapest way and with no re-upload. */
export function resultAsSource(job: GeneratedJob): JobInput {
  return { role: 'source', input: { generation_id: job.generationId }, filename: `luma-${job.id}` };
}

/** What an edit of one of the bot's results may change besides the prompt. */
export interface ResultEditOptions {
  /** Default: the result's own model. */
  model?: Model;
  /** More reference images (up to MAX_EDIT_REFERENCES). */
  references?: JobInput[];
  /** Where the result was shown, as "Edited from". */
  sourceLink?: string;
  action?: 'vary' | 'enhance';
}

/**
 * The edit of one of the bot's results, from its buttons (Edit, Vary, Enhance) and from "Edit image" alike: its
 * image as the source (by generation_id), its model and format unless another model is asked for, and the new job
 * linked to it.
 */
export function resultEditSpec(parent: GeneratedJob, prompt: string, o: ResultEditOptions = {}): JobSpec {
  return editJobSpec({
    prompt,
    model: o.model ?? parent.request.model ?? 'uni-1',
    outputFormat: parent.request.output_format ?? null,
    source: resultAsSource(parent),
    ...(o.references !== undefined && o.references.length > 0 ? { references: o.references } : {}),
    ...(o.sourceLink !== undefined ? { sourceLink: o.sourceLink } : {}),
    ...(o.action !== undefined ? { action: o.action } : {}),
    parentJobId: parent.id,
  });
}

/** A variation of a result: the same prompt, its image as the source. */
export function variationSpec(parent: GeneratedJob, sourceLink?: string): JobSpec {
  return resultEditSpec(parent, parent.display.prompt, { action: 'vary', ...(sourceLink !== undefined ? { sourceLink } : {}) });
}

/** A result made again with uni-1-max: the same prompt, its image as the source. */
export function enhanceSpec(parent: GeneratedJob, sourceLink?: string): JobSpec {
  return resultEditSpec(parent, parent.display.prompt, { action: 'enhance', model: 'uni-1-max', ...(sourceLink !== undefined ? { sourceLink } : {}) });
}
