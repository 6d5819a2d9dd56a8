// "Did you mean ...?": the known name nearest to a mistyped one.

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/** Case, dashes and underscores are not worth a typo: `Max-Body` and `max_body` compare equal. */
function fold(name: string): string {
  return name.toLowerCase().replace(/^-+/, "").replaceAll("-", "_");
}

/**
 * The candidate nearest to `name`, or null when none is close: within a third of the name's
 * length in edits (at least 2), or one that starts with what was typed (`max_body`).
 */
export function suggest(name: string, candidates: readonly string[]): string | null {
  const typed = fold(name);
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(typed.length / 3));
  for (const candidate of candidates) {
    const folded = fold(candidate);
    const d = typed.length >= 3 && folded.startsWith(typed) ? 1 : distance(typed, folded);
    // Rewriting every letter is no near miss: -x is not a typo of --pm.
    if (d >= Math.max(typed.length, folded.length)) continue;
    if (d < bestDistance || (d === bestDistance && best === null)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
