// Hugging Face parameter names and layouts -> llama.cpp's (as convert_hf_to_gguf.py maps them):
// GPT-2's Conv1D weights transposed to [out, in]; Llama's q/k rows permuted from HF's rotate_half
// order to llama.cpp's interleaved rope; Qwen2 keeps HF's order (llama.cpp runs it with NeoX rope).

/** The llama.cpp architecture a gptune model_type exports as. */
export type GgufArch = 'gpt2' | 'llama' | 'qwen2';

export function ggufArchOf(modelType: string): GgufArch {
  if (modelType === 'gpt2') return 'gpt2';
  if (modelType === 'llama' || modelType === 'mistral') return 'llama'; // convert_hf_to_gguf writes Mistral as llama
  if (modelType === 'qwen2') return 'qwen2';
  throw new Error(`config.json: model_type '${modelType}' has no GGUF export (gpt2, llama, mistral, qwen2 have)`);
}

export interface TensorMapping {
  /** The GGUF tensor name (blk.0.attn_q.weight ...). */
  name: string;
  /**
   * Row-major [out, in] data from the HF tensor (shape as in the model). Row permutations and
   * transposes are done here; a 1-D tensor passes through (or is permuted, for q/k biases).
   */
  transform: 'none' | 'transpose' | { permute: number };
}

const GPT2_BLOCK: Record<string, string> = {
  'ln_1.weight': 'attn_norm.weight', 'ln_1.bias': 'attn_norm.bias',
  'attn.c_attn.weight': 'attn_qkv.weight', 'attn.c_attn.bias': 'attn_qkv.bias',
  'attn.c_proj.weight': 'attn_output.weight', 'attn.c_proj.bias': 'attn_output.bias',
  'ln_2.weight': 'ffn_norm.weight', 'ln_2.bias': 'ffn_norm.bias',
  'mlp.c_fc.weight': 'ffn_up.weight', 'mlp.c_fc.bias': 'ffn_up.bias',
  'mlp.c_proj.weight': 'ffn_down.weight', 'mlp.c_proj.bias': 'ffn_down.bias',
};
const GPT2_TOP: Record<string, string> = {
  'transformer.wte.weight': 'token_embd.weight', 'transformer.wpe.weight': 'position_embd.weight',
  'transformer.ln_f.weight': 'output_norm.weight', 'transformer.ln_f.bias': 'output_norm.bias',
  'lm_head.weight': 'output.weight',
};

const LLAMA_BLOCK: Record<string, string> = {
  'input_layernorm.weight': 'attn_norm.weight',
  'self_attn.q_proj.weight': 'attn_q.weight', 'self_attn.q_proj.bias': 'attn_q.bias',
  'self_attn.k_proj.weight': 'attn_k.weight', 'self_attn.k_proj.bias': 'attn_k.bias',
  'self_attn.v_proj.weight': 'attn_v.weight', 'self_attn.v_proj.bias': 'attn_v.bias',
  'self_attn.o_proj.weight': 'attn_output.weight', 'self_attn.o_proj.bias': 'attn_output.bias',
  'post_attention_layernorm.weight': 'ffn_norm.weight',
  'mlp.gate_proj.weight': 'ffn_gate.weight', 'mlp.gate_proj.bias': 'ffn_gate.bias',
  'mlp.up_proj.weight': 'ffn_up.weight', 'mlp.up_proj.bias': 'ffn_up.bias',
  'mlp.down_proj.weight': 'ffn_down.weight', 'mlp.down_proj.bias': 'ffn_down.bias',
};
const LLAMA_TOP: Record<string, string> = {
  'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight', 'lm_head.weight': 'output.weight',
};

export interface HeadCounts { heads: number; kvHeads: number }

/** Maps one HF parameter name; throws, naming it, for a tensor llama.cpp has no place for. */
export function mapTensor(arch: GgufArch, hfName: string, heads: HeadCounts): TensorMapping {
  const gpt2 = arch === 'gpt2';
  const top = (gpt2 ? GPT2_TOP : LLAMA_TOP)[hfName];
  if (top) return { name: top, transform: 'none' };
  const m = (gpt2 ? /^transformer\.h\.(\d+)\.(.+)$/ : /^model\.layers\.(\d+)\.(.+)$/).exec(hfName);
  const local = m ? (gpt2 ? GPT2_BLOCK : LLAMA_BLOCK)[m[2]] : undefined;
  if (!m || !local) throw new Error(`tensor '${hfName}' has no GGUF name for architecture ${arch}`);
  const name = `blk.${m[1]}.${local}`;
  if (gpt2) return { name, transform: /\.(c_attn|c_proj|c_fc)\.weight$/.test(hfName) ? 'transpose' : 'none' };
  if (arch === 'llama' && /self_attn\.q_proj\./.test(hfName)) return { name, transform: { permute: heads.heads } };
  if (arch === 'llama' && /self_attn\.k_proj\./.test(hfName)) return { name, transform: { permute: heads.kvHeads } };
  return { name, transform: 'none' };
}

/** [rows, cols] -> [cols, rows]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/**
 * convert_hf_to_gguf's permute: the rows of each head, [2, D/2] in HF's rotate_half order, become
 * [D/2, 2] (pairs interleaved), which is the order llama.cpp's rope rotates. rowLen is 1 for a bias.
 */
export function permuteRows(data: Float32Array, nHead: number, rowLen: number): Float32Array {
  const rows = data.length / rowLen;
  const half = rows / nHead / 2;
  if (!Number.isInteger(half)) throw new Error(`cannot permute ${rows} rows into ${nHead} heads of pairs`);
  const out = new Float32Array(data.length);
  for (let h = 0; h < nHead; h++) {
    for (let two = 0; two < 2; two++) {
      for (let i = 0; i < half; i++) {
        const src = (h * 2 * half + two * half + i) * rowLen;
        const dst = (h * 2 * half + i * 2 + two) * rowLen;
        out.set(data.subarray(src, src + rowLen), dst);
      }
    }
  }
  return out;
}

/** Applies a mapping to an HF tensor: returns the GGUF shape (row-major) and data. */
export function applyTransform(t: TensorMapping['transform'], shape: readonly number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  if (t === 'none') return { shape: [...shape], data };
  if (t === 'transpose') return { shape: [shape[1], shape[0]], data: transpose2d(data, shape[0], shape[1]) };
  const rowLen = shape.length === 2 ? shape[1] : 1;
  return { shape: [...shape], data: permuteRows(data, t.permute, rowLen) };
}
