/**
 * The simulator's three policies in the order every report lists and draws them (TTSnap last, on top), with
 * the name and colour both the text report and the charts use, so the two never disagree.
 */
export const SIM_SERIES = [
  { key: 'bon', label: 'best-of-N', color: '#828282' },
  { key: 'ttsp', label: 'TTSp', color: '#e6a000' },
  { key: 'ttsnap', label: 'TTSnap', color: '#14963c' },
] as const;
