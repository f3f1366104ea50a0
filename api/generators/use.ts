// Compiles only if the generated types describe the answer as the README shows it.
import type { components } from "./api";

type Answer = components["schemas"]["Answer"];

export function tiles(a: Answer): number[] {
  return a.solution.objects;
}
