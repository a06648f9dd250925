import { ValidationError } from '../core/errors.js';
import type { PromptSettings } from '../core/generated/ttsnap/v1/PromptSettings.js';
import type { SubmitJobRequest, SubmitJobRequest__Output } from '../core/generated/ttsnap/v1/SubmitJobRequest.js';
import { LIMITS } from './job-spec.js';

/**
 * Gathers a SubmitJobUpload stream into one request: the first message's settings, every message's prompts,
 * texts and per-prompt settings in order (settings of later messages are ignored). The prompt cap is checked
 * as messages arrive, so an oversized upload is refused before it is all in memory.
 */
export class JobUpload {
  private head: SubmitJobRequest__Output | null = null;
  private readonly prompts: number[] = [];
  private readonly texts: string[] = [];
  private readonly settings: PromptSettings[] = [];

  add(message: SubmitJobRequest__Output): void {
    this.head ??= message;
    for (const p of message.prompts ?? []) this.prompts.push(p);
    for (const t of message.texts ?? []) this.texts.push(t);
    for (const s of message.prompt_settings ?? []) this.settings.push(s);
    const n = Math.max(this.prompts.length, this.texts.length);
    if (n > LIMITS.prompts) throw new ValidationError(this.texts.length > 0 ? 'texts' : 'prompts', `more than ${LIMITS.prompts} entries in the upload`, `at most ${LIMITS.prompts}`);
  }

  request(): SubmitJobRequest {
    if (!this.head) throw new ValidationError('SubmitJobUpload', 'no message', 'the request, then its prompts in further messages');
    return { ...this.head, prompts: this.prompts, texts: this.texts, prompt_settings: this.settings };
  }
}
