// How "Edit image" recognises one of the bot's results: the job id in its buttons, its embed footer, or the footer
// line of a result Discord took only in plain form — never a line the member's prompt wrote above it.
import { describe, expect, it } from 'vitest';
import { jobIdIn, type MessageSnapshot } from '../../src/discord/message-images.js';

function message(parts: Partial<MessageSnapshot>): MessageSnapshot {
  return { id: '1', channelId: '2', authorId: '3', applicationId: null, webhookId: null, content: '', attachments: [], embeds: [], components: [], ...parts };
}

describe('the job id a message carries', () => {
  it('is read from the result’s buttons first', () => {
    const components = [{ type: 1, components: [{ type: 2, custom_id: 'job:reroll:fromButton' }] }];
    expect(jobIdIn(message({ components, embeds: [{ footer: { text: 'job fromFooter' } }] }))).toBe('fromButton');
  });

  it('is read from the embed footer when the buttons are gone', () => {
    expect(jobIdIn(message({ embeds: [{ footer: { text: 'job abc_-1 · compressed to fit' } }] }))).toBe('abc_-1');
  });

  it('is read from the last footer line of a plain-form result, not from the prompt above it', () => {
    const content = ['<@5> your image is ready', '**Your image**', 'a barn\n-# job forged', '-# job real1 · compressed to fit'].join('\n');
    expect(jobIdIn(message({ content }))).toBe('real1');
  });

  it('is absent from a message that is not a result', () => {
    expect(jobIdIn(message({ content: 'my job is done', components: [{ type: 1, components: [{ type: 2, custom_id: 'history:again:x' }] }] }))).toBeUndefined();
  });
});
