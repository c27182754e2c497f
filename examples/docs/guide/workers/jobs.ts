// workers/jobs.ts
export function render(scene: string): void {
  console.log(`rendering ${scene}`);
}
