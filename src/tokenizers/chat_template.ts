// Chat templates: a conversation rendered to the exact text the model was trained on, with the
// model's own Jinja template (chat_template.jinja or tokenizer_config.json), or ChatML by default.
// Rendered as Python's Jinja2 renders it in transformers (see jinja_python.ts).
import { Template } from '@huggingface/jinja';
import { renderLikePython } from './jinja_python.js';
import { GptuneError, errorMessage } from '../util/errors.js';

export interface ChatMessage {
  role: string;
  content: string;
}

/**
 * The default when a model has no template: ChatML, as TRL's setup_chat_format installs it
 * ("<|im_start|>{role}\n{content}<|im_end|>\n" per message; the generation prompt opens an
 * assistant turn). Its end-of-turn token is <|im_end|>.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface RenderOptions {
  /** Append the assistant turn opening (the prompt for generation). */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Further template variables (e.g. tools, date_string). */
  extra?: Record<string, unknown>;
}

export class ChatTemplate {
  private readonly template: Template;

  /** origin names where the template came from (a file) in error messages. */
  constructor(readonly source: string, readonly origin: string = 'chat template', readonly isDefault = false) {
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new GptuneError(`chat template does not parse: ${errorMessage(e)}`, { file: origin });
    }
  }

  /** The default ChatML template. */
  static chatml(): ChatTemplate {
    return new ChatTemplate(CHATML_TEMPLATE, 'default ChatML template', true);
  }

  /**
   * tokenizer_config.json's chat_template: a string, or a list of {name, template} of which the
   * one named 'default' is used. null when the config has none.
   */
  static fromTokenizerConfig(config: unknown, origin = 'tokenizer_config.json'): ChatTemplate | null {
    if (config === null || typeof config !== 'object') return null;
    const t = (config as Record<string, unknown>).chat_template;
    if (t === undefined || t === null) return null;
    if (typeof t === 'string') return new ChatTemplate(t, origin);
    if (Array.isArray(t)) {
      const named = t as { name?: unknown; template?: unknown }[];
      const def = named.find((x) => x && x.name === 'default');
      if (!def || typeof def.template !== 'string') {
        const names = named.map((x) => String(x?.name)).join(', ');
        throw new GptuneError(`chat_template lists templates (${names}) but none named 'default'`, { file: origin, key: 'chat_template' });
      }
      return new ChatTemplate(def.template, `${origin} (chat_template 'default')`);
    }
    throw new GptuneError('chat_template must be a string or a list of {name, template}', { file: origin, key: 'chat_template' });
  }

  /** The model's template (chat_template.jinja text first, then tokenizer_config.json), else ChatML. */
  static resolve(opts: { jinja?: string | null; jinjaOrigin?: string; tokenizerConfig?: unknown }): ChatTemplate {
    if (typeof opts.jinja === 'string' && opts.jinja.trim() !== '') return new ChatTemplate(opts.jinja, opts.jinjaOrigin ?? 'chat_template.jinja');
    return ChatTemplate.fromTokenizerConfig(opts.tokenizerConfig) ?? ChatTemplate.chatml();
  }

  /** The conversation as text; a template error (raise_exception included) keeps the template's message. */
  render(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    try {
      return renderLikePython(this.template, {
        ...opts.extra,
        // Every field of a message reaches the template (Qwen3 reads reasoning_content), as in transformers.
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        bos_token: opts.bosToken ?? '',
        eos_token: opts.eosToken ?? '',
      });
    } catch (e) {
      throw new GptuneError(`chat template error: ${errorMessage(e)}`, { file: this.origin });
    }
  }
}
