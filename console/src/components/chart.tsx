/**
 * A time series as a uPlot chart (canvas; uPlot is small and fast on many points). The figure is named for screen
 * readers, and every chart in the console has a table with the same figures beside it.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { t } from "../i18n";

export interface Series {
  label: string;
  values: number[];
  /** a CSS colour from the console's palette */
  color: string;
}

const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2"];
export const color = (i: number): string => PALETTE[i % PALETTE.length] ?? "#2563eb";

export function Chart(props: { label: string; times: number[]; series: Series[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(320, element.clientWidth),
      height: props.height ?? 220,
      series: [
        { label: t("common.time") },
        ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: false } })),
      ],
      axes: [{}, { size: 60 }],
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    const plot = new uPlot(options, [props.times, ...props.series.map((s) => s.values)], element);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, element.clientWidth), height: options.height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [props.times, props.series, props.height]);
  return <figure class="chart" role="img" aria-label={props.label} ref={box} />;
}
