// `gptune export --format gguf-lora`: a PEFT adapter as the LoRA GGUF that llama.cpp applies with
// --lora over the exported base (convert_lora_to_gguf.py's layout): `<base tensor>.lora_a` [r, in]
// and `.lora_b` [out, r], one adapter.lora.alpha for the file (llama.cpp scales by alpha / r).
import { basename } from 'node:path';
import { writeGguf, type GgufTensor, type GgufValue } from '../formats/gguf.js';
import { openModel } from '../run/model.js';
import { loraModules } from '../lora/index.js';
import { ggufArchOf, mapTensor, permuteRows } from './gguf_tensors.js';
import { generalMetadata, refuseExisting, type ExportResult } from './gguf.js';
import { writeModelfile } from './modelfile.js';

export type GgufLoraDType = 'f32' | 'f16' | 'bf16';

export interface ExportGgufLoraOptions {
  /** The base model directory the adapter was trained on. */
  model: string;
  adapter: string;
  dtype: GgufLoraDType;
  out: string;
  overwrite?: boolean;
  /** The base model's GGUF, for the Modelfile's FROM line (default: <model dir name>.gguf beside out). */
  baseGguf?: string;
  name?: string;
}

export function exportGgufLora(opts: ExportGgufLoraOptions): ExportResult {
  if (!['f32', 'f16', 'bf16'].includes(opts.dtype)) throw new Error(`--dtype for gguf-lora must be f32, f16 or bf16, got '${opts.dtype}'`);
  refuseExisting(opts.out, opts.overwrite);
  const loaded = openModel(opts.model, { adapter: opts.adapter });
  const arch = ggufArchOf(loaded.config.model_type as string);
  const cfg = loaded.model.config as unknown as Record<string, unknown>;
  const heads = arch === 'gpt2' ? { heads: 0, kvHeads: 0 }
    : { heads: cfg.num_attention_heads as number, kvHeads: cfg.num_key_value_heads as number };
  const modules = loraModules(loaded.model);
  if (modules.length === 0) throw new Error(`${opts.adapter}: the adapter adapts no module`);
  // One alpha for the file: llama.cpp scales each pair by alpha / r (r from lora_a); a module whose
  // own scaling differs (rank_pattern, alpha_pattern, rsLoRA) has it folded into its lora_b.
  const alpha = modules[0][1].scaling * modules[0][1].r;
  const type = { f32: 'F32', f16: 'F16', bf16: 'BF16' }[opts.dtype] as 'F32';
  const tensors: GgufTensor[] = [];
  for (const [moduleName, m] of modules) {
    const map = mapTensor(arch, `${moduleName}.weight`, heads);
    const a = m.lora_A.weight, b = m.lora_B.weight; // (r, in), (out, r) for Linear and Conv1D alike
    const fold = m.scaling / (alpha / m.r);
    tensors.push({ name: `${map.name}.lora_a`, shape: [m.r, m.inFeatures], type, data: () => a.data });
    tensors.push({
      name: `${map.name}.lora_b`, shape: [m.outFeatures, m.r], type,
      data: () => {
        // llama.cpp's rows of q/k are permuted (gguf_tensors.ts): B's output rows follow them.
        const rows = typeof map.transform === 'object' ? permuteRows(b.data, map.transform.permute, m.r) : b.data;
        return fold === 1 ? rows : rows.map((x) => x * fold);
      },
    });
  }
  const metadata: Array<[string, GgufValue]> = [
    ...generalMetadata(arch, opts.name ?? basename(opts.adapter.replace(/\/+$/, '')), 'adapter'),
    ['general.alignment', { type: 'u32', value: 32 }],
    ['adapter.type', { type: 'string', value: 'lora' }],
    ['adapter.lora.alpha', { type: 'f32', value: alpha }],
  ];
  writeGguf(opts.out, { metadata, tensors });
  const baseGguf = opts.baseGguf ?? `${basename(opts.model.replace(/\/+$/, ''))}.gguf`;
  const modelfile = writeModelfile(opts.out, {
    from: baseGguf.includes('/') ? baseGguf : `${opts.out.slice(0, opts.out.length - basename(opts.out).length)}${baseGguf}`,
    adapter: opts.out, tokenizer: loaded.tok, eosIds: loaded.eosIds,
  });
  return { path: opts.out, modelfile, arch, tensors: tensors.length };
}
