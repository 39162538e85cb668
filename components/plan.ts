/**
 * Rollout order: canaries first, then waves in ascending order. Every container of a wave
 * depends on the containers of the wave before it, so a wave whose new containers never get
 * healthy stops the roll before later waves are touched. Pure.
 */

/** What the plan needs of an instance. */
export interface RolloutInput {
  readonly name: string;
  readonly rollout: { readonly wave: number; readonly canary: boolean };
}

/** One step of the roll: the instances updated together. */
export interface Wave {
  /** `canary` or `wave <n>`. */
  readonly label: string;
  /** Instance names, sorted. */
  readonly instances: readonly string[];
}

/** The roll: waves in order, and what each instance's container waits for. */
export interface RolloutPlan {
  /** Non-empty waves in the order they update. */
  readonly waves: readonly Wave[];
  /** Every instance name, in wave order (the order the program registers them). */
  readonly order: readonly string[];
  /** Instance name -> names of the instances in the previous non-empty wave (empty for the first wave). */
  readonly after: Readonly<Record<string, readonly string[]>>;
}

/** Plans the roll of a fleet. */
export function planRollout(instances: readonly RolloutInput[]): RolloutPlan {
  const byName = (a: string, b: string) => a.localeCompare(b);
  const canaries = instances.filter((i) => i.rollout.canary).map((i) => i.name);
  const waveNumbers = [...new Set(instances.filter((i) => !i.rollout.canary).map((i) => i.rollout.wave))].sort(
    (a, b) => a - b,
  );
  const waves: Wave[] = [];
  if (canaries.length > 0) waves.push({ label: "canary", instances: canaries.sort(byName) });
  for (const n of waveNumbers) {
    const members = instances
      .filter((i) => !i.rollout.canary && i.rollout.wave === n)
      .map((i) => i.name)
      .sort(byName);
    waves.push({ label: `wave ${n}`, instances: members });
  }
  const after: Record<string, readonly string[]> = {};
  waves.forEach((wave, k) => {
    const previous = k > 0 ? (waves[k - 1]?.instances ?? []) : [];
    for (const name of wave.instances) after[name] = previous;
  });
  return { waves, order: waves.flatMap((w) => w.instances), after };
}
