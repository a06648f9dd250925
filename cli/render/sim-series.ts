/**
 * The simulator's three policies in the order every report lists and draws them (TTSnap last, on top), with
 * the name and PNG colour both the text report and the plot use, so the two never disagree.
 */
export const SIM_SERIES = [
  { key: 'bon', label: 'best-of-N', rgb: [130, 130, 130] },
  { key: 'ttsp', label: 'TTSp', rgb: [230, 160, 0] },
  { key: 'ttsnap', label: 'TTSnap', rgb: [20, 150, 60] },
] as const;
