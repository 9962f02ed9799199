/** A lookup with a time budget: past it, the promise rejects (the caller answers its busy code). */
export function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`source exceeded its ${ms} ms budget`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
