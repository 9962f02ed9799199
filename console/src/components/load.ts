/** Loading what a page shows: the answer, the error, and a way to load again (after a change, or every second). */
import { messageOf } from "../api";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: ReadonlyArray<unknown>): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    load().then(
      (value) => {
        if (mine !== generation.current) return; // an older answer arriving late
        setData(value);
        setError(undefined);
      },
      (err: unknown) => {
        if (mine === generation.current) setError(messageOf(err));
      },
    );
  }, deps);
  useEffect(run, [run]);
  return { data, error, reload: run };
}
