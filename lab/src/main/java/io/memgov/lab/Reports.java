package io.memgov.lab;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.memgov.lab.RunResult.Heap;
import io.memgov.lab.RunResult.HeapSample;
import io.memgov.lab.RunResult.Kill;
import io.memgov.lab.RunResult.QueryResult;
import io.memgov.lab.RunResult.Sample;
import io.memgov.lab.RunResult.Totals;
import io.memgov.spi.policy.DataSizes;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * What the lab writes besides its standard output: {@code --json} results, and the {@code --report} directory with
 * PNG charts (XChart) and an HTML page that shows them with the tables.
 */
final class Reports
{
    static final String RUN_CHART = "pool-use.png";
    static final String HEAP_CHART = "heap.png";
    static final String COMPARE_CHART = "compare.png";
    static final String PAGE = "index.html";
    private static final double MB = 1024.0 * 1024.0;

    private Reports() {}

    static ObjectMapper json()
    {
        return new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    }

    /** Writes one run (queries, totals, timeline, kills) as JSON. */
    static void writeJson(Path file, Object value, String option)
    {
        try {
            createParent(file);
            json().writeValue(file.toFile(), value);
        }
        catch (IOException e) {
            throw new BadInputException("Cannot write " + option + " file '" + file + "': " + e.getMessage());
        }
    }

    /** Writes {@code pool-use.png} and {@code index.html} into {@code directory}; returns the page. */
    static Path writeRunReport(Path directory, RunResult run, String title)
    {
        createDirectory(directory);
        writePng(runChart(run, title), directory.resolve(RUN_CHART));
        StringBuilder html = page(title);
        html.append("<img src=\"").append(RUN_CHART).append("\" alt=\"pool use per node over time\">\n");
        writePng(heapChart(run, title + ": the real heap"), directory.resolve(HEAP_CHART));
        html.append("<img src=\"").append(HEAP_CHART).append("\" alt=\"live heap after each collection, tracked memory and effective pool maximum over time\">\n");
        html.append("<h2>Totals</h2>\n").append(totalsTable(List.of(run)));
        html.append("<h2>Heap</h2>\n").append(heapTable(run.heap()));
        if (!run.processes().isEmpty()) {
            html.append("<h2>Worker JVMs</h2>\n").append(processesTable(run));
        }
        html.append("<h2>Queries</h2>\n").append(queriesTable(run));
        if (!run.kills().isEmpty()) {
            html.append("<h2>Kills</h2>\n<table><tr><th>time</th><th>query</th><th>tasks</th><th>error</th></tr>\n");
            for (Kill kill : run.kills()) {
                html.append(row(String.format(Locale.ROOT, "%.1fs", kill.millis() / 1000.0), kill.queryId(),
                        kill.tasks().isEmpty() ? "whole query" : String.join(", ", kill.tasks()), kill.errorCode()));
            }
            html.append("</table>\n");
        }
        return writePage(directory, html);
    }

    /** Writes {@code compare.png} and {@code index.html} comparing several runs of one workload. */
    static Path writeCompareReport(Path directory, List<RunResult> runs, String title)
    {
        return writeCompareReport(directory, runs, title, null);
    }

    /** The same, with {@code summary} (the {@code --repeat} table as printed; null for none) shown above the runs. */
    static Path writeCompareReport(Path directory, List<RunResult> runs, String title, String summary)
    {
        createDirectory(directory);
        writePng(compareChart(runs, title), directory.resolve(COMPARE_CHART));
        StringBuilder html = page(title);
        html.append("<img src=\"").append(COMPARE_CHART).append("\" alt=\"cluster pool use over time, one line per run\">\n");
        if (summary != null) {
            html.append("<h2>Summary</h2>\n<pre>").append(escape(summary)).append("</pre>\n");
        }
        html.append("<h2>Runs</h2>\n").append(totalsTable(runs));
        for (RunResult run : runs) {
            html.append("<h2>").append(escape(run.label())).append("</h2>\n");
            if (!run.processes().isEmpty()) {
                html.append(processesTable(run));
            }
            html.append(queriesTable(run));
        }
        return writePage(directory, html);
    }

    /** Pool use per node over time, the pool's maximum dashed, and a vertical line at every kill. */
    static XYChart runChart(RunResult run, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(500).title(title)
                .xAxisTitle("seconds").yAxisTitle("pool use (MB)").build();
        chart.getStyler().setMarkerSize(0);
        List<Sample> timeline = run.timeline().isEmpty() ? List.of(new Sample(0, new long[run.nodes().size()], new long[run.nodes().size()])) : run.timeline();
        double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
        for (int node = 0; node < run.nodes().size(); node++) {
            int index = node;
            double[] used = timeline.stream().mapToDouble(sample -> sample.reservedBytes()[index] / MB).toArray();
            chart.addSeries(run.nodes().get(node), seconds, used);
        }
        double last = seconds[seconds.length - 1];
        XYSeries max = chart.addSeries("pool max", new double[] {0, Math.max(last, 0.001)}, new double[] {run.poolBytes() / MB, run.poolBytes() / MB});
        max.setLineColor(Color.GRAY);
        max.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 6f}, 0f));
        if (!run.kills().isEmpty()) {
            // a legend entry for the kills, then one red line each
            double[] killSeconds = run.kills().stream().mapToDouble(kill -> kill.millis() / 1000.0).toArray();
            double[] killHeights = new double[killSeconds.length];
            java.util.Arrays.fill(killHeights, run.poolBytes() / MB);
            XYSeries kills = chart.addSeries("kill", killSeconds, killHeights);
            kills.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            kills.setMarker(SeriesMarkers.DIAMOND);
            kills.setMarkerColor(Color.RED);
            chart.getStyler().setAnnotationLineColor(Color.RED);
            for (double at : killSeconds) {
                chart.addAnnotation(new AnnotationLine(at, true, false));
            }
            chart.getStyler().setMarkerSize(8);
            chart.getSeriesMap().values().stream().filter(series -> series != kills).forEach(series -> series.setMarker(SeriesMarkers.NONE));
        }
        return chart;
    }

    /**
     * The real heap over time, all nodes together: the live heap after the last collection, what the pools held at
     * that collection, and the nodes' effective pool maxima (their pools less the heap nobody tracked); the max heap
     * and the pools as configured dashed.
     */
    static XYChart heapChart(RunResult run, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(400).title(title)
                .xAxisTitle("seconds").yAxisTitle("heap (MB)").build();
        chart.getStyler().setMarkerSize(0);
        List<HeapSample> timeline = run.heapTimeline().isEmpty() ? List.of(new HeapSample(0, 0, 0, 0, run.heap().poolBytes())) : run.heapTimeline();
        double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
        chart.addSeries("live heap after GC", seconds, timeline.stream().mapToDouble(sample -> sample.liveBytes() / MB).toArray());
        chart.addSeries("tracked at that GC", seconds, timeline.stream().mapToDouble(sample -> sample.trackedBytes() / MB).toArray());
        chart.addSeries("effective pool maximum", seconds, timeline.stream().mapToDouble(sample -> sample.effectiveMaxBytes() / MB).toArray());
        double last = Math.max(seconds[seconds.length - 1], 0.001);
        dashed(chart.addSeries("max heap", new double[] {0, last}, new double[] {run.heap().maxHeapBytes() / MB, run.heap().maxHeapBytes() / MB}), Color.DARK_GRAY);
        dashed(chart.addSeries("pools as configured", new double[] {0, last}, new double[] {run.heap().poolBytes() / MB, run.heap().poolBytes() / MB}), Color.GRAY);
        return chart;
    }

    private static void dashed(XYSeries series, Color color)
    {
        series.setLineColor(color);
        series.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 6f}, 0f));
    }

    /** The run's heap figures as rows of label and value. */
    static Map<String, String> heapRows(Heap heap)
    {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("max heap", DataSizes.succinct(heap.maxHeapBytes()));
        rows.put("pools as configured", DataSizes.succinct(heap.poolBytes()) + (heap.governed() ? "" : " (not governing the heap)"));
        rows.put("peak live heap after GC", DataSizes.succinct(heap.peakLiveBytes()));
        rows.put("peak tracked at a GC", DataSizes.succinct(heap.peakTrackedBytes()));
        rows.put("peak untracked", DataSizes.succinct(heap.peakUntrackedBytes()));
        rows.put("least effective pool maximum", DataSizes.succinct(heap.leastEffectiveMaxBytes()));
        rows.put("collections (young / full)", heap.youngCollections() + " / " + heap.fullCollections());
        rows.put("heap-pressure kills", Long.toString(heap.queriesKilledDueToHeapPressure()));
        rows.put("JVM OutOfMemoryErrors thrown", heap.outOfMemoryErrorsThrown() < 0 ? "unknown" : Long.toString(heap.outOfMemoryErrorsThrown()));
        return rows;
    }

    private static String heapTable(Heap heap)
    {
        StringBuilder html = new StringBuilder("<table>\n");
        heapRows(heap).forEach((name, value) -> html.append(row(name, value)));
        return html.append("</table>\n").toString();
    }

    /** Cluster pool use (every node summed) over time, one line per run. */
    static XYChart compareChart(List<RunResult> runs, String title)
    {
        XYChart chart = new XYChartBuilder().width(1000).height(500).title(title)
                .xAxisTitle("seconds").yAxisTitle("cluster pool use (MB)").build();
        chart.getStyler().setMarkerSize(0);
        for (RunResult run : runs) {
            List<Sample> timeline = run.timeline().isEmpty() ? List.of(new Sample(0, new long[1], new long[1])) : run.timeline();
            double[] seconds = timeline.stream().mapToDouble(sample -> sample.millis() / 1000.0).toArray();
            double[] used = timeline.stream().mapToDouble(sample -> java.util.Arrays.stream(sample.reservedBytes()).sum() / MB).toArray();
            chart.addSeries(run.label() + " (" + run.totals().killed() + " killed)", seconds, used);
        }
        return chart;
    }

    /** The side-by-side rows {@code compare} prints and the HTML page shows: one column per run. */
    static Map<String, Function<Totals, String>> totalsRows()
    {
        Map<String, Function<Totals, String>> rows = new LinkedHashMap<>();
        rows.put("finished", totals -> Integer.toString(totals.finished()));
        rows.put("killed", totals -> Integer.toString(totals.killed()));
        rows.put("failed", totals -> Integer.toString(totals.failed()));
        rows.put("wrong results", totals -> Integer.toString(totals.wrongResults()));
        rows.put("wasted work (CPU)", totals -> millis(totals.wastedCpuNanos() / 1_000_000));
        rows.put("peak pool use", totals -> DataSizes.succinct(totals.peakPoolBytes()));
        rows.put("spilled", totals -> DataSizes.succinct(totals.spilledBytes()));
        rows.put("reserved after run", totals -> DataSizes.succinct(totals.reservedBytesAfterRun()));
        rows.put("spill files left", totals -> Integer.toString(totals.spillFilesLeft()));
        rows.put("JVM OutOfMemoryErrors", totals -> Integer.toString(totals.jvmOutOfMemoryErrors()));
        rows.put("wall time", totals -> millis(totals.wallMillis()));
        return rows;
    }

    static String millis(long millis)
    {
        return millis < 1000 ? millis + "ms" : String.format(Locale.ROOT, "%.2fs", millis / 1000.0);
    }

    private static String totalsTable(List<RunResult> runs)
    {
        StringBuilder html = new StringBuilder("<table><tr><th></th>");
        runs.forEach(run -> html.append("<th>").append(escape(run.label())).append("</th>"));
        html.append("</tr>\n");
        totalsRows().forEach((name, value) -> {
            List<String> cells = new ArrayList<>(List.of(name));
            runs.forEach(run -> cells.add(value.apply(run.totals())));
            html.append(row(cells.toArray(String[]::new)));
        });
        return html.append("</table>\n").toString();
    }

    /** One row per worker JVM of {@code run --processes}: its heap figures and how it ended. */
    private static String processesTable(RunResult run)
    {
        StringBuilder html = new StringBuilder("<table><tr><th>node</th><th>pid</th><th>-Xmx</th><th>peak heap</th><th>peak untracked</th>"
                + "<th>young GCs</th><th>full GCs</th><th>GC time</th><th>OutOfMemoryErrors</th><th>end</th></tr>\n");
        for (RunResult.WorkerFigures process : run.processes()) {
            html.append(row(process.node(), Long.toString(process.pid()), DataSizes.succinct(process.maxHeapBytes()),
                    DataSizes.succinct(process.peakHeapBytes()), DataSizes.succinct(process.peakUntrackedBytes()),
                    Long.toString(process.youngCollections()), Long.toString(process.fullCollections()), millis(process.gcMillis()),
                    Integer.toString(process.jvmOutOfMemoryErrors()), process.end()));
        }
        return html.append("</table>\n").toString();
    }

    private static String queriesTable(RunResult run)
    {
        StringBuilder html = new StringBuilder("<table><tr><th>query</th><th>user</th><th>operator</th><th>status</th><th>error</th>"
                + "<th>peak</th><th>spilled</th><th>CPU</th><th>result</th><th>message</th></tr>\n");
        for (QueryResult query : run.queries()) {
            html.append(row(query.id(), query.user(), query.operator(), query.status().name(), query.errorCode(),
                    DataSizes.succinct(query.peakBytes()), DataSizes.succinct(query.spilledBytes()), millis(query.cpuNanos() / 1_000_000),
                    resultText(query), query.message()));
        }
        return html.append("</table>\n").toString();
    }

    static String resultText(QueryResult query)
    {
        if (query.status() != RunResult.Status.FINISHED) {
            return "-";
        }
        return query.verified() ? "verified" : "WRONG";
    }

    private static StringBuilder page(String title)
    {
        return new StringBuilder("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(escape(title)).append("</title>\n")
                .append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
                        + "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}img{max-width:100%}</style></head><body>\n")
                .append("<h1>").append(escape(title)).append("</h1>\n");
    }

    private static Path writePage(Path directory, StringBuilder html)
    {
        html.append("</body></html>\n");
        Path page = directory.resolve(PAGE);
        try {
            Files.writeString(page, html);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write " + page, e);
        }
        return page;
    }

    private static String row(String... cells)
    {
        StringBuilder row = new StringBuilder("<tr>");
        for (String cell : cells) {
            row.append("<td>").append(escape(cell)).append("</td>");
        }
        return row.append("</tr>\n").toString();
    }

    static String escape(String text)
    {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static void writePng(XYChart chart, Path file)
    {
        try {
            BitmapEncoder.saveBitmap(chart, file.toString().replaceFirst("\\.png$", ""), BitmapEncoder.BitmapFormat.PNG);
        }
        catch (IOException e) {
            throw new UncheckedIOException("Cannot write chart " + file, e);
        }
    }

    private static void createDirectory(Path directory)
    {
        try {
            Files.createDirectories(directory);
        }
        catch (IOException e) {
            throw new BadInputException("Cannot create --report directory '" + directory + "': " + e.getMessage());
        }
    }

    private static void createParent(Path file)
            throws IOException
    {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }
}
