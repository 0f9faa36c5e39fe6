// Charts drawn by uPlot (vendored, a classic script: window.uPlot) from the figures the page's
// tables show. Each chart is made once its box has a width, and follows the box's size.
import { h } from "./dom.js";

const HEIGHT = 240;
const INCOME = "#2a7a3b";
const EXPENSES = "#b3392f";
const LINE = "#1f5fa8";
const AXIS_WIDTH = 80; // room for "−1,000,000" beside the plot

function sized(make) {
  const box = h("div", { class: "chart" });
  let plot = null;
  new ResizeObserver(() => {
    const width = box.clientWidth;
    if (!width) return;
    if (plot) plot.setSize({ width, height: HEIGHT });
    else plot = make(width, box);
  }).observe(box);
  return box;
}

// dates: ISO dates; values: decimal strings (plotted as numbers: the table keeps them exact).
export function lineChart(title, dates, values) {
  const xs = dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const ys = values.map(Number);
  return sized((width, box) => new uPlot({
    title, width, height: HEIGHT, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    series: [{}, { label: "balance", stroke: LINE, width: 2, stepped: { align: 1 } }],
    scales: { x: { time: true } },
    axes: [{}, { size: AXIS_WIDTH }],
  }, [xs, ys], box));
}

// labels: one per group (months); series: [{label, values}] drawn as side-by-side bars.
export function barChart(title, labels, series) {
  const xs = labels.map((_, i) => i);
  const colors = [INCOME, EXPENSES, LINE];
  const bars = (align) => uPlot.paths.bars({ size: [0.4, 60], align });
  return sized((width, box) => new uPlot({
    title, width, height: HEIGHT,
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] } },
    axes: [{ values: (_, ticks) => ticks.map((t) => labels[t] ?? ""), splits: () => xs }, { size: AXIS_WIDTH }],
    series: [
      { value: (_, v) => labels[v] ?? "" },
      ...series.map((s, i) => ({
        label: s.label, stroke: colors[i], fill: colors[i] + "cc", width: 1,
        paths: bars(series.length === 1 ? 0 : i === 0 ? -1 : 1), points: { show: false },
      })),
    ],
  }, [xs, ...series.map((s) => s.values.map(Number))], box));
}
