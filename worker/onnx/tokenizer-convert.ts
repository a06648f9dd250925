/**
 * The tokenizer.json that transformers' converters (convert_slow_tokenizer.py: CLIPConverter, BertConverter)
 * build from the slow tokenizers' files, so that folders shipping only those files load through the same
 * library as folders with a tokenizer.json.
 */

const special = (id: number, content: string): Record<string, unknown> => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/** CLIPTokenizer's vocab.json + merges.txt (Optimum's SD exports ship these, no tokenizer.json). */
export function clipTokenizerJson(vocab: Readonly<Record<string, number>>, mergesText: string): Record<string, unknown> {
  const merges = mergesText.split('\n').filter((l) => l.length > 0 && !l.startsWith('#version'));
  const bos = '<|startoftext|>';
  const eos = '<|endoftext|>';
  const id = (t: string): number => vocab[t] ?? -1;
  return {
    version: '1.0',
    added_tokens: [bos, eos].filter((t) => id(t) >= 0).map((t) => special(id(t), t)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, id(eos)], cls: [bos, id(bos)], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: eos, continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** BertTokenizer's vocab.txt (one token a line, id = line number): BLIP / ImageReward's text side. */
export function bertTokenizerJson(vocabText: string, lowercase: boolean): Record<string, unknown> {
  const tokens = vocabText.split('\n').map((l) => l.replace(/\r$/, ''));
  if (tokens[tokens.length - 1] === '') tokens.pop();
  const vocab: Record<string, number> = {};
  // a token listed twice takes its last line, as transformers' load_vocab does
  tokens.forEach((t, i) => (vocab[t] = i));
  const id = (t: string): number => vocab[t] ?? -1;
  return {
    version: '1.0',
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => id(t) >= 0).map((t) => special(id(t), t)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', id('[SEP]')], cls: ['[CLS]', id('[CLS]')] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
