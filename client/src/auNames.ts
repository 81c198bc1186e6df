/**
 * Descriptive names of FACS action units. The model names its AUs (e.g. "AU12"); people read
 * "AU12 lip corner puller". Labels that are not a known FACS number are shown as the model gave them.
 */
const FACS: Record<number, string> = {
  1: 'inner brow raiser',
  2: 'outer brow raiser',
  4: 'brow lowerer',
  5: 'upper lid raiser',
  6: 'cheek raiser',
  7: 'lid tightener',
  9: 'nose wrinkler',
  10: 'upper lip raiser',
  12: 'lip corner puller',
  14: 'dimpler',
  15: 'lip corner depressor',
  17: 'chin raiser',
  20: 'lip stretcher',
  23: 'lip tightener',
  24: 'lip pressor',
  25: 'lips part',
  26: 'jaw drop',
  28: 'lip suck',
  43: 'eyes closed',
  45: 'blink',
};

export function auName(label: string): string {
  const match = /^AU\s*0*(\d+)$/i.exec(label.trim());
  const name = match ? FACS[Number(match[1])] : undefined;
  return name ? `AU${match![1]} ${name}` : label;
}
