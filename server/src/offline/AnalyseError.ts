/**
 * How the analysis of one input ended, and the exit code that says so. Worse outcomes have higher precedence;
 * with several inputs the process exits with the code of the worst one.
 */
export const OUTCOMES = {
  /** Every frame asked for was analysed. */
  complete: { exitCode: 0, rank: 0 },
  /** Analysed to the end, but no face was found in any frame. */
  'no-faces': { exitCode: 3, rank: 1 },
  /** The decoder stopped early or reported damage: the output covers what could be decoded, and is marked partial. */
  truncated: { exitCode: 4, rank: 2 },
  /** The input is there but holds no video stream (e.g. audio only). */
  'no-video': { exitCode: 5, rank: 3 },
  /** The input could not be opened or is not media. */
  unreadable: { exitCode: 6, rank: 4 },
  /** Stopped by a signal (Ctrl-C): the output so far is flushed and marked partial. */
  interrupted: { exitCode: 130, rank: 5 },
  /** A fault of the analysis itself (a vision worker, an output that cannot be written). */
  failed: { exitCode: 1, rank: 6 },
} as const;

export type Outcome = keyof typeof OUTCOMES;

/** Wrong flags: nothing was analysed. */
export const USAGE_EXIT_CODE = 2;

/** An input the analysis cannot go on with; `outcome` says why (and so the exit code). */
export class AnalyseError extends Error {
  override name = 'AnalyseError';
  constructor(
    readonly outcome: Exclude<Outcome, 'complete'>,
    message: string,
  ) {
    super(message);
  }
}

export function worstOutcome(outcomes: readonly Outcome[]): Outcome {
  return outcomes.reduce<Outcome>((worst, o) => (OUTCOMES[o].rank > OUTCOMES[worst].rank ? o : worst), 'complete');
}
